"""The customer's survey pages (signed link, no login, no JavaScript needed) and the desk's
survey overview. Thin: parse, call an access function and an action, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cherish.care.models import Target
from cherish.cases.models import Kind, Severity
from cherish.core.clock import now
from cherish.core.errors import CherishError, Forbidden
from cherish.core.i18n import use_language
from cherish.desk.guard import DeskRequest, desk_view
from cherish.feedback import actions, queries
from cherish.feedback.access import access_invitation, access_rating
from cherish.feedback.errors import FeedbackError, SurveyClosed, SurveyNotFound
from cherish.feedback.models import EXPECTATION_MEASURES, Invitation, Measure, SurveyResponse
from cherish.staff.models import Staff


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # same-origin, not no-referrer: with no-referrer Chromium posts "Origin: null" and
    # Django's CSRF check refuses every answer (found by the browser test). Links to other
    # sites still carry no Referer, so the token never leaves.
    response["Referrer-Policy"] = "same-origin"
    return response


def _invitation_or_404(request: HttpRequest, token: str) -> Invitation:
    """The invitation, with the page in the customer's language (unless they chose one)."""
    try:
        invitation = access_invitation(token)
    except SurveyNotFound as error:
        raise Http404(error.message) from None
    use_language(request, invitation.customer.language)
    return invitation


def _closed(request: HttpRequest, invitation: Invitation, message: str) -> HttpResponseBase:
    return _private(
        render(
            request,
            "feedback/closed.html",
            {"survey": invitation.survey, "message": message},
            status=410,
        )
    )


def _page(
    request: HttpRequest,
    token: str,
    invitation: Invitation,
    *,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponseBase:
    response = SurveyResponse.objects.filter(invitation=invitation).first()
    at = now()
    locked = response is not None and response.editable_until < at
    expired = response is None and invitation.expires_at is not None and invitation.expires_at < at
    if expired:
        return _closed(
            request, invitation, gettext("This survey has closed. Thank you all the same.")
        )
    context: dict[str, Any] = {
        "token": token,
        "survey": invitation.survey,
        "invitation": invitation,
        "response": response,
        "questions": queries.survey_form(invitation.survey, response),
        "locked": locked,
        "errors": errors or {},
        "posted": posted,
        "answered_now": request.GET.get("answered") == "1",
    }
    return _private(render(request, "feedback/survey.html", context, status=status))


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponseBase:
    invitation = _invitation_or_404(request, token)
    if request.method != "POST":
        return _page(request, token, invitation)
    values = {
        question.pk: request.POST.get(f"q{question.pk}", "")
        for question in queries.questions_of(invitation.survey_id)
    }
    try:
        actions.record_answers(invitation, values, replace=True)
    except SurveyClosed as error:
        return _closed(request, invitation, error.message)
    except FeedbackError as error:
        field = error.field or "form"
        posted = {f"q{pk}": str(value) for pk, value in values.items()}
        return _page(
            request, token, invitation, errors={field: error.message}, posted=posted, status=422
        )
    messages.success(request, gettext(invitation.survey.thanks))
    return _private(redirect("feedback:survey", token=token))


# GET only: HEAD (what many link checkers send) must never record an answer.
@require_GET
def click(request: HttpRequest, token: str, value: int) -> HttpResponseBase:
    """One click on an answer in the email: recorded, then the page asks the rest."""
    invitation = _invitation_or_404(request, token)
    try:
        recorded = actions.record_click(invitation, value)
    except SurveyClosed as error:
        return _closed(request, invitation, error.message)
    except FeedbackError as error:
        raise Http404(error.message) from None
    if recorded is None:
        return _private(redirect("feedback:survey", token=token))
    return _private(redirect(reverse("feedback:survey", args=[token]) + "?answered=1"))


@require_http_methods(["GET", "POST"])
def opt_out(request: HttpRequest, token: str) -> HttpResponseBase:
    """GET asks (a scanner opening the link must not opt anyone out); POST opts out."""
    invitation = _invitation_or_404(request, token)
    done = request.method == "POST"
    if done:
        actions.opt_out_of_surveys(invitation.customer)
    return _private(render(request, "feedback/opt_out.html", {"token": token, "done": done}))


@require_POST
def rate(request: HttpRequest, token: str) -> HttpResponseBase:
    """The rating on the customer's own case page, once the case is resolved."""
    try:
        case, survey = access_rating(token)
    except SurveyNotFound as error:
        raise Http404(error.message) from None
    try:
        recorded = actions.rate_from_case_page(case, survey, int(request.POST.get("value", "")))
    except ValueError:
        raise Http404("Choose a score.") from None
    except CherishError as error:
        raise Http404(error.message) from None
    use_language(request, case.customer.language)
    messages.success(
        request, gettext("Thank you for your rating. Tell us a little more if you like.")
    )
    token = actions.survey_token(recorded.response.invitation)
    return _private(redirect("feedback:survey", token=token))


# --- the desk ----------------------------------------------------------------------------


def may_set_targets(staff: Staff) -> bool:
    return staff.is_lead or staff.user.is_superuser


@require_GET
@desk_view
def surveys(request: DeskRequest) -> HttpResponse:
    staff: Staff = request.staff
    context = {
        "rates": queries.response_rates(),
        "expectations": [queries.expectation(m) for m in EXPECTATION_MEASURES],
        "targets": list(Target.objects.all()),
        "may_set_targets": may_set_targets(staff),
        "kinds": Kind.choices,
        "severities": Severity.choices,
        "measures": [(m.value, m.label) for m in EXPECTATION_MEASURES],
        "policy": queries.policy(),
    }
    return render(request, "feedback/surveys.html", context)


@require_POST
@desk_view
def set_target(request: DeskRequest) -> HttpResponse:
    staff: Staff = request.staff
    if not may_set_targets(staff):
        raise Forbidden(_("Only team leads and managers set targets."), code="targets_not_allowed")
    kind = request.POST.get("kind", "")
    severity = request.POST.get("severity", "")
    measure = request.POST.get("measure", Measure.EXPECT_COMPLAINT)
    if kind not in Kind.values or severity not in Severity.values:
        messages.error(request, gettext("Choose a kind and a severity."))
        return redirect("feedback:surveys")
    try:
        target = actions.set_target_from_expectations(kind, severity, by=staff, measure=measure)
    except CherishError as error:
        messages.error(request, error.message)
        return redirect("feedback:surveys")
    messages.success(
        request,
        gettext("The %(kind)s / %(severity)s resolution target now follows customers: %(note)s")
        % {
            "kind": target.get_kind_display().lower(),
            "severity": target.get_severity_display().lower(),
            "note": target.note,
        },
    )
    return redirect("feedback:surveys")
