"""Desk views of the care workflow: the due page, the case panel's actions, the tone check.

Each panel action parses its form, calls one action and answers with the refreshed panel
(HTMX) or a redirect to the case page (no JavaScript). A refusal becomes a message on the
panel; without JavaScript the care page is shown again with the message and the input kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from cherish.care import actions, forms, queries
from cherish.care.access import (
    access_case,
    access_case_to_work,
    access_commitment,
    access_gesture,
)
from cherish.care.audit import audit_decision
from cherish.cases.models import Case
from cherish.core.errors import CherishError, Forbidden, NotFound
from cherish.desk.guard import DeskRequest, desk_view, record_refusal

View = Callable[..., HttpResponseBase]


def case_url(case: Case) -> str:
    """The desk's case page when the desk provides one, else the care page of the case."""
    try:
        return reverse("cases:detail", args=[case.reference])
    except NoReverseMatch:
        return reverse("care:case", args=[case.reference])


def panel_context(request: DeskRequest, case: Case, **extra: Any) -> dict[str, Any]:
    context = queries.care_panel(case, viewer=request.staff)
    context["case_url"] = case_url(case)
    context.update(extra)
    return context


def _respond(
    request: DeskRequest,
    case: Case,
    *,
    form_name: str,
    error: str | None,
    success: str,
    status: int = 400,
) -> HttpResponse:
    if request.htmx:
        context = panel_context(
            request,
            case,
            error={form_name: error} if error else {},
            notice="" if error else success,
            posted=request.POST if error else {},
            open_form=form_name if error else "",
        )
        return render(request, "care/partials/care_panel.html", context)
    if error:
        context = panel_context(
            request,
            case,
            error={form_name: error},
            posted=request.POST,
            open_form=form_name,
        )
        return render(request, "care/case_care.html", context, status=status)
    messages.success(request, success)
    return redirect(case_url(case))


def panel_action(
    form_class: type[django_forms.Form], form_name: str
) -> Callable[[Callable[..., str]], View]:
    """Wrap ``run(request, case, data) -> success message`` as a POST view for the panel."""

    def decorate(run: Callable[..., str]) -> View:
        @require_POST
        @desk_view
        @wraps(run)
        def view(request: DeskRequest, reference: str, **kwargs: Any) -> HttpResponse:
            case = access_case_to_work(request.staff, reference)
            form = form_class(request.POST)
            error: str | None = None
            success = ""
            status = 400
            if form.is_valid():
                try:
                    success = run(request, case, form.cleaned_data, **kwargs)
                except CherishError as exc:
                    if isinstance(exc, NotFound):
                        raise
                    if isinstance(exc, Forbidden):
                        record_refusal(request, exc, target=case.reference)
                        status = 403
                    error = exc.message
                case.refresh_from_db()
            else:
                error = forms.first_error(form)
            return _respond(
                request, case, form_name=form_name, error=error, success=success, status=status
            )

        return view

    return decorate


@require_GET
@desk_view
def case_care(request: DeskRequest, reference: str) -> HttpResponse:
    case = access_case(request.staff, reference)
    if request.htmx:
        return render(request, "care/partials/care_panel.html", panel_context(request, case))
    return render(request, "care/case_care.html", panel_context(request, case))


