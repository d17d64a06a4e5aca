"""Ninja schemas of the learning API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class ThemeOut(Schema):
    id: int
    name: str = Field(description="Its top words, or the name staff gave it.")
    description: str
    complaints: int = Field(description="Complaints in the theme, all time.")
    this_week: int = Field(description="Complaints received in the last 7 days.")
    top_terms: list[str]


class EffectOut(Schema):
    verdict: str = Field(description="not_done, too_early, worked, no_change or worse.")
    label: str
    days: int = Field(description="The length of each window compared, in days.")
    before: int = Field(description="Complaints in the window before completion.")
    after: int = Field(description="Complaints in the window after completion.")
    rate_before: float = Field(description="Complaints per 1,000 customers, before.")
    rate_after: float = Field(description="Complaints per 1,000 customers, after.")


class ActionOut(Schema):
    id: int
    title: str
    description: str
    status: str = Field(description="planned, in_progress, done or cancelled.")
    theme_id: int | None
    policy_id: int | None
    due_date: dt.date | None
    completed_at: dt.datetime | None
    published: bool = Field(description='Shown on the public "You said, we did" page.')
    effect: EffectOut = Field(description="The before/after effectiveness check.")


class ActionIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    theme_id: int | None = Field(None, description="The theme it answers (or a policy).")
    policy_id: int | None = Field(None, description="The policy it changes (or a theme).")
    due_date: dt.date | None = None
    status: str = Field("planned", pattern="^(planned|in_progress|done|cancelled)$")


class StoryOut(Schema):
    id: int
    kind: str = Field(description="excellent (care to learn from) or failure.")
    title: str
    what_happened: str
    what_we_learned: str
    what_we_changed: str
    for_onboarding: bool
    created_at: dt.datetime
