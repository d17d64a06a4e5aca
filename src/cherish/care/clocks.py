"""Clocks the customer feels, computed from rows already loaded (no queries here).

- Time to first personal response: from the case opening to the first non-automatic reply
  (Case.first_response_at; an acknowledgement does not count). This clock does not pause.
- Time to resolution: from opening to the recorded resolution (or closing), in business time,
  minus the time spent waiting on the customer (the clock pauses then).
- Waiting on us vs waiting on the customer: wall-clock seconds, the latter from the pauses.
- Owners: distinct owners the case has had. Repeats: reassignments whose handoff note is too
  short to be a real summary (fewer than REAL_SUMMARY_CHARS characters) — the new owner will
  have had to ask the customer again. Counted from the timeline's owner events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cherish.care.business_hours import Schedule, business_seconds_between

# "About to breach" fires at this share of the target.
WARNING_SHARE = 0.8
# A handoff note shorter than this is not a summary; the customer will repeat themselves.
REAL_SUMMARY_CHARS = 40


@dataclass(frozen=True)
class TargetClock:
    """One clock against its target, in business minutes."""

    name: str
    elapsed_minutes: int
    target_minutes: int | None
    done: bool

    @property
    def share(self) -> float | None:
        if not self.target_minutes:
            return None
        return self.elapsed_minutes / self.target_minutes

    @property
    def status(self) -> str:
        """'met' / 'missed' once done; 'ok' / 'warning' / 'breached' while running; 'none'."""
        share = self.share
        if share is None:
            return "none"
        if self.done:
            return "met" if share <= 1 else "missed"
        if share >= 1:
            return "breached"
        if share >= WARNING_SHARE:
            return "warning"
        return "ok"

    @property
    def percent(self) -> int:
        share = self.share
        return min(round((share or 0) * 100), 999)


@dataclass(frozen=True)
class ClockSummary:
    first_response: TargetClock
    resolution: TargetClock
    waiting_on_us_seconds: int
    waiting_on_customer_seconds: int
    is_waiting_on_customer: bool
    owners_count: int
    repeat_count: int


def owner_counts(owner_events: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(distinct owners, repeats) from case.owner_assigned / case.owner_changed event data."""
    owners: set[int] = set()
    repeats = 0
    for event in owner_events:
        data = event.get("data") or {}
        if data.get("owner_id") is not None:
            owners.add(int(data["owner_id"]))
        if event.get("type") == "case.owner_changed":
            note = (data.get("note") or "").strip()
            if len(note) < REAL_SUMMARY_CHARS:
                repeats += 1
    return len(owners), repeats


def resolution_elapsed_seconds(
    *,
    opened_at: dt.datetime,
    end: dt.datetime,
    schedule: Schedule,
    waited_business_seconds: int,
    waiting_since: dt.datetime | None,
) -> int:
    """Business seconds the case has run on our side: open time minus the pauses."""
    total = business_seconds_between(opened_at, end, schedule)
    paused = waited_business_seconds
    if waiting_since is not None and waiting_since < end:
        paused += business_seconds_between(waiting_since, end, schedule)
    return max(total - paused, 0)


def summarise(
    *,
    opened_at: dt.datetime,
    first_response_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    closed_at: dt.datetime | None,
    waited_seconds: int,
    waited_business_seconds: int,
    waiting_since: dt.datetime | None,
    first_response_target: int | None,
    resolution_target: int | None,
    owner_events: Iterable[dict[str, Any]],
    schedule: Schedule,
    at: dt.datetime,
) -> ClockSummary:
    first_end = first_response_at or at
    first_elapsed = business_seconds_between(opened_at, first_end, schedule)
    resolution_end = resolved_at or closed_at or at
    resolution_elapsed = resolution_elapsed_seconds(
        opened_at=opened_at,
        end=resolution_end,
        schedule=schedule,
        waited_business_seconds=waited_business_seconds,
        waiting_since=waiting_since,
    )
    wall_end = closed_at or at
    waiting_customer = waited_seconds
    if waiting_since is not None and waiting_since < wall_end:
        waiting_customer += int((wall_end - waiting_since).total_seconds())
    open_seconds = max(int((wall_end - opened_at).total_seconds()), 0)
    owners, repeats = owner_counts(owner_events)
    return ClockSummary(
        first_response=TargetClock(
            name="first_response",
            elapsed_minutes=first_elapsed // 60,
            target_minutes=first_response_target,
            done=first_response_at is not None,
        ),
        resolution=TargetClock(
            name="resolution",
            elapsed_minutes=resolution_elapsed // 60,
            target_minutes=resolution_target,
            done=resolved_at is not None or closed_at is not None,
        ),
        waiting_on_us_seconds=max(open_seconds - waiting_customer, 0),
        waiting_on_customer_seconds=waiting_customer,
        is_waiting_on_customer=waiting_since is not None,
        owners_count=owners,
        repeat_count=repeats,
    )


def humanise_seconds(seconds: int) -> str:
    """'3 d 4 h', '2 h 5 min', '12 min' — compact durations for the panel."""
    minutes = seconds // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def humanise_business_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} h"
    return f"{rest} min"
