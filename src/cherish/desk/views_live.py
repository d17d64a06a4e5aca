"""What changes while an agent watches: notifications, the navigation badge, presence.

Live parts are refreshed by HTMX polling (``hx-trigger="every Ns"``), not server-sent
events: ``cherish serve`` runs gunicorn with sync worker threads, where every open event
stream would hold a thread for as long as the page is open (a desk of 30 agents with three
tabs each would need 90 threads doing nothing). A poll is an ordinary short request that any
web process can answer, goes through the same guard and CSRF rules as every page, and
degrades to a plain link and a reload without JavaScript. The cost is a few seconds of
delay, which a care desk can live with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from cherish.cases.access import access_case, visible_cases
from cherish.cases.models import Case, Message
from cherish.desk import actions
from cherish.desk import queries_live as queries
from cherish.desk.addresses import case_urls
from cherish.desk.guard import DeskRequest, desk_view
from cherish.desk.models import DeskState
from cherish.staff.models import Staff


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def poll_seconds() -> int:
    return int(settings.CHERISH_DESK_POLL_SECONDS)


class EmailForm(forms.Form):
    email = forms.BooleanField(required=False)


def _page_context(request: DeskRequest, **extra: Any) -> dict[str, Any]:
    unread_only = request.GET.get("show") == "unread"
    try:
        page_number = int(request.GET.get("page", "1"))
    except ValueError:
        page_number = 1
    state = DeskState.objects.filter(staff=request.staff).first()
    return {
        "page": queries.notification_page(request.staff, page=page_number, unread_only=unread_only),
        "unread_only": unread_only,
        "email_on": bool(state and state.email_notifications),
        "poll_seconds": poll_seconds(),
        **extra,
    }


@require_GET
@desk_view
def notifications(request: DeskRequest) -> HttpResponse:
    """The notifications page: newest first, each linking to its case; mark read or all."""
    actions.sync_notifications(request.staff)
    context = _page_context(request)
    template = (
        "desk/partials/notification_list.html"
        if _is_partial(request)
        else "desk/notifications.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@desk_view
def read_notifications(request: DeskRequest) -> HttpResponse:
    """Mark the ticked notifications read, or all of them (``all``)."""
    if request.POST.get("all"):
        actions.mark_notifications_read(request.staff)
    else:
        # Ids are matched against the person's own rows by the action; junk is dropped.
        ids = [int(v) for v in request.POST.getlist("notification") if v.isdigit()]
        actions.mark_notifications_read(request.staff, ids=ids)
    if _is_partial(request):
        return render(request, "desk/partials/notification_list.html", _page_context(request))
    return redirect("desk:notifications")


@require_POST
@desk_view
def notification_email(request: DeskRequest) -> HttpResponse:
    form = EmailForm(request.POST)
    form.is_valid()
    actions.set_notification_email(request.staff, enabled=bool(form.cleaned_data.get("email")))
    return redirect("desk:notifications")


@require_GET
@desk_view
def badge(request: DeskRequest) -> HttpResponse:
    """The navigation's notifications link with its unread count; the page polls it."""
    actions.sync_notifications(request.staff)
    return render(
        request,
        "desk/partials/nav_badge.html",
        {"unread": queries.count_unread(request.staff)},
    )


@require_POST
@desk_view
def presence(request: DeskRequest, reference: str) -> HttpResponse:
    """The case page's heartbeat: who else is here, and what arrived since it was opened.

    The page sends the newest message id it shows (``seen_message``) and the reply box's
    text; someone with words in the reply box counts as replying.
    """
    staff = request.staff
    case = access_case(staff, reference)
    actions.beat_presence(staff, case, replying=bool(request.POST.get("text", "").strip()))
    seen = _seen(request)
    new_messages = queries.messages_since(case, seen, besides=staff) if seen is not None else []
    if new_messages:
        # Shown on the page now: the case has no news for them any more.
        actions.mark_case_read(staff, case)
    context = {
        "case": case,
        "present": queries.present_on_case(case, besides=staff),
        "new_messages": new_messages,
        "poll_seconds": poll_seconds(),
        "seen_message": seen,
        "urls": case_urls(case.reference),
    }
    return render(request, "desk/partials/presence.html", context, using="jinja2")


