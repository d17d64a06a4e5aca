"""Compare the roll-ups with a from-scratch recomputation (tests, ``rebuild_scorecard --check``)."""

from __future__ import annotations

import datetime as dt
import itertools

from cherish.scorecard.figures import PERIODS, Filters, series
from cherish.scorecard.models import ALL, CaseFact, WeeklyCube
from cherish.scorecard.recompute import Scratch


def compare_with_scratch(*, at: dt.datetime) -> list[str]:
    """Every filter combination seen in the data × every period's windows: roll-up sums must
    equal the recomputation. Returns one line per difference."""
    values: dict[str, set[str]] = {d: {ALL} for d in ("team", "channel", "kind", "topic")}
    for row in CaseFact.objects.values("team", "channel", "kind", "topic").distinct():
        for name, value in row.items():
            values[name].add(str(value))
    for row in WeeklyCube.objects.values("team", "channel", "kind", "topic").distinct():
        for name, value in row.items():
            values[name].add(str(value))
    problems = []
    scratch = Scratch(at=at)
    today = at.date()
    for team, channel, kind, topic in itertools.product(
        *(sorted(values[d]) for d in ("team", "channel", "kind", "topic"))
    ):
        filters = Filters(team=team, channel=channel, kind=kind, topic=topic)
        for period in PERIODS.values():
            for window, totals in series(filters, period, today):
                expected = scratch.totals(filters, window)
                for name, value in expected.items():
                    if totals[name] != value:
                        problems.append(
                            f"{filters} {window.label} {name}: roll-up {totals[name]}, "
                            f"recomputed {value}"
                        )
    return problems
