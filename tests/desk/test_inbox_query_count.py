"""The inbox's statements do not grow with its rows, for every view, sort and filter."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from cherish.cases.models import Case
from cherish.desk import queries
from cherish.staff.actions import create_staff
from cherish.staff.models import AssignmentRule, Team
from tests.conftest import PASSWORD, fresh_cache, login, rolled_back
from tests.desk.test_inbox import EVERY_SORT, EVERY_VIEW, count_queries, open_cases

QUERY_COUNT_PATHS = [
    "/desk/",
    "/desk/?view=open",
    "/desk/?view=unassigned",
    "/desk/?view=at_risk",
    "/desk/?view=waiting",
    "/desk/?view=closed",
    "/desk/?view=team&kind=complaint&sort=-customer",
    "/desk/?view=open&owner=none&flag=leaving&topic=billing&opened_from=2020-01-01",
    *(f"/desk/?view=open&sort={sort}" for sort in EVERY_SORT),
    *(f"/desk/?view={view}&sort=-updated&flag=angry" for view in EVERY_VIEW),
    "/desk/?view=team&owner=1&team=1&topic=billing&opened_from=2020-01-01&opened_to=2030-01-01",
    "/desk/?view=open&team=999&channel=email&stage=received",
]


# Each path's statements are counted with 3 cases, then 27 cases more are opened, once for the
# module (in a transaction rolled back at its end; a module of its own, so no other test sees
# those cases): each of the 66 tests opened its own 30 cases, and they took 14.9 -> 3.8 s of the
# pytest process's CPU on SQLite, 15.8 -> 4.6 s on PostgreSQL (2026-12-02 05:00-05:45, load
# average 2.5-8). Each count is taken as a test's first request was, from a fresh cache.
@pytest.fixture(scope="module")
def counted_with_three(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker), pytest.MonkeyPatch.context() as patch:
        team = Team.objects.create(name="Inbox Care")
        agent = create_staff(
            username="ines",
            password=PASSWORD,
            display_name="Ines Inbox",
            email="ines@example.com",
            team=team,
        )
        AssignmentRule.objects.get_or_create(kind="complaint", team=team)
        client = login(Client(), agent)
        open_cases(3, prefix="Few")
        counts = {}
        for big in (False, True):
            if big:
                patch.setattr(queries, "COUNT_CAP", 2)
            for path in QUERY_COUNT_PATHS:
                fresh_cache()
                counts[path, big] = count_queries(client, path)
        patch.undo()
        open_cases(27, prefix="Many")
        yield {"counts": counts, "session": client.cookies[settings.SESSION_COOKIE_NAME].value}


@pytest.mark.parametrize("path", QUERY_COUNT_PATHS)
@pytest.mark.parametrize("big", [False, True], ids=["small-view", "big-view"])
def test_inbox_query_count_does_not_grow_with_rows(
    counted_with_three, db, client, path, big, monkeypatch, django_assert_num_queries
):
    # given: with a count cap of 2 every view is "big", and a page in another order than
    # the view's own takes the big-view path (an index read in order, or the outer join);
    # the page was counted with 3 cases (counted_with_three), and 27 more were opened
    if big:
        monkeypatch.setattr(queries, "COUNT_CAP", 2)
    client.cookies[settings.SESSION_COOKIE_NAME] = counted_with_three["session"]
    assert Case.objects.count() == 30
    # then
    with django_assert_num_queries(counted_with_three["counts"][path, big]):
        client.get(path)
