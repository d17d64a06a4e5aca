"""Business-hours arithmetic: pure functions over a team's working week, time zone and holidays.

Targets are promises about *our* working time ("answered within 4 business hours"), so a
complaint sent on Friday evening is not late on Monday morning. All inputs and outputs are
timezone-aware datetimes; the working week is read in the team's own time zone, so daylight
saving shifts are handled by zoneinfo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# Safety stop: ten years of days without a working minute means the schedule is empty.
MAX_DAYS = 3660

Window = tuple[dt.time, dt.time]


@dataclass(frozen=True)
class Schedule:
    """A working week: weekday (0 = Monday) → working windows, in ``tz``; plus holidays."""

    tz: ZoneInfo
    days: Mapping[int, tuple[Window, ...]]
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        time_zone: str,
        days: Mapping[int, Iterable[Window]],
        holidays: Iterable[dt.date] = (),
    ) -> Schedule:
        cleaned = {
            weekday: tuple(sorted(w for w in windows if w[1] > w[0]))
            for weekday, windows in days.items()
        }
        return cls(
            tz=ZoneInfo(time_zone),
            days={k: v for k, v in cleaned.items() if v},
            holidays=frozenset(holidays),
        )

    @property
    def is_empty(self) -> bool:
        return not self.days


NINE_TO_FIVE: dict[int, tuple[Window, ...]] = {
    weekday: ((dt.time(9), dt.time(17)),) for weekday in range(5)
}


def default_schedule(time_zone: str = "UTC") -> Schedule:
    """Monday to Friday, nine to five: used when no business hours are configured."""
    return Schedule.build(time_zone, NINE_TO_FIVE)


def _windows_on(day: dt.date, schedule: Schedule) -> list[tuple[dt.datetime, dt.datetime]]:
    if day in schedule.holidays:
        return []
    result = []
    for start, end in schedule.days.get(day.weekday(), ()):
        result.append(
            (
                dt.datetime.combine(day, start, tzinfo=schedule.tz),
                dt.datetime.combine(day, end, tzinfo=schedule.tz),
            )
        )
    return result


def _require_aware(*values: dt.datetime) -> None:
    for value in values:
        if value.tzinfo is None:
            raise ValueError("business-hours arithmetic needs timezone-aware datetimes")


def business_seconds_between(start: dt.datetime, end: dt.datetime, schedule: Schedule) -> int:
    """Working seconds in [start, end); 0 when end is not after start.

    The first and last local days may be partly inside the span and are walked window by
    window; every day strictly between them is wholly inside, so it adds its full working
    time, counted a week at a time. Clocks of cases open for months stay cheap on every
    case page. (Same answer as walking every day: ``_business_seconds_by_day``.)
    """
    _require_aware(start, end)
    if end <= start or schedule.is_empty:
        return 0
    first = start.astimezone(schedule.tz).date()
    last = end.astimezone(schedule.tz).date()
    edge_days = {first - dt.timedelta(days=1), first, last}
    total = dt.timedelta(0)
    for day in sorted(edge_days):
        if day > last:
            continue
        for window_start, window_end in _windows_on(day, schedule):
            overlap = min(end, window_end) - max(start, window_start)
            if overlap > dt.timedelta(0):
                total += overlap
    inner_days = (last - first).days - 1
    if inner_days > 0:
        per_weekday = _full_day_seconds(schedule)
        weeks, rest = divmod(inner_days, 7)
        seconds = weeks * sum(per_weekday)
        day = first + dt.timedelta(days=1)
        for offset in range(rest):
            seconds += per_weekday[(day + dt.timedelta(days=offset)).weekday()]
        stop = last - dt.timedelta(days=1)
        seconds -= sum(per_weekday[h.weekday()] for h in schedule.holidays if day <= h <= stop)
        total += dt.timedelta(seconds=seconds)
    # timedelta arithmetic is exact (microseconds); floats would drift over long spans.
    return total // dt.timedelta(seconds=1)


def _full_day_seconds(schedule: Schedule) -> list[float]:
    """Working seconds of a whole ordinary day, per weekday (0 = Monday).

    Two datetimes with the same tzinfo subtract as wall-clock times, exactly as the
    window-by-window walk measures a whole day, so both ways agree on clock-change days.
    """
    return [
        sum(
            (
                dt.datetime.combine(dt.date.min, b) - dt.datetime.combine(dt.date.min, a)
            ).total_seconds()
            for a, b in schedule.days.get(weekday, ())
        )
        for weekday in range(7)
    ]


def _business_seconds_by_day(start: dt.datetime, end: dt.datetime, schedule: Schedule) -> int:
    """The plain day-by-day walk: the reference that tests compare the fast path with."""
    _require_aware(start, end)
    if end <= start or schedule.is_empty:
        return 0
    day = start.astimezone(schedule.tz).date() - dt.timedelta(days=1)
    last = end.astimezone(schedule.tz).date()
    total = dt.timedelta(0)
    while day <= last:
        for window_start, window_end in _windows_on(day, schedule):
            overlap = min(end, window_end) - max(start, window_start)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total // dt.timedelta(seconds=1)


def business_minutes_between(start: dt.datetime, end: dt.datetime, schedule: Schedule) -> int:
    return business_seconds_between(start, end, schedule) // 60


def add_business_seconds(start: dt.datetime, seconds: float, schedule: Schedule) -> dt.datetime:
    """The moment ``seconds`` of working time after ``start`` (a deadline).

    Zero seconds outside working hours gives ``start`` itself. Raises ValueError for a
    schedule with no working time at all.
    """
    _require_aware(start)
    if schedule.is_empty:
        raise ValueError("the schedule has no working hours")
    remaining = dt.timedelta(seconds=seconds)
    if remaining <= dt.timedelta(0):
        return start
    day = start.astimezone(schedule.tz).date() - dt.timedelta(days=1)
    for _ in range(MAX_DAYS):
        for window_start, window_end in _windows_on(day, schedule):
            begin = max(start, window_start)
            if begin >= window_end:
                continue
            available = window_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
        day += dt.timedelta(days=1)
    raise ValueError("no working time within ten years; check the holidays")


def add_business_minutes(start: dt.datetime, minutes: float, schedule: Schedule) -> dt.datetime:
    return add_business_seconds(start, minutes * 60, schedule)


def is_working_time(at: dt.datetime, schedule: Schedule) -> bool:
    _require_aware(at)
    local_day = at.astimezone(schedule.tz).date()
    return any(s <= at < e for s, e in _windows_on(local_day, schedule))


def end_of_working_day(at: dt.datetime, schedule: Schedule) -> dt.datetime:
    """The end of the local calendar day of ``at`` in the schedule's time zone (for 'due today')."""
    local = at.astimezone(schedule.tz)
    next_midnight = dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=schedule.tz
    )
    return next_midnight.astimezone(at.tzinfo)
