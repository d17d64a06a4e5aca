"""The triage panel on the desk's case page: what the model read, why, and one-click fixes."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.triage.actions import CORRECTABLE

register = template.Library()


@register.inclusion_tag("triage/partials/triage_panel.html", takes_context=True)
def triage_panel(context: Any, case: Any) -> dict[str, Any]:
    result = case.triage or {}
    reasons = result.get("reasons") or {}
    return {
        "case": case,
        "t": result,
        "reasons": sorted(reasons.items()),
        "choices": {k: v for k, v in CORRECTABLE.items() if v},
        "csrf_token": context.get("csrf_token"),
    }
