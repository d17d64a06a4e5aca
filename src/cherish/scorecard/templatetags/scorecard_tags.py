"""Formatting figures in scorecard pages and emails."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.scorecard import figures

register = template.Library()


@register.simple_tag
def figure_value(figure: figures.Figure, value: float | None) -> str:
    return figures.display(figure, value)


@register.simple_tag
def figure_change(figure: figures.Figure, value: float | None, previous: float | None) -> str:
    return figures.display_change(figure, value, previous)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
