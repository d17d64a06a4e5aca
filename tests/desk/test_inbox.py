"""The desk inbox through the real HTTP stack: views, filters, search, pages, query counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cherish.cases import actions
from cherish.cases.models import Case
from cherish.core.clock import now
from cherish.customers.actions import find_or_create_customer
from cherish.desk import queries


def rows(response):
    """References listed in an inbox response, in order."""
    html = response.content.decode()
    return re.findall(r'class="inbox-row-ref" href="/desk/cases/(CH-[A-Z0-9]{6})/"', html)


def open_cases(n, *, prefix="Customer"):
    made = []
    for i in range(n):
        person, _ = find_or_create_customer(
            name=f"{prefix} {i}", email=f"{prefix.lower()}{i}@example.com"
        )
        case, _ = actions.open_case(person, text=f"Problem number {i} with my order.")
        made.append(case)
    return made


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# -- inbox -----------------------------------------------------------------------------------


def test_inbox_mine_lists_my_open_cases_by_priority(desk_client, agent, other_agent, customer):
    # given: round-robin alternates between the two agents
    cases = open_cases(4)
    mine = [c for c in cases if c.owner_id == agent.pk]
    urgent = mine[-1]
    actions.change_severity(urgent, severity="critical", by=agent)
    closed = mine[0]
    actions.change_stage(closed, stage="closed", by=agent)
    # when
    response = desk_client.get("/desk/")
    # then
    assert response.status_code == 200
    assert rows(response)[0] == urgent.reference
    assert set(rows(response)) == {c.reference for c in mine if c != closed}


def test_inbox_views_and_filters(desk_client, agent, other_agent):
    # given
    cases = open_cases(4)
    theirs = next(c for c in cases if c.owner_id == other_agent.pk)
    Case.objects.filter(pk=theirs.pk).update(at_risk=True)
    inquiry = cases[0]
    actions.change_kind(inquiry, kind="inquiry", by=agent)
    # then
    all_refs = {c.reference for c in cases}
    assert set(rows(desk_client.get("/desk/?view=open"))) == all_refs
    assert set(rows(desk_client.get("/desk/?view=team"))) == all_refs
    assert rows(desk_client.get("/desk/?view=at_risk")) == [theirs.reference]
    assert rows(desk_client.get("/desk/?view=attention")) == [theirs.reference]  # old bookmark
    assert rows(desk_client.get("/desk/?view=open&kind=inquiry")) == [inquiry.reference]
    assert rows(desk_client.get("/desk/?view=open&channel=email")) == []
    assert set(rows(desk_client.get("/desk/?view=open&stage=received"))) == all_refs


def test_unassigned_cases_show_in_unassigned_view(desk_client, agent, customer):
    # given: no one is available, so the case has no owner
    agent.is_available = False
    agent.save()
    case, _ = actions.open_case(customer, text="Anyone there?")
    assert case.owner is None
    # then
    response = desk_client.get("/desk/?view=unassigned")
    assert rows(response) == [case.reference]
    assert "Unassigned" in response.content.decode()


def test_inbox_htmx_request_gets_only_the_list(desk_client, agent):
    open_cases(2)
    response = desk_client.get("/desk/?view=open", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="inbox-results"')
    assert "<html" not in html
    assert 'id="inbox-view" value="open" hx-swap-oob="true"' in html
    assert "HX-Request" in response["Vary"]


def test_inbox_pages_by_fifty(desk_client, agent, customer):
    # given
    for i in range(51):
        actions.open_case(customer, text=f"Message {i}")
    # when
    first = desk_client.get("/desk/")
    second = desk_client.get("/desk/?page=2")
    # then
    assert len(rows(first)) == 50 and len(rows(second)) == 1
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' in second.content.decode()
    assert set(rows(first)).isdisjoint(rows(second))


@pytest.mark.parametrize(
    "query",
    [
        "{ref}",
        "{ref_lower}",
        "{ref_bare}",
        "CARLA@example.com",
        "020 7946 0018",
        "carla",
        "Carla Cust",
        "parcel",
        "PARCEL broken",
    ],
)
def test_search_finds_the_case(desk_client, complaint, query):
    # given: another customer's case that must not match
    other, _ = find_or_create_customer(name="Zoe Other", email="zoe@example.com")
    actions.open_case(other, text="The invoice total is wrong.")
    ref = complaint.reference
    q = query.format(ref=ref, ref_lower=ref.lower(), ref_bare=ref[3:].lower())
    # when
    response = desk_client.get("/desk/", {"q": q})
    # then
    assert rows(response) == [ref]
    assert "across all cases" in response.content.decode()


def test_search_includes_closed_cases_and_says_when_nothing_matches(desk_client, complaint, agent):
    actions.change_stage(complaint, stage="closed", by=agent)
    assert rows(desk_client.get("/desk/", {"q": "parcel"})) == [complaint.reference]
    response = desk_client.get("/desk/", {"q": "xylophone"})
    assert rows(response) == []
    assert "No cases match “xylophone”." in response.content.decode()


# Session, user, and staff with the organisation policy and "more teams" mark (3: no team or
# policy query of their own for an agent of one team); the page and its total (2); breach
# clocks (5); the seven tab counts (one statement); owner and team lists (2); saved views;
# unread marks (2); the creed.
INBOX_QUERIES = 17


def test_inbox_query_count(desk_client, agent):
    open_cases(3)
    assert count_queries(desk_client, "/desk/") == INBOX_QUERIES


EVERY_VIEW = list(queries.INBOX_VIEWS)
EVERY_SORT = [f"{way}{key}" for key in queries.SORTS for way in ("", "-")]


@pytest.fixture
def varied_cases(agent, other_agent):
    """Open cases with different customers, subjects, stages, owners (some unassigned) and
    times, and two closed ones, so every sort puts them in a different order."""
    cases = open_cases(14, prefix="Varied")
    stages = ["received", "listening", "waiting", "responding"]
    for i, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(
            subject=f"About {(i * 7) % 5}",
            stage=stages[i % 4],
            owner=None if i % 5 == 0 else (agent if i % 2 else other_agent),
            created_at=case.created_at - dt.timedelta(hours=(i * 5) % 11),
            updated_at=case.updated_at - dt.timedelta(hours=(i * 3) % 7),
            badges=["angry"] if i % 3 == 0 else [],
        )
        case.customer.name = f"Customer {'ZYXWVUTSRQPONM'[i]}" if i % 4 else "Same Name"
        case.customer.save(update_fields=["name"])
    for case in cases[-2:]:
        Case.objects.filter(pk=case.pk).update(is_open=False, stage="closed", closed_at=now())
    return cases


@pytest.mark.parametrize("view", ["mine", "unassigned", "team", "open", "waiting", "closed"])
def test_big_views_list_the_same_pages_in_every_order(desk_client, varied_cases, view, monkeypatch):
    """A view over the count cap is read another way for a sort that is not its own order
    (an open-only index read in that order; customers or staff as the outer loop): the same
    cases in the same order as the plain query lists them."""
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    for sort in EVERY_SORT:
        for extra in ("", "&flag=angry", "&page=2", "&page=3", "&opened_from=2020-01-01"):
            path = f"/desk/?view={view}&sort={sort}{extra}"
            monkeypatch.setattr(queries, "COUNT_CAP", 1000)
            plain = rows(desk_client.get(path))
            monkeypatch.setattr(queries, "COUNT_CAP", 1)
            assert rows(desk_client.get(path)) == plain, path


def test_every_case_flag_has_its_inbox_index():
    from cherish.cases.models import FLAGS
    from cherish.triage.case_signals import CASE_FLAGS

    # The inbox filters by any flag triage raises through cases' per-flag partial index.
    assert set(CASE_FLAGS) == set(FLAGS)
