"""The agent desk: inbox, case page, case actions and attachment downloads.

Thin by design: parse the form, call an access/query/action function, render. HTMX requests
get the partial they asked for; the same URLs work as plain pages and plain POSTs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import slugify, timesince_filter
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.views.decorators.http import require_GET, require_POST

from cherish.cases import actions, queries
from cherish.cases.access import access_attachment, access_case, access_case_to_work
from cherish.cases.forms import (
    ChangeCaseForm,
    NoteForm,
    ReassignForm,
    ReplyForm,
    add_cherish_error,
)
from cherish.cases.models import Case, Channel, Kind, Severity, Stage
from cherish.core.errors import CherishError, Forbidden
from cherish.desk.guard import DeskRequest, desk_view
from cherish.staff.models import Staff

# Types a browser may be told about; anything else downloads as opaque bytes.
DOWNLOADABLE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
}
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request


# -- inbox ----------------------------------------------------------------------------------


def _tabs(filters: queries.InboxFilters) -> list[dict[str, Any]]:
    return [
        {
            "label": label,
            "query": urlencode(filters.as_params(view=key, page=1, q="")),
            "current": not filters.q and filters.view == key,
        }
        for key, label in queries.INBOX_VIEWS.items()
    ]


_KIND_LABELS = dict(Kind.choices)
_SEVERITY_LABELS = dict(Severity.choices)
_STAGE_LABELS = dict(Stage.choices)
_LOUD_SEVERITIES = {Severity.HIGH.value, Severity.CRITICAL.value}
_REFERENCE_SLOT = "CH-000000"


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One inbox line, worked out once in Python: the template only prints it (50 rows of
    template lookups, display lookups and URL reversing were most of the inbox's time)."""

    url: str
    reference: str
    kind: str
    kind_label: str
    severity: str
    severity_label: str  # empty unless the severity deserves a badge
    badges: list[tuple[str, str]]
    customer_name: str
    subject: str
    has_owner: bool
    owner_name: str
    stage_label: str
    is_open: bool
    updated_iso: str
    updated_ago: str


def inbox_rows(cases: list[Case]) -> list[InboxRow]:
    """The same text the per-row template tags and filters produced, computed directly."""
    url_pattern = reverse("cases:detail", args=[_REFERENCE_SLOT])
    rows = []
    for case in cases:
        updated = template_localtime(case.updated_at)
        rows.append(
            InboxRow(
                url=url_pattern.replace(_REFERENCE_SLOT, case.reference),
                reference=case.reference,
                kind=case.kind,
                kind_label=str(_KIND_LABELS.get(case.kind, case.kind)),
                severity=case.severity,
                severity_label=(
                    str(_SEVERITY_LABELS.get(case.severity, case.severity))
                    if case.severity in _LOUD_SEVERITIES
                    else ""
                ),
                badges=[(slugify(badge), badge) for badge in case.badges],
                customer_name=case.customer.name or "(no name given)",
                subject=case.subject or "—",
                has_owner=case.owner is not None,
                owner_name=case.owner.display_name if case.owner else "",
                stage_label=str(_STAGE_LABELS.get(case.stage, case.stage)),
                is_open=case.is_open,
                updated_iso=date_filter(updated, "c"),
                updated_ago=timesince_filter(case.updated_at),
            )
        )
    return rows


