"""Every scorecard figure and each of the 7 Cs on the constructed dataset (conftest), with the
expected value worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from tests.scorecard.conftest import TODAY, W0, W1

from cherish.scorecard import figures
from cherish.scorecard.figures import Filters

WEEK = figures.PERIODS["week"]


# The tests here only read, so they share the dataset built once for the module (conftest's
# built_once), not once for each of the 33 tests: they took 7.8 -> 0.34 s of the pytest
# process's CPU on SQLite, 7.3 -> 0.36 s on PostgreSQL (its server 6.4 -> 4.9 s for
# tests/scorecard; 2026-12-02 05:00-05:38, load average 4-8).
@pytest.fixture
def built(built_once: dict[str, Any], db: Any) -> dict[str, Any]:
    return built_once


def period_values(filters: Filters = Filters()) -> tuple[dict, dict]:
    points = figures.series(filters, WEEK, TODAY.date())
    ctx = figures.context()
    (w1, before), (w0, this) = points[-2], points[-1]
    assert (w0.start, w1.start) == (W0, W1)
    return figures.values(this, ctx), figures.values(before, ctx)


HAND = [
    # (figure, this week, worked out)
    ("complaints", 2, "c1 and c2 received in W0"),
    ("recovery_rate", 50, "c4 kept (bought in Jan), c5 not: 1 of 2"),
    ("silent_recovery_rate", 100, "gina bought again within 90 days: 1 of 1"),
    ("csat", 50, "answers 5 and 2: one of two is 4–5"),
    ("csat_average", 3.5, "(5 + 2) / 2"),
    ("nps", 0, "promoters 1 (10), detractors 1 (3) of 2: 50 % − 50 %"),
    ("raving_fans", 50, "erin yes, gina no"),
    ("response_rate", 80, "4 answers / 5 invitations sent"),
    ("repeat_rate", 50, "c2 (dora complained 20 Feb) of c1, c2"),
    ("complaints_per_1000", 500, "2 complaints / 4 active customers × 1000"),
    ("silent_unhappy", 52, "2 complaints × 26"),
    ("word_of_mouth_negative", 503.5, "(52 silent + (2 closed − 1 recovered)) × 9.5"),
    ("word_of_mouth_positive", 5, "1 recovered (c1) × 5"),
    ("value_retained", 300, "erin's £300 in the year before c4"),
    ("gesture_cost", 30, "£10 refund on c1 + £20 credit on c2"),
    ("caring_empathy", 50, "cared 5 and 2"),
    ("caring_tone", 50, "1 hit ('our policy states') in 2 personal replies, × 100"),
    ("customised_gestures", 100, "2 gestures / 2 closed cases × 100"),
    ("customised_exceptions", 50, "1 approved above authority / 2 closed × 100"),
    ("competent_one_owner", 50, "c1 one owner, c2 two"),
    ("competent_commitments_kept", 50, "1 kept / (1 kept + 1 broken)"),
    ("call_once", 50, "c1 only: c2 changed owner without a summary"),
    ("contacts_per_case", 1.5, "(2 + 1) messages in / 2 closed"),
    ("first_response_hours", 3, "(2 h + 4 h) / 2; c3 has none yet"),
    ("resolution_median", 1, "c2 1 day, c1 4 days: half within the 1-day bucket"),
    ("within_expectation", 50, "expected median(2, 3, 5) = 3 days; c2 within, c1 not"),
    ("committed_follow_up", 50, "c1 followed up before closing, c2 not"),
    ("committed_on_time", 50, "c1's kept before due; c2's broken: 1 of 2"),
]


def test_every_figure_is_covered_by_a_hand_computed_value():
    assert {key for key, _, _ in HAND} == set(figures.BY_KEY)


@pytest.mark.parametrize(("key", "expected", "why"), HAND, ids=[h[0] for h in HAND])
def test_figure_this_week(built, key, expected, why):
    this, _ = period_values()
    assert this[key] == pytest.approx(expected), why


def test_previous_week_has_c6_only(built):
    _, before = period_values()
    assert before["complaints"] == 1
    assert before["resolution_median"] == 2  # c6: 10 → 12 Mar
    assert before["csat"] is None  # no answers: no figure, not zero


def test_filters_narrow_every_figure(built):
    email, _ = period_values(Filters(channel="email"))
    assert email["complaints"] == 1  # c2
    assert email["csat"] == 0  # its one answer is a 2
    assert email["competent_one_owner"] == 0
    assert email["silent_recovery_rate"] is None  # no channel: only shown unfiltered
    care = str(built["care"].pk)
    team, _ = period_values(Filters(team=care, topic="delivery"))
    assert team["complaints"] == 1  # c1
    assert team["within_expectation"] == 0  # 4 days > 3
    assert team["caring_tone"] == 100  # 1 hit in 1 reply


def test_channel_mix_and_loyalty_mix(built):
    from cherish.scorecard import queries

    mix = queries.breakdown("channel", Filters(), WEEK, TODAY.date())
    assert [(r.value, r.received) for r in mix] == [("email", 1), ("phone", 1), ("web", 1)]
    loyalty = queries.loyalty_mix(Filters(), WEEK, TODAY.date())
    assert [(r.level, r.count, r.share) for r in loyalty] == [
        ("none", 1, 50.0),
        ("confidence", 0, 0.0),
        ("fairness", 0, 0.0),
        ("pride", 0, 0.0),
        ("passion", 1, 50.0),
    ]


def test_leave_reasons_against_the_benchmark(built):
    from cherish.scorecard import queries

    rows = queries.leave_reasons(figures.PERIODS["quarter"], TODAY.date())
    by_reason = {r.reason: (r.count, r.share, r.benchmark) for r in rows}
    # fred's "felt we didn't care" (5 Feb) is the only one: 100 % against the study's 68 %
    assert by_reason["indifference"] == (1, 100.0, 68)
    assert by_reason["competitor"] == (0, 0.0, 9)
