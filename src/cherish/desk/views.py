"""The case page: the conversation, with every app's panel beside it, and its case actions.

The desk composes the page from each app's queries and panels (ARCHITECTURE.md: apps below
never load a higher app's tag library). Thin by design: parse the form, call an access,
query or action function, render. HTMX requests get the partial they asked for; the same
URLs work as plain pages and plain POSTs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from cherish.care import actions as care_actions
from cherish.care import queries as care_queries
from cherish.care.templatetags.care_panels import business_duration
from cherish.cases import actions as case_actions
from cherish.cases import queries as case_queries
from cherish.cases.access import access_case, access_case_to_work
from cherish.cases.models import Case, Kind, Message, Severity
from cherish.core.errors import CherishError, Forbidden
from cherish.customers.templatetags.customer_panels import key_facts
from cherish.desk import queries as desk_queries
from cherish.desk import queries_live as live_queries
from cherish.desk import views_live
from cherish.desk.addresses import case_urls
from cherish.desk.forms import (
    ChangeCaseForm,
    NoteForm,
    ReassignForm,
    ReplyForm,
    add_cherish_error,
)
from cherish.desk.guard import DeskRequest, desk_view
from cherish.desk.templatetags.desk_badges import badge_label
from cherish.outreach import queries as outreach_queries
from cherish.staff.models import Staff
from cherish.triage import queries as triage_queries

# The case page and its parts are Jinja2 templates (cherish.core.jinja): ~700 nodes a page.
JINJA = "jinja2"


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request


def _customer_url(case: Case) -> str | None:
    try:
        return reverse("customers:detail", args=[case.customer_id])
    except NoReverseMatch:
        return None


def _outreach_url(case: Case) -> str:
    try:
        return reverse("outreach:customer", args=[case.customer_id])
    except NoReverseMatch:
        return ""


def _case_context(
    case: Case,
    staff: Staff,
    *,
    page: bool = True,
    timeline_page: int = 1,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    change_form: ChangeCaseForm | None = None,
    reassign_form: ReassignForm | None = None,
    status_message: str = "",
    show_handover: bool = False,
    show_macros: bool = False,
) -> dict[str, Any]:
    """What the case page shows; ``page=False`` for an HTMX answer, which renders only the
    changed part and the timeline, so the side panels' reads are skipped.

    The hand-over form (everyone the case can go to) and the saved replies (each filled in
    for the writer) are read only when shown: after an error in them, or when asked for
    without JavaScript (``?handover=1``, ``?macros=1``); otherwise each loads over HTMX when
    its disclosure opens (``handover``, ``macros`` below).
    """
    conversation = case_queries.case_conversation(case)
    show_handover = show_handover or bool(reassign_form is not None and reassign_form.errors)
    context = {
        "case": case,
        "staff": staff,
        "urls": case_urls(case.reference),
        "badge_label": badge_label,
        "conversation": conversation,
        "timeline": case_queries.customer_timeline(case, page=timeline_page),
        "staff_list": case_queries.staff_choices() if show_handover else None,
        "show_macros": show_macros,
        "macros": desk_queries.macro_choices(case, staff) if show_macros else None,
        "customer_url": _customer_url(case),
        # Only a refused form is rendered from its form object (its errors and what was
        # typed); the blank boxes are plain HTML: four unbound forms cost ~0.7 ms a page.
        "reply_form": reply_form,
        "note_form": note_form,
        "change_form": change_form,
        "reassign_form": reassign_form or (ReassignForm() if show_handover else None),
        "kinds": Kind.choices,
        "severities": Severity.choices,
        "status_message": status_message,
        **views_live.case_live_context(case, staff, conversation=conversation),
    }
    if page:
        context["care"] = care_queries.case_summary(case, viewer=staff)
        context["business_duration"] = business_duration
        # Today's moment matters while they are in contact with us, not on a closed case.
        context["moments"] = outreach_queries.moments_today(case.customer) if case.is_open else []
        # The customers app's panel (a Jinja2 twin of its Django template) and the triage
        # panel are Jinja2 too.
        context["key_facts"] = {
            "case": case,
            "facts": key_facts(case),
            "customer_url": _outreach_url(case),
        }
        context["triage"] = triage_queries.triage_panel(case)
    return context


def _page_number(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1


@require_GET
@desk_view
def case_detail(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    # The care state comes with the case: one query fewer for the care panel.
    case = access_case(staff, reference, also=("care",))
    context = _case_context(
        case,
        staff,
        timeline_page=_page_number(request.GET.get("timeline")),
        show_handover=bool(request.GET.get("handover")),
        show_macros=bool(request.GET.get("macros")),
    )
    # The new owner reads the handoff note first; it counts as read once shown.
    context["show_handoff"] = case.handoff_unread and case.owner_id == staff.pk
    response = render(request, "desk/case_detail.html", context, using=JINJA)
    if context["show_handoff"]:
        case_actions.mark_handoff_read(case, by=staff)
    # Opening the case reads it and says "viewing" to others: written only when that changed.
    views_live.record_view(staff, case, context["view_state"])
    return response


@require_GET
@desk_view
def timeline(request: DeskRequest, reference: str) -> HttpResponse:
    """A further page of the customer timeline: its items for HTMX, else the case page."""
    case = access_case(request.staff, reference)
    page = _page_number(request.GET.get("page"))
    if not _is_partial(request):
        url = reverse("cases:detail", args=[case.reference])
        return redirect(f"{url}?timeline={page}#customer-timeline")
    context = {
        "case": case,
        "urls": case_urls(case.reference),
        "timeline": case_queries.customer_timeline(case, page=page),
    }
    response = render(request, "desk/partials/customer_timeline_items.html", context, using=JINJA)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@desk_view
def handover(request: DeskRequest, reference: str) -> HttpResponse:
    """The hand-over form with everyone the case can go to, for the "Hand over" disclosure
    (HTMX); without HTMX, the case page with the form in place."""
    case = access_case(request.staff, reference)
    if not _is_partial(request):
        url = reverse("cases:detail", args=[case.reference])
        return redirect(f"{url}?handover=1#handover")
    # The page's newest message, so a hand-over after news arrived is still stopped.
    seen = request.GET.get("seen", "")
    context = {
        "case": case,
        "urls": case_urls(case.reference),
        "staff_list": case_queries.staff_choices(),
        "reassign_form": ReassignForm(),
        "seen_message": int(seen) if seen.isdigit() else live_queries.last_message_id(case),
    }
    response = render(request, "desk/partials/handover_form.html", context, using=JINJA)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@desk_view
def macros(request: DeskRequest, reference: str) -> HttpResponse:
    """The saved replies, filled in for the writer, for the picker under the reply box
    (HTMX); without HTMX, the case page with them in place."""
    case = access_case(request.staff, reference)
    if not _is_partial(request):
        url = reverse("cases:detail", args=[case.reference])
        return redirect(f"{url}?macros=1#macro-picker")
    context = {
        "case": case,
        "urls": case_urls(case.reference),
        "macros": desk_queries.macro_choices(case, request.staff),
    }
    response = render(request, "desk/partials/macro_list.html", context, using=JINJA)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _apply(form: forms.Form, call: Callable[[dict[str, Any]], object]) -> bool:
    """Validate ``form`` and run the action; a refusal becomes a form error. True if done.

    A ``Forbidden`` (not this person's to do) goes up to the desk guard: 403, audited.
    """
    if not form.is_valid():
        return False
    try:
        call(form.cleaned_data)
    except Forbidden:
        raise
    except CherishError as error:
        add_cherish_error(form, error)
        return False
    return True


def _after_action(
    request: HttpRequest,
    case: Case,
    staff: Staff,
    *,
    partial: str,
    ok: bool,
    anchor: str,
    stale: list[Message] | None = None,
    **forms: Any,
) -> HttpResponse:
    """Answer a case POST: the changed partial (HTMX) or PRG / the page with errors.

    A change stopped because the view was stale (``stale``: what arrived since) answers 409
    with those messages and a "Send anyway" button in the stopped form.
    """
    if ok and not _is_partial(request):
        return redirect(reverse("cases:detail", args=[case.reference]) + anchor)
    case.refresh_from_db()
    partial_answer = _is_partial(request)
    context = _case_context(case, staff, page=not partial_answer, **forms)
    if stale:
        url_name = request.resolver_match.url_name if request.resolver_match else ""
        context.update(stale_messages=stale, stale_form=url_name, stale_action=request.path)
    if partial_answer:
        context["partial"] = partial
        return render(request, "desk/partials/htmx_case_update.html", context, using=JINJA)
    context["show_handoff"] = False
    return render(
        request, "desk/case_detail.html", context, status=409 if stale else 400, using=JINJA
    )


@require_POST
@desk_view
def reply(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = ReplyForm(request.POST)
    stale = views_live.stale_messages(request, case, form)
    ok = not stale and _apply(
        form, lambda data: case_actions.reply_to_customer(case, text=data["text"], by=staff)
    )
    return _after_action(
        request,
        case,
        staff,
        partial="work",
        ok=ok,
        anchor="#conversation",
        stale=stale,
        reply_form=None if ok else form,
        status_message=gettext("Reply added.") if ok else "",
    )


@require_POST
@desk_view
def note(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = NoteForm(request.POST)
    # Through the care workflow, so @mentions notify the staff named.
    stale = views_live.stale_messages(request, case, form)
    ok = not stale and _apply(
        form, lambda data: care_actions.add_note_with_mentions(case, text=data["text"], by=staff)
    )
    return _after_action(
        request,
        case,
        staff,
        partial="work",
        ok=ok,
        anchor="#conversation",
        stale=stale,
        note_form=None if ok else form,
        status_message=gettext("Note added.") if ok else "",
    )


@require_POST
@desk_view
def update(request: DeskRequest, reference: str) -> HttpResponse:
    """Kind and severity in one small form; only what changed is applied."""
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = ChangeCaseForm(request.POST)

    def change(data: dict[str, Any]) -> None:
        if data["kind"] != case.kind:
            case_actions.change_kind(case, kind=data["kind"], by=staff)
        if data["severity"] != case.severity:
            case_actions.change_severity(case, severity=data["severity"], by=staff)

    stale = views_live.stale_messages(request, case, form)
    ok = not stale and _apply(form, change)
    return _after_action(
        request,
        case,
        staff,
        partial="header",
        ok=ok,
        anchor="",
        stale=stale,
        change_form=None if ok else form,
        status_message=gettext("Case updated.") if ok else "",
    )


@require_POST
@desk_view
def reassign(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = ReassignForm(request.POST)
    stale = views_live.stale_messages(request, case, form)
    ok = not stale and _apply(
        form,
        lambda data: case_actions.reassign_case(case, to=data["to"], note=data["note"], by=staff),
    )
    return _after_action(
        request,
        case,
        staff,
        partial="header",
        ok=ok,
        anchor="",
        stale=stale,
        reassign_form=None if ok else form,
        status_message=gettext("Case handed over.") if ok else "",
    )
