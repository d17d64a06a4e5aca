"""Ninja schemas of the scorecard API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class ScorecardFilters(Schema):
    period: str = Field(
        "4weeks", pattern="^(week|4weeks|quarter|year)$", description="week, 4weeks, quarter, year"
    )
    team: str = Field("*", max_length=20, description='A team id, or "*" for all.')
    channel: str = Field("*", max_length=8, description='A channel, or "*" for all.')
    kind: str = Field("*", max_length=16, description='A case kind, or "*" for all.')
    topic: str = Field("*", max_length=40, description='A topic, or "*" for all.')
    today: dt.date | None = Field(
        None,
        ge=dt.date(2000, 1, 1),
        le=dt.date(2100, 12, 31),
        description="Compute as of this day (default: today).",
    )


class PointOut(Schema):
    start: dt.date = Field(description="The first day (a Monday) of the period.")
    end: dt.date = Field(description="The last day (a Sunday) of the period.")
    value: float | None


class FigureOut(Schema):
    key: str
    label: str
    seven_c: str | None = Field(description="Which of the 7 Cs it measures, if any.")
    unit: str = Field(
        description='"%", "count", "days", "hours", "per100", "money", "score", "avg"'
    )
    definition: str
    value: float | None = Field(description="This period; null when nothing was measured.")
    previous: float | None = Field(description="The period before.")
    trend: list[PointOut] = Field(description="Oldest first; the last one is this period.")


class ScorecardOut(Schema):
    period: str
    start: dt.date
    end: dt.date
    filters: dict[str, str]
    built_at: dt.datetime | None = Field(description="When the roll-ups were last refreshed.")
    figures: list[FigureOut]
