"""Improvement actions: the before/after effectiveness check, publishing, telling customers."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from cherish.customers.actions import find_or_create_customer
from cherish.learning import actions, queries
from cherish.learning.errors import LearningError
from cherish.learning.models import (
    ActionNotice,
    CaseTheme,
    CustomerCount,
    ImprovementAction,
    Theme,
)
from cherish.outbox.models import OutgoingEmail
from tests.conftest import login
from tests.learning.conftest import open_complaint

DONE = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _in_theme(theme: Theme, when: dt.datetime, n: int):
    with time_machine.travel(when, tick=False):
        case = open_complaint(f"Parcel number {n} was late.", n, reply_to=f"c{n}@example.com")
        CaseTheme.objects.create(
            case=case, theme=theme, similarity=1.0, words=[], case_created_at=when, assigned_at=when
        )
    return case


@pytest.fixture
def late_parcels(db) -> Theme:
    with time_machine.travel(DONE - dt.timedelta(days=60), tick=False):
        theme = Theme.objects.create(name="Late parcels", created_at=DONE, updated_at=DONE)
        for i in range(12):
            find_or_create_customer(name=f"Quiet {i}", email=f"quiet{i}@example.com")
    # 8 complaints in the 30 days before, 1 long before, 2 in the 30 days after
    for i in range(8):
        _in_theme(theme, DONE - dt.timedelta(days=29 - i), 100 + i)
    _in_theme(theme, DONE - dt.timedelta(days=45), 200)
    for i in range(2):
        _in_theme(theme, DONE + dt.timedelta(days=5 + i), 300 + i)
    with time_machine.travel(DONE + dt.timedelta(days=10), tick=False):
        for i in range(3):
            find_or_create_customer(name=f"New {i}", email=f"new{i}@example.com")
    return theme


def _done_action(theme: Theme, by, **kwargs) -> ImprovementAction:
    with time_machine.travel(DONE, tick=False):
        return actions.save_improvement_action(
            None, title="Second courier", theme=theme, status="done", by=by, **kwargs
        )


@pytest.mark.parametrize(
    "rolled_up_on",
    [
        pytest.param(None, id="counted live"),
        pytest.param(DONE + dt.timedelta(days=40), id="both moments in the daily roll-up"),
        pytest.param(DONE + dt.timedelta(days=3), id="roll-up ends between the moments"),
        pytest.param(DONE - dt.timedelta(days=90), id="roll-up run before any customer: empty"),
    ],
)
def test_effectiveness_compares_equal_windows_per_thousand_customers(
    late_parcels, lead, rolled_up_on
):
    # given an action done on DONE, looked at 30 days later (customers counted live, or from
    # the daily roll-up as it stood on some day, plus the customers created since)
    action = _done_action(late_parcels, lead)
    if rolled_up_on is not None:
        actions.refresh_customer_counts(at=rolled_up_on)
    # when
    effect = queries.effectiveness(action, at=DONE + dt.timedelta(days=30))
    # then by hand: customers before = 12 quiet + 8 + 1 complainants = 21;
    # after = 21 + 2 complainants + 3 new = 26; rates 1000*8/21 and 1000*2/26
    assert (effect.days, effect.before, effect.after) == (30, 8, 2)
    assert (effect.customers_before, effect.customers_after) == (21, 26)
    assert (effect.rate_before, effect.rate_after) == (380.95, 76.92)
    assert (effect.verdict, effect.change_percent) == ("worked", -80)


def test_effectiveness_too_early_with_a_short_window(late_parcels, lead):
    action = _done_action(late_parcels, lead)
    # 10 days after: the 10 days before hold none of the 8 (they are 22-29 days before)
    effect = queries.effectiveness(action, at=DONE + dt.timedelta(days=10))
    assert (effect.verdict, effect.label) == ("too_early", "Too early to tell")
    assert (effect.days, effect.before, effect.after) == (10, 0, 2)


def test_effectiveness_too_early_with_too_few_complaints(late_parcels, lead):
    action = _done_action(late_parcels, lead)
    # 23 days: the window before holds the complaints 23 and 22 days before; 4 in all < 10
    effect = queries.effectiveness(action, at=DONE + dt.timedelta(days=23))
    assert (effect.before, effect.after) == (2, 2)
    assert effect.verdict == "too_early"


def test_not_done_action_has_no_verdict(late_parcels, lead):
    action = actions.save_improvement_action(
        None, title="Plan", theme=late_parcels, status="planned", by=lead
    )
    assert queries.effectiveness(action).verdict == "not_done"


def test_action_needs_a_theme_or_policy(lead, db):
    with pytest.raises(LearningError) as error:
        actions.save_improvement_action(None, title="Vague", by=lead)
    assert error.value.code == "action_needs_subject"
    assert not ImprovementAction.objects.exists()


def test_publishing_tells_each_customer_once(late_parcels, manager, lead):
    # given a done action with public words; one customer opted out
    action = _done_action(
        late_parcels,
        lead,
        you_said="Parcels came late.",
        we_did="We added a second courier.",
    )
    opted = CaseTheme.objects.filter(theme=late_parcels).order_by("pk").first().case.customer
    opted.opted_out = True
    opted.save(update_fields=["opted_out"])
    # when published twice
    with time_machine.travel(DONE + dt.timedelta(days=1), tick=False):
        told = actions.publish_action(action, by=manager)
        again = actions.publish_action(action, by=manager)
    # then the 9 complainants of the 90 days before, less the opted-out one, were told once
    assert (told, again) == (8, 0)
    assert ActionNotice.objects.filter(action=action).count() == 8
    emails = OutgoingEmail.objects.filter(subject__startswith="You told us")
    assert emails.count() == 8
    assert "We added a second courier." in emails.first().text_body
    assert opted.pk not in set(ActionNotice.objects.values_list("customer_id", flat=True))


def test_publishing_refused_without_public_words(late_parcels, manager, lead):
    action = _done_action(late_parcels, lead)
    with pytest.raises(LearningError) as error:
        actions.publish_action(action, by=manager)
    assert error.value.code == "action_public_words_missing"
    action.refresh_from_db()
    assert action.published_at is None
    assert not OutgoingEmail.objects.exists()


def test_agent_may_not_publish(client, late_parcels, lead, agent):
    action = _done_action(late_parcels, lead, you_said="x", we_did="y")
    login(client, agent)
    response = client.post(reverse("learning:action-publish", args=[action.pk]))
    assert response.status_code == 403
    action.refresh_from_db()
    assert action.published_at is None
    assert not ActionNotice.objects.exists()


def test_public_page_needs_no_login_and_escapes_staff_text(client, late_parcels, manager, lead):
    action = _done_action(
        late_parcels,
        lead,
        you_said='Parcels late <script>alert("x")</script>',
        we_did="<img src=x onerror=alert(1)> & a second courier",
    )
    actions.publish_action(action, by=manager)
    response = client.get(reverse("learning:you-said-we-did"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; a second courier" in body
    assert "<img src=x" not in body and '<script>alert("x")' not in body


def test_unpublished_actions_stay_off_the_public_page(client, late_parcels, lead):
    _done_action(late_parcels, lead, you_said="Secret plan", we_did="Not yet")
    body = client.get(reverse("learning:you-said-we-did")).content.decode()
    assert "Secret plan" not in body
    assert "Nothing is listed yet." in body


def test_lead_plans_an_action_through_the_page(client, late_parcels, lead):
    login(client, lead)
    response = client.post(
        reverse("learning:action-new"),
        {"title": "Second courier", "theme": late_parcels.pk, "status": "in_progress"},
    )
    action = ImprovementAction.objects.get()
    assert response.status_code == 302
    assert (action.status, action.theme, action.completed_at) == ("in_progress", late_parcels, None)
    page = client.get(reverse("learning:action", args=[action.pk])).content.decode()
    assert "Not done yet" in page
    listing = client.get(reverse("learning:actions")).content.decode()
    assert "Second courier" in listing


def test_customer_counts_roll_up_each_day_once(late_parcels):
    # given customers created 60 days before DONE (12) and on the days of their complaints
    # when the roll-up runs on DONE + 2 days, and again the same day
    written = actions.refresh_customer_counts(at=DONE + dt.timedelta(days=2, hours=5))
    again = actions.refresh_customer_counts(at=DONE + dt.timedelta(days=2, hours=9))
    # then one row per day from the first customer's day to the day before, counted once
    counts = dict(CustomerCount.objects.values_list("day", "customers"))
    first, last = (DONE - dt.timedelta(days=60)).date(), (DONE + dt.timedelta(days=1)).date()
    assert (written, again, min(counts), max(counts)) == (62, 0, first, last)
    # 12 quiet customers, then one complainant on each of 45 and 29..22 days before
    assert counts[first] == 12
    assert counts[(DONE - dt.timedelta(days=45)).date()] == 13
    assert counts[(DONE - dt.timedelta(days=1)).date()] == 21
    assert counts[last] == 21
