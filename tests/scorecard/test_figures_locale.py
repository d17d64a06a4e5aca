"""Figures are written as the reader's language writes numbers (issue #13: dates, numbers and
money follow the locale)."""

from __future__ import annotations

import pytest
from django.utils import translation

from cherish.desk.queries import Count
from cherish.scorecard import figures


def _unit(unit: str) -> figures.Figure:
    return next(f for f in figures.FIGURES if f.unit == unit)


@pytest.mark.parametrize(
    "language, count, hours, change, capped",
    [
        ("en", "1,235", "3.5 h", "-765", "1,000+"),
        ("de", "1.235", "3,5 h", "-765", "1.000+"),
    ],
)
def test_numbers_follow_the_reader_s_language(language, count, hours, change, capped):
    with translation.override(language):
        assert figures.display(_unit("count"), 1234.56) == count
        assert figures.display(_unit("hours"), 3.46) == hours
        assert figures.display_change(_unit("count"), 1234.56, 2000) == change
        assert str(Count(value=1001, cap=1000)) == capped
