"""The customer's own case page, reached from a link in our emails (no login).

How the link is kept secret without breaking the page's forms:
- the emailed link ``/c/<token>/`` is opaque (no case id) and expires (cases.outgoing);
- opening it adds the case to the visitor's session and redirects to
  ``/your-case/<reference>/``, so the token leaves the address bar, the history and every
  later request at once; the reference alone opens nothing;
- every page answers ``Referrer-Policy: same-origin``: links to other sites carry no Referer,
  while the page's own form posts keep their Origin and Referer, which Django's CSRF check
  needs (``no-referrer`` made browsers send ``Origin: null`` and every post failed with 403).

A link that expired, was revoked, or comes from the first release (signed, with the case id)
shows a page that offers to email a new link to the address we have; nothing about the case
is shown. A forged link is a plain 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cherish.cases.actions import NewAttachment
from cherish.cases.models import Attachment, Case, CustomerLink, Direction, Kind, Stage
from cherish.cases.outgoing import (
    CUSTOMER_STAGE_NAMES,
    LinkState,
    link_is_live,
    read_customer_link,
)
from cherish.core import ratelimit
from cherish.core.errors import CherishError
from cherish.core.i18n import chosen_language, use_language
from cherish.customers.actions import LanguageSource, remember_language
from cherish.intake.forms import (
    ALLOWED_TYPES_TEXT,
    bad_type_text,
    safe_display_name,
    sniff_content_type,
    too_big_text,
)
from cherish.intake.portal_intake import (
    SOLVED_EVENT,
    confirm_solved_by_customer,
    reply_from_portal,
    send_new_customer_link,
)

REPLIES_PER_HOUR = 20
NEW_LINKS_PER_CASE_PER_HOUR = 3
NEW_LINKS_PER_ADDRESS_PER_HOUR = 20
SESSION_KEY = "cherish.portal.links"  # {case reference: CustomerLink pk}

STAGE_WORDS = {
    Stage.RECEIVED: gettext_lazy("We have received your message."),
    Stage.ACKNOWLEDGED: gettext_lazy("We have your message and %(owner)s is looking after it."),
    Stage.LISTENING: gettext_lazy("%(owner)s is finding out exactly what happened."),
    Stage.RESPONDING: gettext_lazy("%(owner)s is preparing an answer for you."),
    Stage.RECOVERING: gettext_lazy("We are putting things right."),
    Stage.PLUS_ONE: gettext_lazy("We have put things right."),
    Stage.FOLLOWING_UP: gettext_lazy("%(owner)s will check with you that everything is now fine."),
    Stage.WAITING_ON_CUSTOMER: gettext_lazy("We are waiting for your answer."),
    Stage.CLOSED: gettext_lazy("This case is closed. Write below if anything is still not right."),
}


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


def _granted_case(request: HttpRequest, reference: str) -> Case | None:
    """The case this browser opened with a live link, or None.

    The page then speaks the customer's language; a language the visitor picks with the
    switcher is remembered for the customer (their emails follow it too).
    """
    link_pk = request.session.get(SESSION_KEY, {}).get(reference)
    if not isinstance(link_pk, int):
        return None
    link = (
        CustomerLink.objects.select_related("case__customer", "case__owner")
        .filter(pk=link_pk, case__reference=reference)
        .first()
    )
    if link is None or not link_is_live(link):
        return None
    customer = link.case.customer
    if (chosen := chosen_language(request)) and chosen != customer.language:
        remember_language(customer, chosen, source=LanguageSource.CHOSEN)
    use_language(request, customer.language)
    return link.case


def _needs_link(request: HttpRequest, reference: str) -> HttpResponseBase:
    """The same answer for a case that does not exist and one this browser may not see."""
    response = render(
        request, "intake/portal/needs_link.html", {"reference": reference}, status=403
    )
    return _private(response)


@require_http_methods(["GET", "HEAD", "POST"])
def open_link(request: HttpRequest, token: str) -> HttpResponseBase:
    """The link from an email: a live one opens the case page; an expired one offers a new
    link (POST sends it); anything else is not found."""
    check = read_customer_link(token)
    if check.state is LinkState.UNKNOWN or check.case is None:
        raise Http404
    case = check.case
    if check.state is LinkState.VALID and check.link is not None:
        if request.session.get(SESSION_KEY, {}).get(case.reference) != check.link.pk:
            # A new right for this browser: a new session key, so one planted before
            # cannot inherit it (session fixation).
            request.session.cycle_key()
            grants = dict(request.session.get(SESSION_KEY, {}))
            grants[case.reference] = check.link.pk
            request.session[SESSION_KEY] = grants
        return _private(redirect("portal:case", reference=case.reference))
    if request.method == "POST":
        return _send_new_link(request, case)
    return _private(
        render(request, "intake/portal/link_expired.html", {"token": token}, status=410)
    )


def _send_new_link(request: HttpRequest, case: Case | None) -> HttpResponseBase:
    """Email a fresh link when allowed; always the same answer, so nothing is revealed."""
    address = ratelimit.client_ip(request)
    per_address = ratelimit.hit("portal-new-link-ip", address, window_s=3600)
    if case is not None and per_address <= NEW_LINKS_PER_ADDRESS_PER_HOUR:
        per_case = ratelimit.hit("portal-new-link", case.reference, window_s=3600)
        if per_case <= NEW_LINKS_PER_CASE_PER_HOUR:
            send_new_customer_link(case)
    return _private(render(request, "intake/portal/link_sent.html"))


@require_POST
def new_link(request: HttpRequest, reference: str) -> HttpResponseBase:
    case = Case.objects.select_related("customer").filter(reference=reference).first()
    return _send_new_link(request, case)


@require_http_methods(["GET", "HEAD"])
def case_page(request: HttpRequest, reference: str) -> HttpResponseBase:
    case = _granted_case(request, reference)
    if case is None:
        return _needs_link(request, reference)
    owner_name = case.owner.first_name if case.owner else gettext("Our care team")
    conversation = (
        case.messages.exclude(direction=Direction.NOTE)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    solved = case.events.filter(type=SOLVED_EVENT).exists()
    context: dict[str, Any] = {
        "case": case,
        "owner_name": owner_name,
        "status_text": str(STAGE_WORDS.get(Stage(case.stage), "")) % {"owner": owner_name},
        "stage_name": CUSTOMER_STAGE_NAMES.get(case.stage, ""),
        "conversation": list(conversation),
        "said_solved": solved,
        "is_complaint": case.kind == Kind.COMPLAINT,
        "allowed_types": ALLOWED_TYPES_TEXT,
    }
    return _private(render(request, "intake/portal/case.html", context))


class UploadRefused(CherishError):
    code = "bad_upload"


def _files(request: HttpRequest) -> list[NewAttachment]:
    """The uploaded files, typed by their content as on the public form and the API.

    Refuses (UploadRefused) a file over the size limit or of a type we do not accept; the
    browser's declared type and the file name prove nothing.
    """
    uploaded: list[UploadedFile] = request.FILES.getlist("files")
    max_bytes = settings.CHERISH_MAX_ATTACHMENT_BYTES
    files = []
    for item in uploaded:
        name = safe_display_name(item.name or "")
        if (item.size or 0) > max_bytes:
            raise UploadRefused(too_big_text(name, item.size or 0, max_bytes), field="files")
        content = item.read()
        content_type = sniff_content_type(content[:16])
        if content_type is None:
            raise UploadRefused(bad_type_text(name), field="files")
        files.append(NewAttachment(name=name, content_type=content_type, content=content))
    return files


@require_POST
def reply(request: HttpRequest, reference: str) -> HttpResponseBase:
    case = _granted_case(request, reference)
    if case is None:
        return _needs_link(request, reference)
    back = redirect("portal:case", reference=reference)
    if ratelimit.hit("portal-reply", str(case.pk), window_s=3600) > REPLIES_PER_HOUR:
        messages.error(
            request, gettext("You have sent many messages in a short time. Please wait a while.")
        )
        return _private(back)
    try:
        reply_from_portal(case, text=request.POST.get("text", ""), attachments=_files(request))
    except CherishError as error:
        messages.error(request, error.message)
        return _private(back)
    messages.success(request, gettext("Thank you. Your message has been added to your case."))
    return _private(back)


@require_POST
def solved(request: HttpRequest, reference: str) -> HttpResponseBase:
    case = _granted_case(request, reference)
    if case is None:
        return _needs_link(request, reference)
    confirm_solved_by_customer(case)
    messages.success(request, gettext("Thank you for letting us know your problem is solved."))
    return _private(redirect("portal:case", reference=reference))


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, reference: str, public_id: str) -> HttpResponseBase:
    case = _granted_case(request, reference)
    if case is None:
        return _needs_link(request, reference)
    attachment = (
        Attachment.objects.filter(public_id=public_id, message__case=case)
        .exclude(message__direction=Direction.NOTE)
        .first()
    )
    if attachment is None:
        raise Http404
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _private(response)
