"""Working from the inbox: view counts, sort and filters, "Take it", bulk changes (each through
its own action, reported per case) and saved views."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cherish.cases import actions
from cherish.cases.models import Case, CaseEvent
from cherish.customers.actions import find_or_create_customer
from cherish.desk import queries
from cherish.desk.models import SavedView
from cherish.staff.actions import set_org_policy
from cherish.staff.models import AuditEntry, Staff
from tests.conftest import login
from tests.desk.test_inbox import open_cases, rows


def unassigned_cases(n, agent, *, prefix="Free"):
    """Cases opened while nobody is available: routed to the care team, owned by nobody."""
    available = list(Staff.objects.filter(is_available=True).values_list("pk", flat=True))
    Staff.objects.update(is_available=False)
    made = open_cases(n, prefix=prefix)
    Staff.objects.filter(pk__in=available).update(is_available=True)
    return made


def tab_counts(response):
    html = response.content.decode()
    import re

    return dict(re.findall(r'data-view="(\w+)"[^>]*>[^<]*<span class="count">([^<]+)</span>', html))


# -- views with counts, sort, filters, totals --------------------------------------------------


def test_tabs_show_each_views_count(desk_client, agent, other_agent):
    # given: 4 cases alternate between the two agents; one is at risk, one waits, one closed
    cases = open_cases(4)
    mine = [c for c in cases if c.owner_id == agent.pk]
    Case.objects.filter(pk=cases[1].pk).update(at_risk=True)
    actions.change_stage(mine[0], stage="waiting", by=agent)
    actions.change_stage(mine[1], stage="closed", by=agent)
    unassigned_cases(1, agent)
    # when
    counts = tab_counts(desk_client.get("/desk/"))
    # then
    assert counts == {
        "mine": "1",
        "unassigned": "1",
        "at_risk": "1",
        "team": "4",
        "open": "4",
        "waiting": "1",
        "closed": "1",
    }


def test_tab_counts_follow_the_data_and_the_clock(agent):
    # The counts' statement is compiled once per viewer (queries.view_counts): what it
    # counts must still be read afresh, and "recently closed" measured from now.
    cases = open_cases(2)
    actions.change_stage(cases[0], stage="closed", by=agent)
    first = queries.view_counts(agent)
    assert (first["team"].value, first["closed"].value) == (1, 1)
    open_cases(1, prefix="Later")
    assert queries.view_counts(agent)["team"].value == 2
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8), tick=False):
        assert queries.view_counts(agent)["closed"].value == 0
    assert queries.view_counts(agent)["closed"].value == 1


def test_counts_are_capped(desk_client, agent, monkeypatch):
    # given: caps of 1 for tabs and 2 for the total (99 and 1,000 in production), 3 cases
    monkeypatch.setattr(queries, "TAB_COUNT_CAP", 1)
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    open_cases(3)
    Case.objects.update(badges=["leaving"])
    # when
    response = desk_client.get("/desk/")
    flagged = desk_client.get("/desk/?flag=leaving")
    by_channel = desk_client.get("/desk/?channel=web")
    # then: a flag filter seeks its index and counts like any list; the channel, which has
    # no index, counts only to the tab cap
    assert tab_counts(response)["mine"] == "1+"
    assert "1–3 of 2+" in response.content.decode()
    assert "1–3 of 2+" in flagged.content.decode()
    assert "1–3 of 1+" in by_channel.content.decode()


def test_page_total_counts_the_filtered_list(desk_client, agent, customer):
    for i in range(52):
        actions.open_case(customer, text=f"Message {i}")
    html = desk_client.get("/desk/?page=2").content.decode()
    assert "51–52 of 52" in html


def test_sort_by_customer_both_ways(desk_client, agent):
    # given
    made = {}
    for name in ["Mia Zed", "Abe Young", "Kai Xu"]:
        person, _ = find_or_create_customer(name=name, email=f"{name.split()[0]}@example.com")
        made[name], _ = actions.open_case(person, text="A problem with my order.")
    by_name = [made[n].reference for n in sorted(made)]
    # then
    assert rows(desk_client.get("/desk/?view=open&sort=customer")) == by_name
    assert rows(desk_client.get("/desk/?view=open&sort=-customer")) == by_name[::-1]
    html = desk_client.get("/desk/?view=open&sort=customer").content.decode()
    assert 'aria-sort="ascending"><a href="?view=open&amp;sort=-customer"' in html


def test_filters_by_owner_team_flag_and_date(desk_client, agent, other_agent):
    # given
    cases = open_cases(4)
    theirs = [c for c in cases if c.owner_id == other_agent.pk]
    Case.objects.filter(pk=theirs[0].pk).update(badges=["leaving", "angry"])
    old = cases[0]
    Case.objects.filter(pk=old.pk).update(created_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    refs = {c.reference for c in cases}
    # then
    owner_url = f"/desk/?view=open&owner={other_agent.pk}"
    assert set(rows(desk_client.get(owner_url))) == {c.reference for c in theirs}
    team_url = f"/desk/?view=open&team={agent.team_id}"
    assert set(rows(desk_client.get(team_url))) == refs
    assert rows(desk_client.get("/desk/?view=open&flag=leaving")) == [theirs[0].reference]
    assert rows(desk_client.get("/desk/?view=open&flag=legal")) == []
    dated = "/desk/?view=open&opened_from=2024-04-30&opened_to=2024-05-01"
    response = desk_client.get(dated)
    assert rows(response) == [old.reference]
    assert (
        '<time datetime="2024-05-01T00:00:00+00:00">1 May 2024</time>' in response.content.decode()
    )


def test_breach_column_shows_the_next_clock_in_business_time(desk_client, agent, care_defaults):
    # given: a complaint opened on Monday 09:00 UTC (nine-to-five by default)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        open_cases(1)
    # when: an hour later, nobody has replied yet
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        html = desk_client.get("/desk/").content.decode()
    # then
    assert '<span class="breach breach-' in html
    assert "reply in " in html


# -- take it ----------------------------------------------------------------------------------


def test_take_it_makes_an_unassigned_case_mine(desk_client, agent):
    # given
    (case,) = unassigned_cases(1, agent)
    # when
    response = desk_client.post(f"/desk/inbox/take/{case.reference}/", {"next": "/desk/"})
    # then
    assert response.status_code == 302 and response["Location"] == "/desk/"
    case.refresh_from_db()
    assert case.owner_id == agent.pk
    taken = CaseEvent.objects.filter(case=case).order_by("id").last()
    assert (taken.type, taken.data["rule"], taken.actor) == ("case.owner_assigned", "taken", agent)


def test_take_it_refuses_a_case_someone_owns(desk_client, agent, other_agent):
    # given
    case = next(c for c in open_cases(2) if c.owner_id == other_agent.pk)
    before = CaseEvent.objects.filter(case=case).count()
    # when
    response = desk_client.post(f"/desk/inbox/take/{case.reference}/", follow=True)
    # then
    case.refresh_from_db()
    assert case.owner_id == other_agent.pk
    assert CaseEvent.objects.filter(case=case).count() == before
    assert "Someone already owns this case" in response.content.decode()


def test_take_it_on_another_teams_case_is_not_found(client, agent, billing_agent):
    (case,) = unassigned_cases(1, agent)  # routed to the care team
    response = login(client, billing_agent).post(f"/desk/inbox/take/{case.reference}/")
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.owner_id is None


# -- bulk changes -----------------------------------------------------------------------------


def test_bulk_assign_writes_one_event_per_case(desk_client, agent, other_agent):
    # given
    cases = unassigned_cases(3, agent)
    # when
    response = desk_client.post(
        "/desk/inbox/bulk/",
        {
            "cases": [c.reference for c in cases],
            "action": "assign",
            "to": other_agent.pk,
            "text": "Bob knows these customers well.",
            "next": "/desk/?view=unassigned",
        },
        follow=True,
    )
    # then
    assert "3 of 3 cases changed." in response.content.decode()
    assert set(Case.objects.values_list("owner_id", flat=True)) == {other_agent.pk}
    assert CaseEvent.objects.filter(type="case.owner_changed").count() == 3


def test_bulk_close_reports_each_refusal_and_keeps_the_rest(desk_client, agent, care_defaults):
    # given: a complaint cannot close without a resolution; an answered inquiry may
    complaint, inquiry = open_cases(2)
    actions.change_kind(inquiry, kind="inquiry", by=agent)
    actions.reply_to_customer(inquiry, text="Here is the answer you asked for.", by=agent)
    # when
    response = desk_client.post(
        "/desk/inbox/bulk/",
        {"cases": [complaint.reference, inquiry.reference], "action": "close", "text": ""},
        follow=True,
    )
    # then
    html = response.content.decode()
    complaint.refresh_from_db()
    inquiry.refresh_from_db()
    assert "1 of 2 cases changed." in html
    assert f"{complaint.reference}: Before you close this case" in html
    assert complaint.is_open and not inquiry.is_open
    assert not CaseEvent.objects.filter(case=complaint, type="case.closed").exists()


def test_bulk_take_of_another_teams_cases_is_refused_per_case_and_audited(
    client, agent, billing_agent
):
    # given: everyone may read every team's cases, but only work their own team's
    set_org_policy(other_teams_may_read=True, by=None)
    theirs = unassigned_cases(2, agent)
    audits = AuditEntry.objects.count()
    # when
    response = login(client, billing_agent).post(
        "/desk/inbox/bulk/",
        {"cases": [c.reference for c in theirs] + ["CH-222222"], "action": "take"},
        follow=True,
    )
    # then
    html = response.content.decode()
    assert "belongs to another team" in html
    assert "CH-222222: No such case." in html
    assert "cases changed" not in html
    assert set(Case.objects.values_list("owner_id", flat=True)) == {None}
    assert not CaseEvent.objects.filter(type="case.owner_assigned", data__rule="taken").exists()
    assert AuditEntry.objects.count() == audits + 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "note"}, "Select at least one case."),
        ({"cases": ["CH-222222"], "action": "assign"}, "Choose who takes the cases over."),
        ({"cases": ["CH-222222"], "action": "kind"}, "Choose the new kind."),
        ({"cases": ["CH-222222"], "action": "note"}, "Write the note first."),
    ],
)
def test_bulk_form_errors_change_nothing(desk_client, agent, data, message):
    (case,) = open_cases(1)
    events = CaseEvent.objects.count()
    response = desk_client.post("/desk/inbox/bulk/", data, follow=True)
    assert message in response.content.decode()
    assert CaseEvent.objects.count() == events
    case.refresh_from_db()
    assert case.owner_id == agent.pk


def test_bulk_kind_and_note(desk_client, agent):
    cases = open_cases(2)
    refs = [c.reference for c in cases]
    desk_client.post("/desk/inbox/bulk/", {"cases": refs, "action": "kind", "kind": "inquiry"})
    desk_client.post("/desk/inbox/bulk/", {"cases": refs, "action": "note", "text": "Batch."})
    for case in cases:
        case.refresh_from_db()
        assert case.kind == "inquiry"
        assert case.messages.filter(direction="note", body_text="Batch.").count() == 1


# -- saved views -------------------------------------------------------------------------------


def test_save_a_view_then_open_and_delete_it(desk_client, agent, other_agent):
    # given
    here = "/desk/?view=open&flag=leaving&sort=-updated&q=carla&page=2"
    # when
    response = desk_client.post("/desk/inbox/views/", {"name": "Leaving", "next": here})
    # then: kept without the search words or the page
    saved = SavedView.objects.get()
    assert (saved.staff, saved.name) == (agent, "Leaving")
    assert saved.params == {"view": "open", "flag": "leaving", "sort": "-updated"}
    assert response["Location"] == "/desk/?view=open&flag=leaving&sort=-updated"
    assert '<a href="?view=open&amp;flag=leaving&amp;sort=-updated">Leaving</a>' in (
        desk_client.get("/desk/").content.decode()
    )
    # and: the same name twice is refused; another agent cannot delete it
    again = desk_client.post("/desk/inbox/views/", {"name": "Leaving"}, follow=True)
    assert "You already have a view with that name." in again.content.decode()
    assert SavedView.objects.count() == 1
    other = login(desk_client.__class__(), other_agent)
    assert other.post(f"/desk/inbox/views/{saved.pk}/delete/").status_code == 404
    assert desk_client.post(f"/desk/inbox/views/{saved.pk}/delete/").status_code == 302
    assert SavedView.objects.count() == 0