@panel_action(forms.StageForm, "stage")
def advance_stage(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.advance_stage(case, data["stage"], by=request.staff, reason=data["reason"])
    return gettext("Moved to “%(stage)s”.") % {"stage": case.get_stage_display()}


@panel_action(forms.WaitForm, "wait")
def wait(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.wait_on_customer(case, by=request.staff, reason=data["reason"])
    return gettext("Waiting on the customer: the clock is paused.")


@panel_action(forms.WaitForm, "wait")
def resume(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.resume_case(case, by=request.staff, reason=data["reason"])
    return gettext("The clock runs again.")


@panel_action(forms.FairOutcomeForm, "fair_outcome")
def fair_outcome(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.record_fair_outcome(case, text=data["fair_outcome"], by=request.staff)
    return gettext("Recorded what the customer would consider fair.")


@panel_action(forms.ResolutionForm, "resolution")
def resolution(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.record_resolution(case, text=data["resolution"], by=request.staff)
    return gettext("Resolution recorded.")


@panel_action(forms.PlusOneForm, "plus_one")
def plus_one(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.record_plus_one(case, text=data["plus_one"], by=request.staff)
    return gettext("+1 recorded.")


@panel_action(forms.FollowUpForm, "follow_up")
def follow_up(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.record_follow_up(case, outcome=data["outcome"], note=data["note"], by=request.staff)
    return gettext("Follow-up recorded.")


@panel_action(forms.AssessmentForm, "assessment")
def assessment(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.assess_case(
        case,
        severity=data["severity"],
        complexity=data["complexity"],
        impact=data["impact"],
        needs_immediate_action=data["needs_immediate_action"],
        note=data["note"],
        by=request.staff,
    )
    return gettext("Assessment recorded.")


def _aware_in_team_zone(case: Case, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        return value
    schedule = queries.schedule_for_team(case.team_id)
    return value.replace(tzinfo=schedule.tz)


@panel_action(forms.CommitmentForm, "commitment")
def commitment(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    made = actions.record_commitment(
        case,
        what=data["what"],
        due_at=_aware_in_team_zone(case, data["due_at"]),
        how=data["how"],
        by=request.staff,
    )
    return gettext("Commitment recorded: %(what)s.") % {"what": made.what}


@panel_action(forms.KeepCommitmentForm, "commitments")
def keep_commitment(
    request: DeskRequest, case: Case, data: dict[str, Any], commitment_id: int
) -> str:
    row = access_commitment(request.staff, case, commitment_id)
    kept = actions.keep_commitment(row, by=request.staff, note=data["note"])
    return (
        gettext("Commitment kept.")
        if kept.kept_on_time
        else gettext("Commitment kept (late — say sorry).")
    )


@panel_action(forms.BreakCommitmentForm, "commitments")
def break_commitment(
    request: DeskRequest, case: Case, data: dict[str, Any], commitment_id: int
) -> str:
    row = access_commitment(request.staff, case, commitment_id)
    actions.break_commitment(row, by=request.staff, reason=data["reason"])
    return gettext("Commitment marked as broken. Tell the customer what happens instead.")


@panel_action(forms.GestureForm, "gesture")
def gesture(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    made = actions.grant_gesture(
        case,
        gesture_type=data["gesture_type"],
        value=data["value"] or Decimal("0"),
        currency=data["currency"] or queries.default_currency(),
        description=data["description"],
        plus_one=data["plus_one"],
        reason=data["reason"],
        ask_approval=data["ask_approval"],
        by=request.staff,
    )
    if made.status == "pending_approval":
        if made.approver is None:
            return gettext("Sent to your team lead for approval.")
        return gettext("Sent to %(name)s for approval.") % {"name": made.approver.display_name}
    return gettext("%(gesture)s granted.") % {"gesture": made.gesture_type.name}


def _decide(request: DeskRequest, gesture_id: int, *, approve: bool) -> HttpResponse:
    staff = request.staff
    row = access_gesture(staff, gesture_id)
    form = forms.DecideGestureForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    next_url = data.get("next") or ""
    error = None
    status = 400
    try:
        actions.decide_gesture(row, approve=approve, by=staff, reason=data.get("reason", ""))
        audit_decision(request, row, approve=approve, by=staff)
    except CherishError as exc:
        if isinstance(exc, Forbidden):
            record_refusal(request, exc, target=f"gesture:{row.pk}")
            status = 403
        error = exc.message
    success = "Gesture approved." if approve else "Gesture declined."
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        if request.htmx:
            context = queries.due_page(staff)
            context.update({"error": error, "notice": "" if error else success})
            return render(request, "care/partials/due_sections.html", context)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, success)
        return redirect(next_url)
    row.case.refresh_from_db()
    return _respond(
        request, row.case, form_name="gestures", error=error, success=success, status=status
    )


@require_POST
@desk_view
def approve_gesture(request: DeskRequest, gesture_id: int) -> HttpResponse:
    return _decide(request, gesture_id, approve=True)


@require_POST
@desk_view
def decline_gesture(request: DeskRequest, gesture_id: int) -> HttpResponse:
    return _decide(request, gesture_id, approve=False)


@panel_action(forms.HandoffForm, "handoff")
def handoff(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.warm_handoff(
        case,
        to=data["to"],
        summary=data["summary"],
        tell_customer=data["tell_customer"],
        why=data["why"],
        customer_message=data["customer_message"],
        by=request.staff,
    )
    return gettext("Handed over to %(name)s.") % {"name": data["to"].display_name}


@panel_action(forms.CollaboratorForm, "collaborator")
def collaborator(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.add_collaborator(case, staff=data["staff"], by=request.staff)
    return gettext("%(name)s is now helping on this case.") % {"name": data["staff"].display_name}


@panel_action(forms.LinkForm, "link")
def link(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    other = access_case(request.staff, data["other"])
    actions.link_cases(case, other=other, type_=data["type"] or "related", by=request.staff)
    return gettext("Linked to %(reference)s.") % {"reference": other.reference}


@panel_action(forms.MergeForm, "merge")
def merge(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    into = access_case_to_work(request.staff, data["into"])
    actions.merge_cases(case, into=into, by=request.staff)
    return gettext(
        "Merged into %(reference)s; this case is closed and both timelines are kept."
    ) % {"reference": into.reference}


@panel_action(forms.EscalationForm, "escalation")
def escalation(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.record_escalation(
        case,
        body=data["body"],
        body_name=data["body_name"],
        escalated_on=data["escalated_on"],
        reference=data["reference"],
        outcome=data["outcome"],
        by=request.staff,
    )
    return gettext("External escalation recorded.")


@panel_action(forms.NoteForm, "note")
def note(request: DeskRequest, case: Case, data: dict[str, Any]) -> str:
    actions.add_note_with_mentions(case, text=data["text"], by=request.staff)
    return gettext("Note added.")


@require_POST
@desk_view
def tone_check(request: DeskRequest) -> HttpResponse:
    """HTMX: hints for the reply being written (never blocks sending)."""
    text = request.POST.get("text") or request.POST.get("body") or ""
    reference = request.POST.get("case", "")
    hints: dict[str, Any] = {"tone": [], "unedited_snippet": None}
    if text.strip():
        try:
            case = access_case(request.staff, reference)
        except NotFound:
            case = None
        if case is not None:
            hints = queries.reply_hints(case, text, by=request.staff)
        else:
            hints["tone"] = queries.tone_hits(text)
    return render(request, "care/partials/tone_hints.html", hints)


@require_GET
@desk_view
def due(request: DeskRequest) -> HttpResponse:
    context = queries.due_page(request.staff)
    template = "care/partials/due_sections.html" if request.htmx else "care/due.html"
    return render(request, template, context)
