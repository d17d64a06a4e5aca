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


CHART_W, CHART_H, PAD_X, PAD_Y = 300, 110, 34, 16


@register.simple_tag
def trend_chart(row: Any, chart_id: str) -> str:
    """A server-rendered SVG line chart of a figure's trend; the data table beside it is its
    text alternative (aria-describedby points at it)."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    figure = row.figure
    points = [(w, v) for w, v in row.trend]
    values = [v for _, v in points if v is not None]
    title = f"{figure.label}: trend over {len(points)} periods"
    if not values:
        return mark_safe(
            f'<svg class="chart chart-empty" id="{escape(chart_id)}" role="img" '
            f'viewBox="0 0 {CHART_W} {CHART_H}" aria-label="{escape(title)}: no data yet">'
            f'<text x="{CHART_W // 2}" y="{CHART_H // 2}" text-anchor="middle">No data yet</text>'
            "</svg>"
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
