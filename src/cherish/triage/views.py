"""The triage panel's forms: correct the reading, raise and clear the case's flags.

HTMX posts get the panel back (with the refusal shown in it, status 200 so htmx swaps it);
plain posts redirect to the case page, or show the panel on its own page with the refusal
(status 400) — a refusal is never dropped silently.

The "Correct it" and "Add a flag" forms are not written into the case page: a GET of their
address answers HTMX with the form alone (when its disclosure opens), and a plain GET (no
JavaScript) with the panel on its own page, that form open.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from cherish.cases.access import access_case_to_work
from cherish.cases.models import Case
from cherish.core.errors import CherishError
from cherish.desk.guard import DeskRequest, desk_view
from cherish.staff.models import Staff
from cherish.triage import actions, queries
from cherish.triage.case_signals import FLAG_LABELS
from cherish.triage.forms import CorrectionForm, FlagForm
from cherish.triage.queries import PanelError


def _staff_and_case(request: DeskRequest, reference: str) -> tuple[Staff, Case]:
    return request.staff, access_case_to_work(request.staff, reference)


def _urls(case: Case) -> SimpleNamespace:
    """The panel's form addresses (on the case page the desk gives them with its own)."""
    return SimpleNamespace(
        **{
            key: reverse(name, args=[case.reference])
            for key, name in (
                ("correct", "triage:correct"),
                ("add_flag", "triage:add-flag"),
                ("clear_flag", "triage:clear-flag"),
            )
        }
    )


def _answer(
    request: HttpRequest, case: Case, *, error: PanelError | None, notice: str
) -> HttpResponse:
    # The panel is a Jinja2 template (cherish.core.jinja): it is part of the desk's case page.
    if getattr(request, "htmx", False):
        case.refresh_from_db()
        context = queries.triage_panel(
            case, error=error, posted=request.POST if error else None, notice=notice
        )
        context["urls"] = _urls(case)
        return render(request, "triage/partials/triage_panel.html", context, using="jinja2")
    if error is None:
        return redirect(reverse("cases:detail", args=[case.reference]) + "#triage-panel")
    case.refresh_from_db()
    context = queries.triage_panel(case, error=error, posted=request.POST)
    context["urls"] = _urls(case)
    return render(request, "triage/case_triage.html", context, status=400, using="jinja2")


def _form(request: DeskRequest, reference: str, *, form_name: str) -> HttpResponse:
    """One of the panel's forms, asked for (GET): alone for HTMX, else on the panel's page."""
    case = access_case_to_work(request.staff, reference)
    context = queries.triage_panel(case, show=form_name)
    context["urls"] = _urls(case)
    if getattr(request, "htmx", False):
        template = "correct_form" if form_name == "correct" else "add_flag_form"
        response = render(request, f"triage/partials/{template}.html", context, using="jinja2")
    else:
        response = render(request, "triage/case_triage.html", context, using="jinja2")
    patch_vary_headers(response, ("HX-Request",))
    return response


def _first_error(form: FlagForm | CorrectionForm) -> tuple[str, str]:
    for name, errors in form.errors.items():
        return name, str(errors[0])
    return "", gettext("Check the form.")


@require_http_methods(["GET", "POST"])
@desk_view
def correct(request: DeskRequest, reference: str) -> HttpResponse:
    if request.method == "GET":
        return _form(request, reference, form_name="correct")
    staff, case = _staff_and_case(request, reference)
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        name, message = _first_error(form)
        return _answer(request, case, error=PanelError("correct", message, name), notice="")
    current = {f.name: f.current for f in queries.correction_fields(case)}
    changes = form.changes(current)
    if not changes:
        error = PanelError("correct", gettext("Change at least one value to correct it."))
        return _answer(request, case, error=error, notice="")
    done = []
    for name, value in changes.items():
        try:
            actions.correct_triage(case, field=name, value=value, by=staff)
        except CherishError as exc:
            error = PanelError("correct", exc.message, exc.field or name)
            return _answer(request, case, error=error, notice="")
        done.append(
            gettext("%(field)s is now %(value)s")
            % {
                "field": queries.FIELD_LABELS.get(name, name),
                "value": queries.value_label(name, value),
            }
        )
    notice = gettext("Thanks, Cherish learns from this: %(changes)s.") % {
        "changes": "; ".join(done)
    }
    return _answer(request, case, error=None, notice=notice)


def _flag_view(request: DeskRequest, reference: str, *, form_name: str) -> HttpResponse:
    staff, case = _staff_and_case(request, reference)
    form = FlagForm(request.POST)
    if not form.is_valid():
        name, message = _first_error(form)
        flag = str(request.POST.get("flag", ""))
        return _answer(request, case, error=PanelError(form_name, message, name, flag), notice="")
    flag, reason = form.cleaned_data["flag"], form.cleaned_data["reason"]
    change = actions.add_flag if form_name == "add" else actions.clear_flag
    try:
        change(case, flag=flag, reason=reason, by=staff)
    except CherishError as exc:
        error = PanelError(form_name, exc.message, exc.field or "", flag)
        return _answer(request, case, error=error, notice="")
    done = gettext("“%(flag)s” raised.") if form_name == "add" else gettext("“%(flag)s” cleared.")
    return _answer(request, case, error=None, notice=done % {"flag": FLAG_LABELS[flag]})


@require_http_methods(["GET", "POST"])
@desk_view
def add_flag(request: DeskRequest, reference: str) -> HttpResponse:
    if request.method == "GET":
        return _form(request, reference, form_name="add")
    return _flag_view(request, reference, form_name="add")


@require_POST
@desk_view
def clear_flag(request: DeskRequest, reference: str) -> HttpResponse:
    return _flag_view(request, reference, form_name="clear")
