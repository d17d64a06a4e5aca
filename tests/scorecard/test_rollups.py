"""The roll-ups equal a from-scratch recomputation, after a rebuild and after a refresh."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import time_machine
from django.core.management import call_command
from tests.scorecard.conftest import TODAY, respond

from cherish.scorecard import rollups
from cherish.scorecard.checks import compare_with_scratch
from cherish.scorecard.models import CaseFact, RollupState, WeeklyCube


def test_rebuilt_roll_ups_equal_a_recomputation_for_every_filter_and_period(built):
    with time_machine.travel(TODAY, tick=False):
        assert compare_with_scratch(at=TODAY) == []
    assert CaseFact.objects.count() == 7
    assert RollupState.objects.get().active_customers == 4


def test_refresh_after_changes_equals_a_recomputation(built):
    later = TODAY + dt.timedelta(hours=2)
    c3 = built["cases"]["c3"]
    c3.is_open = False
    c3.closed_at = later
    c3.updated_at = later
    c3.save()
    respond("after-case", c3.customer, later, case=c3, csat=4, cared=5)
    with time_machine.travel(later, tick=False):
        counts = rollups.refresh()
        assert counts["cases"] == 1
        assert compare_with_scratch(at=later) == []


def test_the_command_rebuilds_and_checks(dataset):
    out = StringIO()
    with time_machine.travel(TODAY, tick=False):
        call_command("rebuild_scorecard", "--check", stdout=out)
    assert "Rebuilt the facts of 7 cases" in out.getvalue()
    assert "Every roll-up equals a from-scratch recomputation." in out.getvalue()
    assert (
        WeeklyCube.objects.filter(
            week=dt.date(2026, 3, 16), team="*", channel="*", kind="*", topic="*"
        )
        .get()
        .complaints
        == 2
    )


def test_refresh_rebuilds_everything_once_a_day(built):
    a_day_later = TODAY + dt.timedelta(hours=25)
    with time_machine.travel(a_day_later, tick=False):
        assert rollups.refresh()["cases"] == 7  # every case, not just the changed ones
        assert RollupState.objects.get().rebuilt_at == a_day_later
        assert rollups.refresh()["cases"] == 0
