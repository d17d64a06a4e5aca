"""Desk pages for people: the recognition wall, peer thanks, nominations, the anonymous
pulse and the creed. Parse, call, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.staff import actions, queries
from cherish.staff.access import is_manager, staff_for_user
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

PeopleView = Callable[..., HttpResponseBase]


def people_view(view: PeopleView) -> PeopleView:
    """Staff only: anonymous visitors go to the login page, other accounts get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        staff = staff_for_user(request.user)
        if staff is None:
            raise PermissionDenied("The desk is for staff.")
        return view(request, staff, *args, **kwargs)

    return wrapper


def _may_lead(staff: Staff) -> bool:
    return staff.role in (Role.LEAD, Role.MANAGER) or bool(staff.user.is_superuser)


def _survey(survey_id: int) -> PulseSurvey:
    survey = PulseSurvey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise Http404("No such pulse.")
    return survey


@require_GET
@people_view
def wall(request: HttpRequest, staff: Staff) -> HttpResponse:
    return render(
        request,
        "staff/wall.html",
        {"people": queries.recognition_wall(), "thanks_form": ThanksForm()},
    )


@require_POST
@people_view
def thank(request: HttpRequest, staff: Staff) -> HttpResponse:
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
@people_view
def nominations(request: HttpRequest, staff: Staff) -> HttpResponse:
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
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@people_view
def pulses(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = PulseForm(request.POST or None)
    if request.method == "POST":
        if not _may_lead(staff):
            raise PermissionDenied("Only team leads and managers open a pulse.")
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
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@people_view
def pulse(request: HttpRequest, staff: Staff, survey_id: int) -> HttpResponse:
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
        status=422 if form.errors else 200,
    )


@require_POST
@people_view
def pulse_plan(request: HttpRequest, staff: Staff, survey_id: int) -> HttpResponse:
    if not _may_lead(staff):
        raise PermissionDenied("Only team leads and managers record action plans.")
    survey = _survey(survey_id)
    form = PlanForm(request.POST)
    if form.is_valid():
        actions.record_pulse_plan(survey, by=staff, **form.cleaned_data)
        messages.success(request, "Action plan recorded.")
    else:
        messages.error(request, "Say what we will do.")
    return redirect("staff:pulse", survey.pk)


@require_http_methods(["GET", "POST"])
@people_view
def creed(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = CreedForm(request.POST or None, initial={"text": queries.creed_text()})
    if request.method == "POST":
        if not is_manager(staff):
            raise PermissionDenied("Only managers change the creed.")
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
