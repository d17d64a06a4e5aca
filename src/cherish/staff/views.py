"""Desk pages for people: the recognition wall, peer thanks, nominations, the anonymous
pulse and the creed. Parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cherish.core.clock import now
from cherish.core.errors import CherishError, Forbidden
from cherish.desk.guard import DeskRequest, desk_view
from cherish.staff import actions, queries
from cherish.staff.access import is_manager
from cherish.staff.forms import (
    AnswerForm,
    CreedForm,
    NominationForm,
    PlanForm,
    PulseForm,
    TeamFilterForm,
    ThanksForm,
)
from cherish.staff.models import PulseSurvey, Role, Staff


def _may_lead(staff: Staff) -> bool:
    return staff.role in (Role.LEAD, Role.MANAGER) or bool(staff.user.is_superuser)


def _survey(survey_id: int) -> PulseSurvey:
    survey = PulseSurvey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise Http404("No such pulse.")
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
            messages.success(request, "Thank you sent. It is on the wall.")
    else:
        messages.error(request, "Choose a colleague and say what they did.")
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
            messages.success(request, "Nomination sent, with the evidence attached.")
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
            raise Forbidden("Only team leads and managers open a pulse.")
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
                messages.success(request, "Pulse opened.")
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
            messages.success(request, "Thank you. Your answer is anonymous.")
            return redirect("staff:pulse", survey.pk)
    filter_form = TeamFilterForm(request.GET or None)
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
        raise Forbidden("Only team leads and managers record action plans.")
    form = PlanForm(request.POST)
    if form.is_valid():
        actions.record_pulse_plan(survey, by=staff, **form.cleaned_data)
        messages.success(request, "Action plan recorded.")
    else:
        messages.error(request, "Say what we will do.")
    return redirect("staff:pulse", survey.pk)


@require_POST
@desk_view
def pulse_close(request: DeskRequest, survey_id: int) -> HttpResponse:
    staff = request.staff
    survey = _survey(survey_id)
    if not _may_lead(staff):
        raise Forbidden("Only team leads and managers close a pulse.")
    try:
        actions.close_pulse(survey, by=staff)
    except CherishError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Pulse closed; results are shown for groups of five or more.")
    return redirect("staff:pulse", survey.pk)


@require_http_methods(["GET", "POST"])
@desk_view
def creed(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    form = CreedForm(request.POST or None, initial={"text": queries.creed_text()})
    if request.method == "POST":
        if not is_manager(staff):
            raise Forbidden("Only managers change the creed.")
        if form.is_valid():
            try:
                actions.edit_creed(text=form.cleaned_data["text"], by=staff)
            except CherishError as error:
                form.add_error("text", error.message)
            else:
                messages.success(request, "Creed saved. Staff and customers see it now.")
                return redirect("staff:creed")
    return render(
        request,
        "staff/creed.html",
        {"form": form, "may_edit": is_manager(staff), "creed": queries.creed_text()},
    )
