"""The public complaint page: no login, works without JavaScript, stores before it thanks."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.views.decorators.http import require_http_methods

from cherish.cases.models import Case, Channel, Kind
from cherish.core import ratelimit
from cherish.core.errors import RateLimited
from cherish.core.i18n import browser_language, chosen_language
from cherish.core.signing import make_token, read_token
from cherish.core.text import excerpt
from cherish.customers.actions import LanguageSource
from cherish.intake import journal
from cherish.intake.actions import (
    Contact,
    IntakePending,
    RateLimit,
    RawMaterial,
    Resent,
    accept_contact,
    count_in_window,
    raw_from_entry,
    resend_claim,
)
from cherish.intake.forms import ComplaintForm, prepare_for_display
from cherish.intake.models import RawContact, RawStatus

RATE_BUCKET = "public-complaint"
RATE_WINDOW_S = 60 * 60
THANKS_PURPOSE = "complaint-thanks"
# Long enough to reload the page or come back after a coffee; the email carries the rest.
THANKS_MAX_AGE_S = 24 * 60 * 60


def _rate_limited(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "intake/rate_limited.html",
        {"limit": settings.CHERISH_PUBLIC_RATE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(RATE_WINDOW_S)
    return response


@require_http_methods(["GET", "POST"])
def complain(request: HttpRequest) -> HttpResponse:
    """Show the form; on a valid POST store the raw contact, open the case, then redirect."""
    ip = ratelimit.client_ip(request)
    if request.method == "GET":
        form = ComplaintForm()
        return render(request, "intake/complain.html", {"form": prepare_for_display(form)})

    limit = RateLimit(RATE_BUCKET, ip, settings.CHERISH_PUBLIC_RATE_LIMIT, RATE_WINDOW_S)
    form = ComplaintForm(request.POST, request.FILES, display=False)
    if not form.is_valid():
        form = ComplaintForm(request.POST, request.FILES)  # to show, with its errors
        if "website" in form.errors:
            # Robots fill the hidden field: count them against the address as well.
            robot_hits = count_in_window(RATE_BUCKET, ip, window_s=RATE_WINDOW_S)
            if robot_hits > limit.limit:
                return _rate_limited(request)
        return render(
            request, "intake/complain.html", {"form": prepare_for_display(form)}, status=400
        )

    data = form.cleaned_data
    language, source = _page_language(request)
    contact = Contact(
        language=language,
        language_source=source,
        channel=Channel.WEB,
        text=data["text"],
        name=data["name"],
        email=data["email"],
        phone=data["phone"],
        order_reference=data["order_reference"],
        kind=data["kind"],
        subject=excerpt(data["text"], 120),
        attachments=form.new_attachments(),
    )
    # The sender is counted in the transaction that stores the complaint. Should adding it to
    # a case fail, the raw record is already committed and marked failed: nothing is lost,
    # and staff see it under "could not read".
    try:
        result = accept_contact(
            contact,
            raw=RawMaterial(payload=form.raw_payload(), sender=data["email"] or data["phone"]),
            rate_limit=limit,
            claim=resend_claim(
                Channel.WEB, sender=data["email"] or data["phone"], text=data["text"]
            ),
            # With an applier process, thank as soon as the complaint is durable: the
            # thank-you page waits for its case and owner (``thanks``).
            answer_when_stored=True,
        )
    except RateLimited:
        return _rate_limited(request)
    except Resent as resent:
        # Sent again (its first answer was lost): the thank-you page of the first.
        return _to_thanks(resent.reference, resent.earlier.pk)
    except IntakePending as pending:
        # Stored, not yet on a case (an applier process adds it in a moment, or a stuck
        # applier): it is durable, so it is received.
        # (Stored in the intake journal it has no raw record yet: found by its reference.)
        return _to_thanks(pending.reference, pending.raw_id or None)
    assert result.raw is not None
    return _to_thanks(result.case.reference, result.raw.pk)


# Stands for the token in the thank-you page's address, reversed once per script prefix.
_TOKEN_SLOT = "token-slot"


def _to_thanks(reference: str, raw_id: int | None) -> HttpResponseRedirect:
    """To the thank-you page of a complaint stored with ``reference``. Its address is the
    one ``reverse`` made once with a stand-in token (a signed token needs no quoting in a
    path): reversing it for every complaint was a tenth of the form's view (issue #14)."""
    token = make_token(THANKS_PURPOSE, {"ref": reference, "raw": raw_id})
    return HttpResponseRedirect(_thanks_address(get_script_prefix()).replace(_TOKEN_SLOT, token))