@require_GET
@desk_view
def inbox(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    filters = queries.InboxFilters.from_params(request.GET)
    page = queries.inbox_for(staff, filters)
    context = {
        "page": page,
        "rows": inbox_rows(page.cases),
        "filters": filters,
        "tabs": _tabs(filters),
        "kinds": Kind.choices,
        "stages": Stage.choices,
        "channels": Channel.choices,
        "previous_query": urlencode(filters.as_params(page=page.page - 1)),
        "next_query": urlencode(filters.as_params(page=page.page + 1)),
        "view_label": queries.INBOX_VIEWS[filters.view],
    }
    template = "cases/partials/inbox_results.html" if _is_partial(request) else "cases/inbox.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# -- case page ------------------------------------------------------------------------------


def _customer_url(case: Case) -> str | None:
    try:
        return reverse("customers:detail", args=[case.customer_id])
    except NoReverseMatch:
        return None


def _case_context(
    case: Case,
    staff: Staff,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    change_form: ChangeCaseForm | None = None,
    reassign_form: ReassignForm | None = None,
    status_message: str = "",
) -> dict[str, Any]:
    return {
        "case": case,
        "staff": staff,
        "conversation": queries.case_conversation(case),
        "timeline": queries.customer_timeline(case),
        "staff_list": queries.staff_choices(),
        "customer_url": _customer_url(case),
        "reply_form": reply_form or ReplyForm(),
        "note_form": note_form or NoteForm(),
        "change_form": change_form or ChangeCaseForm(),
        "reassign_form": reassign_form or ReassignForm(),
        "stages": Stage.choices,
        "kinds": Kind.choices,
        "severities": Severity.choices,
        "status_message": status_message,
    }


@require_GET
@desk_view
def case_detail(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case(staff, reference)
    context = _case_context(case, staff)
    # The new owner reads the handoff note first; it counts as read once shown.
    context["show_handoff"] = case.handoff_unread and case.owner_id == staff.pk
    response = render(request, "cases/case_detail.html", context)
    if context["show_handoff"]:
        actions.mark_handoff_read(case, by=staff)
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
    **forms: Any,
) -> HttpResponse:
    """Answer a case POST: the changed partial (HTMX) or PRG / the page with errors."""
    if ok and not _is_partial(request):
        return redirect(reverse("cases:detail", args=[case.reference]) + anchor)
    case.refresh_from_db()
    context = _case_context(case, staff, **forms)
    if _is_partial(request):
        context["partial"] = partial
        return render(request, "cases/partials/htmx_case_update.html", context)
    context["show_handoff"] = False
    return render(request, "cases/case_detail.html", context, status=400)


@require_POST
@desk_view
def reply(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = ReplyForm(request.POST)
    ok = _apply(form, lambda data: actions.reply_to_customer(case, text=data["text"], by=staff))
    return _after_action(
        request,
        case,
        staff,
        partial="work",
        ok=ok,
        anchor="#conversation",
        reply_form=None if ok else form,
        status_message="Reply added." if ok else "",
    )


@require_POST
@desk_view
def note(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = NoteForm(request.POST)
    ok = _apply(form, lambda data: actions.add_internal_note(case, text=data["text"], by=staff))
    return _after_action(
        request,
        case,
        staff,
        partial="work",
        ok=ok,
        anchor="#conversation",
        note_form=None if ok else form,
        status_message="Note added." if ok else "",
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
            actions.change_kind(case, kind=data["kind"], by=staff)
        if data["severity"] != case.severity:
            actions.change_severity(case, severity=data["severity"], by=staff)

    ok = _apply(form, change)
    return _after_action(
        request,
        case,
        staff,
        partial="header",
        ok=ok,
        anchor="",
        change_form=None if ok else form,
        status_message="Case updated." if ok else "",
    )


@require_POST
@desk_view
def reassign(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = ReassignForm(request.POST)
    ok = _apply(
        form, lambda data: actions.reassign_case(case, to=data["to"], note=data["note"], by=staff)
    )
    return _after_action(
        request,
        case,
        staff,
        partial="header",
        ok=ok,
        anchor="",
        reassign_form=None if ok else form,
        status_message="Case handed over." if ok else "",
    )


# -- attachments ----------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    cleaned = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    return cleaned[:150] or "attachment"


@require_GET
@desk_view
def attachment(request: DeskRequest, public_id: str) -> HttpResponseBase:
    """Download through an access check; never inline, never sniffed, never cached."""
    staff = request.staff
    item = access_attachment(staff, public_id)
    try:
        handle = item.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("The file is missing.") from error
    content_type = (
        item.content_type if item.content_type in DOWNLOADABLE_TYPES else "application/octet-stream"
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=safe_filename(item.original_name),
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