def _seen(request: HttpRequest) -> int | None:
    """The newest message the page showed: the largest ``seen_message`` it sent (a part of
    the page refreshed after a reply carries a newer one than the rest)."""
    values = [queries.parse_seen(value) for value in request.POST.getlist("seen_message")]
    known = [value for value in values if value is not None]
    return max(known) if known else None


def stale_messages(request: DeskRequest, case: Case, form: forms.Form) -> list[Message]:
    """Stop a change made on a stale view: the messages others added to ``case`` since the
    posting page was opened (its ``seen_message``), with a form error saying so.

    Nothing is stopped when the person chose "Send anyway" (``send_anyway``), or when the
    form carried no ``seen_message`` (a client that never saw the page).
    """
    if request.POST.get("send_anyway"):
        return []
    seen = _seen(request)
    if seen is None:
        return []
    stale = queries.messages_since(case, seen, besides=request.staff)
    if stale and form.is_valid():
        form.add_error(
            None,
            gettext(
                "Not sent yet: something new arrived on this case while you were writing. "
                "Read it, then change your text or send it as it is."
            ),
        )
    return stale


def case_live_context(
    case: Case, staff: Staff, *, conversation: Sequence[Message] | None = None
) -> dict[str, Any]:
    """What the case page's includes need: the presence poller and the seen-message field.

    Reads the viewer's own read and presence marks with the others' presence (1 query;
    ``view_state`` says what opening the page still has to write), and takes the newest
    message from ``conversation`` when the page read it anyway.
    """
    seconds = poll_seconds()
    state = queries.case_view_state(staff, case, fresh_seconds=seconds)
    seen = (
        max((message.pk for message in conversation), default=0)
        if conversation is not None
        else queries.last_message_id(case)
    )
    return {
        "present": state.present,
        "view_state": state,
        "seen_message": seen,
        "poll_seconds": seconds,
    }


def record_view(staff: Staff, case: Case, state: queries.CaseViewState) -> None:
    """Write what opening the case changed: the read mark, notifications, the presence beat
    (nothing at all when a fresh beat and a current read mark are already there)."""
    actions.record_case_view(
        staff,
        case,
        read=not state.read_is_current,
        notifications=state.has_unread_notifications,
        presence=not state.presence_is_fresh,
    )


def inbox_live_context(staff: Staff, cases: Sequence[Case]) -> dict[str, Any]:
    """What the inbox's includes need: which rows have news, and the poll that refreshes
    those marks (2 queries, whatever the number of rows)."""
    with_news = queries.cases_with_news(staff, cases)
    return {
        "news": {case.reference for case in cases if case.pk in with_news},
        "news_url": reverse("desk:inbox-news")
        + "?"
        + urlencode([("case", case.reference) for case in cases]),
        "poll_seconds": poll_seconds(),
    }


@require_GET
@desk_view
def inbox_news(request: DeskRequest) -> HttpResponse:
    """The inbox's poll: the news mark of every row it shows, swapped out of band (3
    queries). Rows are named by reference; ones this person may not see are left out."""
    staff = request.staff
    asked = request.GET.getlist("case")[: queries.PAGE_SIZE * 2]
    cases = list(
        visible_cases(staff)
        .filter(reference__in=asked)
        .only("id", "reference", "last_inbound_at")
        .order_by("id")
    )
    with_news = queries.cases_with_news(staff, cases)
    context = {
        "references": [case.reference for case in cases],
        "news": {case.reference for case in cases if case.pk in with_news},
    }
    return render(request, "desk/partials/inbox_news_marks.html", context)
