"""The care panel and its filter. The read-only summary and the approvals on the desk's case page
are Jinja2 templates (care/jinja2/care/partials/), filled from ``queries.case_summary``."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.care import queries
from cherish.staff.access import staff_for_user

register = template.Library()


@register.inclusion_tag("care/partials/care_panel.html", takes_context=True)
def care_panel(context: Any, case: Any) -> dict[str, Any]:
    """The care workflow at a glance, with its forms; a fixed number of queries."""
    request = context.get("request")
    viewer = staff_for_user(request.user) if request is not None else None
    data = queries.care_panel(case, viewer=viewer)
    data.update({"request": request, "csrf_token": context.get("csrf_token")})
    return data


@register.filter
def business_duration(minutes: int | None) -> str:
    from cherish.care.clocks import humanise_business_minutes

    return humanise_business_minutes(int(minutes or 0))
