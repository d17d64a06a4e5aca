from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from cherish.cases.models import Case
from cherish.core.errors import CherishError
from cherish.staff.access import staff_for_user
from cherish.triage.actions import correct_triage
from cherish.triage.templatetags.triage_panels import triage_panel


@require_POST
def correct(request: HttpRequest, reference: str) -> HttpResponse:
    staff = staff_for_user(request.user)
    if staff is None:
        raise Http404
    case = Case.objects.filter(reference=reference).first()
    if case is None:
        raise Http404
    error = ""
    try:
        correct_triage(
            case, field=request.POST.get("field", ""), value=request.POST.get("value", ""), by=staff
        )
    except CherishError as exc:
        error = exc.message
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("cases:detail", reference=case.reference)
    case.refresh_from_db()
    context = triage_panel({"csrf_token": get_token(request)}, case)
    html = render_to_string("triage/partials/triage_panel.html", context, request=request)
    if error:
        html = format_html('<p class="field-error" role="alert">{}</p>', error) + html
    return HttpResponse(html, status=422 if error else 200)
