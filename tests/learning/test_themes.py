"""Themes: found by clustering, assigned as complaints arrive, shaped by staff for good."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cherish.learning import actions, queries
from cherish.learning.errors import LearningError
from cherish.learning.models import CaseTheme, Theme, ThemeModel, ThemeStatus
from tests.learning.conftest import open_complaint


def theme_of(case) -> Theme:
    return CaseTheme.objects.select_related("theme").get(case=case).theme


def members(theme: Theme) -> set[int]:
    return set(CaseTheme.objects.filter(theme=theme).values_list("case_id", flat=True))


def test_recluster_finds_the_three_topics(topics):
    # when
    result = actions.recluster_themes(k=3)
    # then each topic is one theme holding exactly its complaints
    assert (result.created, result.kept, result.retired, result.assigned) == (3, 0, 0, 24)
    for cases in topics.values():
        theme = theme_of(cases[0])
        assert members(theme) == {c.pk for c in cases}
        assert theme.case_count == 8
    assert theme_of(topics["delivery"][0]).top_terms[:6] and "courier" in " ".join(
        theme_of(topics["delivery"][0]).top_terms
    )


def test_new_complaint_joins_its_theme_with_the_words_that_drove_it(topics):
    # given
    actions.recluster_themes(k=3)
    billing = theme_of(topics["billing"][0])
    # when a new complaint arrives through the pipeline step
    case = open_complaint("Another wrong charge on my invoice, I want my refund now.", 99)
    from cherish.learning.tasks import assign_theme_task

    message = case.messages.get()
    assign_theme_task.call(message.pk, True)
    # then
    assignment = CaseTheme.objects.get(case=case)
    assert assignment.theme == billing
    assert set(assignment.words) & {"refund", "invoice", "charge"}
    billing.refresh_from_db()
    assert billing.case_count == 9
    # and running the step again changes nothing
    assign_theme_task.call(message.pk, True)
    billing.refresh_from_db()
    assert (billing.case_count, CaseTheme.objects.count()) == (9, 25)


def test_assignment_skips_other_kinds_and_an_unfitted_space(topics):
    # given no model yet
    case = open_complaint("Charged twice on my invoice, refund please.", 77)
    # then
    assert actions.assign_theme(case) is None
    actions.recluster_themes(k=3)
    compliment = open_complaint("Lovely courier, thank you for the parcel", 78, kind="compliment")
    assert actions.assign_theme(compliment) is None
    assert not CaseTheme.objects.filter(case=compliment).exists()


def test_staff_name_survives_reclustering(topics, lead):
    # given
    actions.recluster_themes(k=3)
    theme = theme_of(topics["delivery"][0])
    actions.rename_theme(theme, name="Parcels arrive late", by=lead)
    # when themes are found again
    actions.recluster_themes(k=3)
    # then the same theme keeps its name and its complaints
    theme.refresh_from_db()
    assert (theme.name, theme.status, theme.pinned) == ("Parcels arrive late", "active", True)
    assert members(theme) == {c.pk for c in topics["delivery"]}
    assert Theme.objects.filter(status=ThemeStatus.ACTIVE).count() == 3


def test_merge_survives_reclustering(topics, lead):
    # given billing merged into delivery
    actions.recluster_themes(k=3)
    delivery = theme_of(topics["delivery"][0])
    billing = theme_of(topics["billing"][0])
    actions.merge_themes(billing, into=delivery, by=lead)
    assert members(delivery) == {c.pk for c in topics["delivery"] + topics["billing"]}
    # when themes are found again, the clusterer seeing three topics
    actions.recluster_themes(k=3)
    # then billing stays merged and its complaints stay with delivery
    billing.refresh_from_db()
    delivery.refresh_from_db()
    assert (billing.status, billing.merged_into_id) == (ThemeStatus.MERGED, delivery.pk)
    assert members(delivery) == {c.pk for c in topics["delivery"] + topics["billing"]}
    assert delivery.case_count == 16
    assert Theme.objects.filter(status=ThemeStatus.ACTIVE).count() == 2
    # and a new billing complaint lands in the merged theme
    case = open_complaint("Double charge on my card, refund the invoice fee.", 55)
    assert actions.assign_theme(case).theme == delivery


def test_split_survives_reclustering(topics, lead):
    # given delivery and app in one theme, then split by staff
    actions.recluster_themes(k=3)
    mixed = actions.merge_themes(
        theme_of(topics["app"][0]), into=theme_of(topics["delivery"][0]), by=lead
    )
    first, second = actions.split_theme(mixed, by=lead)
    halves = {frozenset(members(first)), frozenset(members(second))}
    assert halves == {
        frozenset(c.pk for c in topics["delivery"]),
        frozenset(c.pk for c in topics["app"]),
    }
    actions.rename_theme(first, name="First half", by=lead)
    # when themes are found again
    actions.recluster_themes(k=3)
    # then both halves still exist, with their complaints and names
    first.refresh_from_db()
    second.refresh_from_db()
    mixed.refresh_from_db()
    assert (first.status, second.status, mixed.status) == ("active", "active", "split")
    assert first.name == "First half"
    assert {frozenset(members(first)), frozenset(members(second))} == halves


def test_shaping_refusals_change_nothing(topics, lead):
    actions.recluster_themes(k=3)
    theme = theme_of(topics["app"][0])
    with pytest.raises(LearningError) as merge_self:
        actions.merge_themes(theme, into=theme, by=lead)
    with pytest.raises(LearningError) as no_name:
        actions.rename_theme(theme, name="  ", by=lead)
    assert (merge_self.value.code, no_name.value.code) == (
        "theme_merge_self",
        "theme_name_required",
    )
    theme.refresh_from_db()
    assert (theme.status, theme.pinned, theme.case_count) == ("active", False, 8)


def test_rising_themes_compare_this_week_with_the_four_before(agent):
    # given 2 app complaints a week for four weeks, then 6 this week; billing flat at 2
    from tests.learning.conftest import APP, BILLING

    start = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    n = 0
    for week in range(5):
        per_week = 6 if week == 4 else 2
        for i in range(per_week):
            n += 1
            with time_machine.travel(start + dt.timedelta(days=7 * week, hours=i), tick=False):
                open_complaint(APP[i % 8], n)
        for i in range(2):
            n += 1
            with time_machine.travel(start + dt.timedelta(days=7 * week, hours=10 + i), tick=False):
                open_complaint(BILLING[i], n)
    at = start + dt.timedelta(days=29)
    with time_machine.travel(at, tick=False):
        actions.recluster_themes(k=2)
        # when
        rising = queries.rising_themes(at=at)
    # then only the app theme rose: 6 this week against 2 a week before
    assert [(r.theme.top_terms != [], r.this_week, r.weekly_before) for r in rising] == [
        (True, 6, 2.0)
    ]
    assert "app" in " ".join(rising[0].theme.top_terms)


def test_model_is_stored_without_pickles(topics):
    actions.recluster_themes(k=3)
    model = ThemeModel.objects.get()
    actions._spaces.clear()
    space = actions.space_of(model)
    assert space.dimensions >= 1
    assert bytes(model.space[:2]) == b"PK"  # an npz archive, loaded with allow_pickle=False
