"""Formatting figures in scorecard pages and emails."""

from __future__ import annotations

from html import escape as _escape
from typing import Any

from django import template
from django.utils.translation import gettext

from cherish.scorecard import figures

register = template.Library()


def escape(value: object) -> str:
    # The standard library's escape: a tenth of the cost of Django's lazy-aware one, and
    # everything escaped here is a plain str.
    return _escape(str(value))


@register.simple_tag
def figure_value(figure: figures.Figure, value: float | None) -> str:
    return figures.display(figure, value)


@register.simple_tag
def figure_change(figure: figures.Figure, value: float | None, previous: float | None) -> str:
    return figures.display_change(figure, value, previous)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


CHART_W, CHART_H, PAD_X, PAD_Y = 300, 110, 34, 16


@register.simple_tag
def trend_chart(row: Any, chart_id: str) -> str:
    """A server-rendered SVG line chart of a figure's trend; the data table beside it is its
    text alternative (aria-describedby points at it)."""
    from django.utils.safestring import mark_safe

    figure = row.figure
    points = [(w, v) for w, v in row.trend]
    values = [v for _, v in points if v is not None]
    title = gettext("%(figure)s: trend over %(n)s periods") % {
        "figure": figure.label,
        "n": len(points),
    }
    if not values:
        empty = gettext("No data yet")
        return mark_safe(
            f'<svg class="chart chart-empty" id="{escape(chart_id)}" role="img" '
            f'viewBox="0 0 {CHART_W} {CHART_H}" aria-label="{escape(title)}: {escape(empty)}">'
            f'<text x="{CHART_W // 2}" y="{CHART_H // 2}" text-anchor="middle">'
            f"{escape(empty)}</text></svg>"
        )
    low, high = min(values), max(values)
    if figure.unit == "%":
        low, high = min(low, 0.0), max(high, 100.0)
    if high == low:
        high = low + 1
    step = (CHART_W - 2 * PAD_X) / max(len(points) - 1, 1)

    def y(v: float) -> float:
        return CHART_H - PAD_Y - (v - low) / (high - low) * (CHART_H - 2 * PAD_Y)

    coords = [(PAD_X + i * step, y(v), w, v) for i, (w, v) in enumerate(points) if v is not None]
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy, _, _ in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3"><title>{escape(w.label)}: '
        f"{escape(figures.display(figure, v))}</title></circle>"
        for x, yy, w, v in coords
    )
    first, last = points[0][0], points[-1][0]
    return mark_safe(
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {CHART_W} {CHART_H}" '
        f'aria-labelledby="{escape(chart_id)}-t" aria-describedby="{escape(chart_id)}-data" '
        f'data-points="{len(coords)}">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<line class="axis" x1="{PAD_X}" y1="{CHART_H - PAD_Y}" x2="{CHART_W - PAD_X}" '
        f'y2="{CHART_H - PAD_Y}"/>'
        f'<text class="tick" x="2" y="{PAD_Y + 4}">{escape(figures.display(figure, high))}</text>'
        f'<text class="tick" x="2" y="{CHART_H - PAD_Y}">{escape(figures.display(figure, low))}'
        "</text>"
        f'<polyline points="{line}"/>{dots}'
        f'<text class="tick" x="{PAD_X}" y="{CHART_H - 2}">{escape(first.short)}</text>'
        f'<text class="tick" x="{CHART_W - PAD_X}" y="{CHART_H - 2}" text-anchor="end">'
        f"{escape(last.short)}</text></svg>"
    )


@register.simple_tag
def figure_card(row: Any, filter_query: str) -> str:
    """One figure: value, previous period, trend chart, its data table, definition and the
    drill-down link. Built in Python rather than an included template: the page shows 28 of
    these and template rendering was most of its time (bench/bench_scorecard.py)."""
    from django.urls import reverse
    from django.utils.safestring import mark_safe

    figure = row.figure
    key = escape(figure.key)
    words = {
        "previous": gettext("Previous period:"),
        "table": gettext("Data table"),
        "caption": gettext("%(figure)s per period"),
        "period": gettext("Period"),
        "value": gettext("Value"),
    }
    value = "" if row.value is None else repr(row.value)
    change = ""
    if row.value is not None and row.previous is not None:
        shown = figures.display_change(figure, row.value, row.previous)
        change = " (" + escape(gettext("change %(change)s") % {"change": shown}) + ")"
    cells = "".join(
        f'<tr><th scope="row">{escape(w.label)}</th>'
        f"<td>{escape(figures.display(figure, v))}</td></tr>"
        for w, v in row.trend
    )
    link = ""
    if figure.drill is not None:
        behind = (
            gettext("The answers behind it")
            if figure.drill.source == "answers"
            else gettext("The cases behind it")
        )
        href = f"{reverse('scorecard:cases')}?figure={figure.key}&{filter_query}"
        link = f'<p><a href="{escape(href)}">{escape(behind)}</a></p>'
    return mark_safe(
        f'<article class="figure" id="figure-{key}" data-figure="{key}">'
        f"<h3>{escape(figure.label)}</h3>"
        f'<p class="value" data-value="{value}">{escape(figures.display(figure, row.value))}</p>'
        f'<p class="previous">{escape(words["previous"])} '
        f"{escape(figures.display(figure, row.previous))}{change}</p>"
        f"{trend_chart(row, f'chart-{figure.key}')}"
        f"<details><summary>{escape(words['table'])}</summary>"
        f'<table class="list" id="chart-{key}-data">'
        f"<caption>{escape(words['caption'] % {'figure': figure.label})}</caption>"
        f'<thead><tr><th scope="col">{escape(words["period"])}</th>'
        f'<th scope="col">{escape(words["value"])}</th></tr></thead>'
        f"<tbody>{cells}</tbody></table></details>"
        f'<p class="definition">{escape(figure.definition)}</p>{link}</article>'
    )
