"""Desk pages for people: the recognition wall, peer thanks, nominations, the anonymous
pulse and the creed; the audit log. Parse, call, render."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cherish.core.clock import now
from cherish.core.errors import CherishError, Forbidden
from cherish.desk.guard import DeskRequest, desk_view
from cherish.staff import actions, queries
from cherish.staff.access import has_permission, is_manager
from cherish.staff.audit import audit
from cherish.staff.forms import (
    AnswerForm,
    AuditFilterForm,
    CreedForm,
    NominationForm,
    PlanForm,
    PulseForm,
    TeamFilterForm,
    ThanksForm,
)
from cherish.staff.models import AuditEntry, PulseSurvey, Role, Staff


def _may_lead(staff: Staff) -> bool:
    return staff.role in (Role.LEAD, Role.MANAGER) or bool(staff.user.is_superuser)


def _survey(survey_id: int) -> PulseSurvey:
    survey = PulseSurvey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise Http404(_("No such pulse."))
    return survey


@require_GET
@desk_view
def wall(request: DeskRequest) -> HttpResponse:
    return render(
        request,
        "staff/wall.html",
        {"people": queries.recognition_wall(), "thanks_form": ThanksForm()},
    )


@require_POST
@desk_view
def thank(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    form = ThanksForm(request.POST)
    if form.is_valid():
        try:
            actions.thank_colleague(
                form.cleaned_data["staff"], message=form.cleaned_data["message"], by=staff
            )
        except CherishError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Thank you sent. It is on the wall."))
    else:
        messages.error(request, _("Choose a colleague and say what they did."))
    return redirect("staff:wall")


@require_http_methods(["GET", "POST"])
@desk_view
def nominations(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    form = NominationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.nominate(
                form.cleaned_data["nominee"], reason=form.cleaned_data["reason"], by=staff
            )
        except CherishError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("Nomination sent, with the evidence attached."))
            return redirect("staff:nominations")
    month = actions.month_start(now())
    return render(
        request,
        "staff/nominations.html",
        {"form": form, "month": month, "nominations": queries.nominations_for(month)},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@desk_view
def pulses(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    form = PulseForm(request.POST or None)
    if request.method == "POST":
        if not _may_lead(staff):
            raise Forbidden(_("Only team leads and managers open a pulse."))
        if form.is_valid():
            try:
                survey = actions.open_pulse(
                    title=form.cleaned_data["title"],
                    questions=form.cleaned_data["questions"].splitlines(),
                    opens_at=form.cleaned_data["opens_at"],
                    closes_at=form.cleaned_data["closes_at"],
                    by=staff,
                )
            except CherishError as error:
                form.add_error(error.field, error.message)
            else:
                messages.success(request, _("Pulse opened."))
                return redirect("staff:pulse", survey.pk)
    surveys = PulseSurvey.objects.order_by("-opens_at")[:50]
    return render(
        request,
        "staff/pulses.html",
        {"surveys": surveys, "form": form, "may_lead": _may_lead(staff), "at": now()},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@desk_view
def pulse(request: DeskRequest, survey_id: int) -> HttpResponse:
    staff = request.staff
    survey = _survey(survey_id)
    form = AnswerForm(request.POST or None, questions=survey.questions)
    if request.method == "POST" and form.is_valid():
        try:
            actions.answer_pulse(
                survey, scores=form.scores(), comment=form.cleaned_data["comment"], by=staff
            )
        except CherishError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Thank you. Your answer is anonymous."))
            return redirect("staff:pulse", survey.pk)
    # Its own ids: the action plan's form on the same page has a Team field too.
    filter_form = TeamFilterForm(request.GET or None, auto_id="filter_%s")
    team = filter_form.cleaned_data["team"] if filter_form.is_valid() else None
    results = queries.pulse_results(survey, team_id=team.pk if team else None)
    at = now()
    return render(
        request,
        "staff/pulse.html",
        {
            "survey": survey,
            "form": form,
            "is_open": survey.opens_at <= at < survey.closes_at,
            "closed": at >= survey.closes_at,
            "answered": queries.answered(survey, staff),
            "results": results,
            "table": results.table(),
            "questions": survey.questions,
            "filter_form": filter_form,
            "team": team,
            "min_group": queries.MIN_GROUP,
            "plans": survey.plans.select_related("team", "owner"),
            "plan_form": PlanForm(),
            "may_lead": _may_lead(staff),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@desk_view
def pulse_plan(request: DeskRequest, survey_id: int) -> HttpResponse:
    staff = request.staff
    survey = _survey(survey_id)
    if not _may_lead(staff):
        raise Forbidden(_("Only team leads and managers record action plans."))
    form = PlanForm(request.POST)
    if form.is_valid():
        actions.record_pulse_plan(survey, by=staff, **form.cleaned_data)
        messages.success(request, _("Action plan recorded."))
    else:
        messages.error(request, _("Say what we will do."))
    return redirect("staff:pulse", survey.pk)


@require_POST
@desk_view
def pulse_close(request: DeskRequest, survey_id: int) -> HttpResponse:
    staff = request.staff
    survey = _survey(survey_id)
    if not _may_lead(staff):
        raise Forbidden(_("Only team leads and managers close a pulse."))
    try:
        actions.close_pulse(survey, by=staff)
    except CherishError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Pulse closed; results are shown for groups of five or more."))
    return redirect("staff:pulse", survey.pk)


@require_http_methods(["GET", "POST"])
@desk_view
def creed(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    form = CreedForm(
        request.POST or None, initial=CreedForm.initial_for(*queries.creed_for_editing())
    )
    if request.method == "POST":
        if not is_manager(staff):
            raise Forbidden(_("Only managers change the creed."))
        if form.is_valid():
            try:
                actions.edit_creed(
                    text=form.cleaned_data["text"], translations=form.translations(), by=staff
                )
            except CherishError as error:
                form.add_error("text", error.message)
            else:
                messages.success(request, _("Creed saved. Staff and customers see it now."))
                return redirect("staff:creed")
    return render(
        request,
        "staff/creed.html",
        {"form": form, "may_edit": is_manager(staff), "creed": queries.creed_text()},
    )


# ---------------------------------------------------------------- the audit log

AUDIT_COLUMNS = [
    "at",
    "who",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "via",
    "ip",
    "detail",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _audit_rows(rows: Iterator[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        yield writer.writerow(
            [
                row.at.isoformat(),
                row.actor_label,
                row.action,
                row.outcome,
                row.target_type,
                row.target_id,
                row.via,
                row.ip,
                json.dumps(row.detail, sort_keys=True, ensure_ascii=False),
            ]
        )


@require_GET
@desk_view
def audit_log(request: DeskRequest) -> HttpResponseBase:
    """Who viewed, exported, erased, merged, approved, changed a role or a setting, or was
    refused, from where and when: read and exported (CSV) by managers and administrators
    (the view_audit_log permission). An export is itself written to the log."""
    staff = request.staff
    if not has_permission(staff, "view_audit_log"):
        raise Forbidden(
            _("The audit log is for managers and administrators."), code="audit_log_not_allowed"
        )
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = queries.AuditFilters(
        action=(data.get("action") or "").strip(),
        outcome=data.get("outcome") or "",
        actor=(data.get("actor") or "").strip(),
        since=data.get("since"),
        until=data.get("until"),
    )
    rows = queries.audit_entries(filters)
    if request.GET.get("format") == "csv":
        audit(
            request,
            "audit.exported",
            by=staff,
            target_type="audit",
            detail={k: str(v) for k, v in data.items() if v},
        )
        response = StreamingHttpResponse(
            _audit_rows(rows.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="audit-log-{now():%Y%m%d-%H%M}.csv"'
        )
        return response
    page = Paginator(rows, queries.AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
