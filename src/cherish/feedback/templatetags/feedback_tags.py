"""Small filters for the survey form."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.feedback.queries import QuestionView

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def current_value(item: QuestionView, posted: dict[str, str] | None) -> str:
    """What the field shows: the refused post's value, else the saved answer, as text."""
    if posted is not None:
        return posted.get(item.field, "")
    if item.question.type in ("text", "choice"):
        return item.value_text
    return "" if item.value_int is None else str(item.value_int)
