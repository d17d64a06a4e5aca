from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cherish.care.business_hours import (
    NINE_TO_FIVE,
    Schedule,
    add_business_minutes,
    add_business_seconds,
    business_minutes_between,
    business_seconds_between,
    end_of_working_day,
    is_working_time,
)

UTC = dt.UTC
# 2024-03-01 is a Friday; 2024-03-04 the Monday after.
FRIDAY_4PM = dt.datetime(2024, 3, 1, 16, 0, tzinfo=UTC)
MONDAY_10AM = dt.datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
TUESDAY_10AM = dt.datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def utc_week(holidays: tuple[dt.date, ...] = ()) -> Schedule:
    return Schedule.build("UTC", NINE_TO_FIVE, holidays)


def test_weekend_does_not_count():
    assert business_minutes_between(FRIDAY_4PM, MONDAY_10AM, utc_week()) == 120


def test_holiday_does_not_count():
    # given: the Monday is a bank holiday
    schedule = utc_week((dt.date(2024, 3, 4),))
    # then: Friday's last hour and Tuesday's first hour only
    assert business_minutes_between(FRIDAY_4PM, TUESDAY_10AM, schedule) == 120
    assert business_minutes_between(FRIDAY_4PM, TUESDAY_10AM, utc_week()) == 120 + 8 * 60


def test_deadline_skips_weekend_and_holiday():
    friday_half_past_four = dt.datetime(2024, 3, 1, 16, 30, tzinfo=UTC)
    assert add_business_minutes(friday_half_past_four, 60, utc_week()) == dt.datetime(
        2024, 3, 4, 9, 30, tzinfo=UTC
    )
    assert add_business_minutes(
        friday_half_past_four, 60, utc_week((dt.date(2024, 3, 4),))
    ) == dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC)


def test_outside_hours_start_waits_for_opening():
    saturday = dt.datetime(2024, 3, 2, 11, 0, tzinfo=UTC)
    assert add_business_minutes(saturday, 0, utc_week()) == saturday
    assert add_business_minutes(saturday, 1, utc_week()) == dt.datetime(
        2024, 3, 4, 9, 1, tzinfo=UTC
    )
    assert business_seconds_between(saturday, saturday + dt.timedelta(hours=20), utc_week()) == 0


def test_hours_are_read_in_the_team_time_zone():
    # given: a London team in summer time (UTC+1) and a New York team (UTC-4)
    london = Schedule.build("Europe/London", NINE_TO_FIVE)
    new_york = Schedule.build("America/New_York", NINE_TO_FIVE)
    monday_8_utc = dt.datetime(2024, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 in London
    # then: London's day ends 16:00 UTC, New York's starts 13:00 UTC
    assert add_business_minutes(monday_8_utc, 8 * 60, london) == dt.datetime(
        2024, 7, 1, 16, 0, tzinfo=UTC
    )
    assert add_business_minutes(monday_8_utc, 1, new_york) == dt.datetime(
        2024, 7, 1, 13, 1, tzinfo=UTC
    )
    assert is_working_time(monday_8_utc, london)
    assert not is_working_time(monday_8_utc, new_york)


def test_daylight_saving_change_over_the_weekend():
    # given: London clocks go forward on Sunday 31 March 2024
    london = Schedule.build("Europe/London", NINE_TO_FIVE)
    friday_4pm = dt.datetime(2024, 3, 29, 16, 0, tzinfo=UTC)  # 16:00 GMT
    monday_9_utc = dt.datetime(2024, 4, 1, 9, 0, tzinfo=UTC)  # 10:00 BST
    # then: one hour on Friday, one on Monday (opening at 08:00 UTC)
    assert business_minutes_between(friday_4pm, monday_9_utc, london) == 120


def test_split_day_and_empty_schedule():
    lunch_break = Schedule.build(
        "UTC", {0: [(dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))]}
    )
    monday = dt.datetime(2024, 3, 4, 11, 0, tzinfo=UTC)
    assert add_business_minutes(monday, 120, lunch_break) == dt.datetime(
        2024, 3, 4, 14, 0, tzinfo=UTC
    )
    empty = Schedule.build("UTC", {})
    assert business_seconds_between(FRIDAY_4PM, MONDAY_10AM, empty) == 0
    with pytest.raises(ValueError, match="no working hours"):
        add_business_minutes(FRIDAY_4PM, 1, empty)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds_between(dt.datetime(2024, 3, 1), MONDAY_10AM, utc_week())


def test_end_of_working_day_is_local_midnight():
    london = Schedule.build("Europe/London", NINE_TO_FIVE)
    at = dt.datetime(2024, 7, 1, 22, 30, tzinfo=UTC)  # 23:30 in London
    assert end_of_working_day(at, london) == dt.datetime(2024, 7, 1, 23, 0, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=dt.datetime(2024, 1, 1),
        max_value=dt.datetime(2025, 12, 31),
        timezones=st.just(UTC),
    ),
    seconds=st.integers(min_value=0, max_value=60 * 60 * 8 * 30),
)
def test_adding_then_measuring_gives_back_the_same_time(start, seconds):
    schedule = Schedule.build(
        "Europe/London", NINE_TO_FIVE, (dt.date(2024, 12, 25), dt.date(2025, 12, 25))
    )
    deadline = add_business_seconds(start, seconds, schedule)
    assert deadline >= start
    assert business_seconds_between(start, deadline, schedule) == seconds


WINDOWS = st.lists(
    st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(1, 12 * 60)).map(
        lambda t: (
            dt.time(t[0], t[1]),
            (dt.datetime(2000, 1, 1, t[0], t[1]) + dt.timedelta(minutes=t[2])).time()
            if t[0] * 60 + t[1] + t[2] < 24 * 60
            else dt.time(23, 59),
        )
    ),
    max_size=2,
)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Sydney"]),
    week=st.dictionaries(st.integers(0, 6), WINDOWS, max_size=7),
    holidays=st.sets(st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)), max_size=8),
    start=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2025, 6, 30), timezones=st.just(UTC)),
    span=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)),
)
def test_week_at_a_time_count_equals_the_day_by_day_walk(zone, week, holidays, start, span):
    from cherish.care.business_hours import _business_seconds_by_day

    schedule = Schedule.build(zone, week, holidays)
    end = start + span
    assert business_seconds_between(start, end, schedule) == _business_seconds_by_day(
        start, end, schedule
    )