@functools.lru_cache(maxsize=8)
def _thanks_address(prefix: str) -> str:
    address = reverse("intake:thanks", kwargs={"token": _TOKEN_SLOT})
    assert address.count(_TOKEN_SLOT) == 1, address
    return address


def _page_language(request: HttpRequest) -> tuple[str, str]:
    """The language the visitor chose with the switcher, else the one their browser asked
    for, with where it came from; ("", "") when neither names a language we speak."""
    if chosen := chosen_language(request):
        return chosen, LanguageSource.CHOSEN
    if browser := browser_language(request):
        return browser, LanguageSource.BROWSER
    return "", ""


# The thank-you page waits this long for an applier process to put the complaint on its case
# (tens of milliseconds normally), then says "received" with the reference instead.
THANKS_WAIT_S = 3.0
THANKS_POLL_S = 0.02


def _raw_on_its_case(raw_id: Any, reference: str) -> RawContact | None:
    """The complaint's raw record, once it is on its case or no longer waits for one.

    Without ``raw_id`` (stored in the intake journal) it is found by its reference, in the
    database once the applier process moved it, else in the journal: then, still waiting
    after THANKS_WAIT_S, an unsaved record made from the journal's entry."""
    deadline = time.monotonic() + THANKS_WAIT_S
    wanted = {"pk": raw_id} if raw_id else {"reference": reference}
    while True:
        raw = (
            RawContact.objects.filter(**wanted)
            .only("payload", "case_id", "reference", "contact", "status")
            .first()
        )
        if raw is None and not raw_id:
            entry = journal.find(reference) if journal.in_use() else None
            if entry is not None:
                raw = raw_from_entry(entry)
            elif time.monotonic() < deadline:
                # Moved between the two reads: the next read finds it in the database.
                time.sleep(THANKS_POLL_S)
                continue
        if raw is None or raw.status != RawStatus.QUEUED or time.monotonic() >= deadline:
            return raw
        time.sleep(THANKS_POLL_S)


@dataclass(frozen=True)
class Received:
    """What the thank-you page shows of a complaint stored but not yet on its case."""

    reference: str
    kind: str
    owner: None = None


def thanks(request: HttpRequest, token: str) -> HttpResponse:
    """The case reference and its owner, for the person who just sent the form.

    The link is signed and expires, so references cannot be walked by guessing URLs. It
    greets the visitor with the name they typed, never the name on the customer record: the
    record may be someone else's, and nothing about one customer is shown to a visitor.
    """
    payload = read_token(THANKS_PURPOSE, token, max_age=THANKS_MAX_AGE_S)
    if payload is None:
        raise Http404("This page has expired.")
    raw = _raw_on_its_case(payload.get("raw"), str(payload.get("ref") or ""))
    case: Any = None
    if raw is not None and raw.case_id is not None:
        # The case this very post opened (its reference may be a fresh draw, should the one
        # reserved have been taken meanwhile).
        case = Case.objects.select_related("owner", "customer").filter(pk=raw.case_id).first()
    elif raw is not None and raw.reference == payload["ref"]:
        # Received, not yet on a case (the applier was stuck when the form was answered):
        # the reference reserved for it, and no owner yet.
        case = Received(raw.reference, str((raw.contact or {}).get("kind") or Kind.COMPLAINT))
    if case is None or raw is None:
        raise Http404("No such case.")
    typed = raw.payload if isinstance(raw.payload, dict) else {}
    name = str(typed.get("name") or "")
    response = render(request, "intake/thanks.html", {"case": case, "visitor_name": name})
    # A shared computer's back button should not bring the page back from a cache.
    response["Cache-Control"] = "no-store"
    return response
