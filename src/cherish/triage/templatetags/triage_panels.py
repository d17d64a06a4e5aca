"""The triage panel on the desk's case page: the case's signals, the latest reading, fixes."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.triage.queries import triage_panel as panel_context

register = template.Library()


@register.inclusion_tag("triage/partials/triage_panel.html", takes_context=True)
def triage_panel(context: Any, case: Any) -> dict[str, Any]:
    panel = panel_context(case)
    panel["csrf_token"] = context.get("csrf_token")
    return panel
