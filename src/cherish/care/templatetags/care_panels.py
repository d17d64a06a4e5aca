"""Panels this app adds to the desk's case page (included by cases/case_detail.html)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("care/partials/care_panel.html", takes_context=True)
def care_panel(context: Any, case: Any) -> dict[str, Any]:
    return {"case": case, "request": context.get("request")}
