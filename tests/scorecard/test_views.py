"""The scorecard pages through the desk: who may see them, what they show, CSV exports."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from tests.conftest import login
from tests.scorecard.conftest import TODAY, fresh

from cherish.staff.models import Role, Team


# One dataset for the module (conftest's built_once); some tests change a person's role or a
# team's lead, so each gets its own copies of the objects, read again. The 18 tests took
# 5.2 -> 0.55 s of the pytest process's CPU on SQLite, 4.5 -> 0.85 s on PostgreSQL
# (2026-12-02 05:36-05:41, load average 2-5).
@pytest.fixture
def built(built_once, db):
    return fresh(built_once)


@pytest.fixture
def as_manager(client, built):
    return login(client, built["manager"])


@pytest.fixture
def travel():
    with time_machine.travel(TODAY, tick=False):
        yield


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_agents_may_not_see_the_scorecard(client, built, travel):
    login(client, built["alice"])
    assert client.get("/desk/scorecard/").status_code == 403
    assert client.get("/desk/scorecard/cases/?figure=complaints").status_code == 403


def test_anonymous_visitors_go_to_login(client, built):
    response = client.get("/desk/scorecard/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_scorecard_shows_every_figure_with_chart_and_data_table(as_manager, travel):
    response = as_manager.get("/desk/scorecard/?period=week")
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("complaints", "recovery_rate", "nps", "call_once", "within_expectation"):
        assert f'id="figure-{key}"' in html
        assert f'id="chart-{key}-data"' in html
        assert f'aria-describedby="chart-{key}-data"' in html
    assert '<p class="value" data-value="2.0">2</p>' in html  # complaints this week
    assert "Previous period: 1 (change +1)" in html
    assert 'data-points="2"' in html  # complaints: W1 and W0 have data
    assert "The 7 Cs" in html and "Compressed cycle times" in html
    assert "about <strong>26</strong> unhappy customers say nothing" in html
    assert "<strong>3 days</strong> (median of 3 answers" in html


def test_filters_change_the_figures(as_manager, travel):
    html = as_manager.get("/desk/scorecard/?period=week&channel=email").content.decode()
    assert '<p class="value" data-value="1.0">1</p>' in html


@pytest.mark.parametrize(
    ("table", "first_row"),
    [
        (
            "figures",
            ["figure", "key", "seven_c", "this_period", "previous_period", "unit", "definition"],
        ),
        (
            "trend",
            [
                "figure",
                *[f"2025-12-{d}" for d in ("29",)],
                *[
                    f"2026-{m}"
                    for m in (
                        "01-05",
                        "01-12",
                        "01-19",
                        "01-26",
                        "02-02",
                        "02-09",
                        "02-16",
                        "02-23",
                        "03-02",
                        "03-09",
                        "03-16",
                    )
                ],
            ],
        ),
        ("channels", ["channel", "cases_received", "complaints", "share_percent"]),
        ("loyalty", ["level", "answers", "share_percent"]),
        ("leave_reasons", ["reason", "customers", "share_percent", "benchmark_percent"]),
    ],
)
def test_every_table_exports_as_csv(as_manager, travel, table, first_row):
    rows = rows_of(as_manager.get(f"/desk/scorecard/?period=week&format=csv&table={table}"))
    assert rows[0] == first_row
    if table == "figures":
        complaints = next(r for r in rows if r[1] == "complaints")
        assert complaints[3:5] == ["2", "1"]
    if table == "channels":
        assert rows[1:] == [
            ["Email", "1", "1", "33.3"],
            ["Phone call", "1", "0", "33.3"],
            ["Web form", "1", "1", "33.3"],
        ]


def test_drill_down_lists_the_cases_behind_a_figure(as_manager, built, travel):
    c1, c2 = built["cases"]["c1"], built["cases"]["c2"]
    html = as_manager.get("/desk/scorecard/cases/?figure=complaints&period=week").content.decode()
    assert c1.reference in html and c2.reference in html
    assert built["cases"]["c6"].reference not in html  # previous week
    rows = rows_of(as_manager.get("/desk/scorecard/cases/?figure=call_once&period=week&format=csv"))
    assert [r[0] for r in rows[1:]] == [c2.reference]  # the one that broke "call once"
    previous = as_manager.get(
        "/desk/scorecard/cases/?figure=complaints&period=week&window=previous"
    ).content.decode()
    assert built["cases"]["c6"].reference in previous


def test_drill_down_of_answers(as_manager, built, travel):
    rows = rows_of(as_manager.get("/desk/scorecard/cases/?figure=nps&period=week&format=csv"))
    assert sorted(r[5] for r in rows[1:]) == ["10", "3"]


def test_unknown_figure_is_not_found(as_manager, travel):
    assert as_manager.get("/desk/scorecard/cases/?figure=nope").status_code == 404
    assert as_manager.get("/desk/scorecard/cases/?figure=silent_unhappy").status_code == 404


def test_people_view_agent_sees_only_themself(client, built, travel):
    login(client, built["bob"])
    rows = rows_of(client.get("/desk/scorecard/people/?period=week&format=csv"))
    assert rows == [
        [
            "person",
            "team",
            "satisfied_percent",
            "answers",
            "recoveries",
            "commitments_on_time_percent",
            "compliments",
        ],
        ["Bob Other", "Customer Care", "0", "1", "0", "0", "0"],
    ]


def test_people_view_manager_sees_everyone_and_teams(as_manager, built, travel):
    rows = rows_of(as_manager.get("/desk/scorecard/people/?period=week&format=csv"))
    by_name = {r[0]: r for r in rows[1:]}
    # alice: c1's answer (5), c1 well recovered, her commitment kept on time
    assert by_name["Alice Agent"][2:] == ["100", "1", "1", "100", "0"]
    teams = rows_of(as_manager.get("/desk/scorecard/people/?period=week&format=csv&table=teams"))
    assert teams[1] == ["Customer Care", "3", "50", "2", "1", "50", "0"]
    html = as_manager.get("/desk/scorecard/people/").content.decode()
    assert "We do not count calls or handling time" in html


def test_a_team_lead_sees_the_scorecard(client, built, travel):
    lead = built["bob"]
    lead.role = Role.LEAD
    lead.save(update_fields=["role"])
    login(client, lead)
    assert client.get("/desk/scorecard/").status_code == 200


def test_a_lead_sees_only_the_figures_of_the_teams_they_lead(client, built, travel):
    # given Bob leads Customer Care; c3 (the phone inquiry) belongs to Sales & Service
    care, bob = built["care"], built["bob"]
    service = Team.objects.get(name="Sales & Service")
    bob.role = Role.LEAD
    bob.save(update_fields=["role"])
    care.lead = bob
    care.save(update_fields=["lead"])
    login(client, bob)
    # when he opens the scorecard without choosing a team
    html = client.get("/desk/scorecard/?period=week").content.decode()
    channels = rows_of(client.get("/desk/scorecard/?period=week&format=csv&table=channels"))
    # then he sees his team's figures only: no "all teams", no other team, no leave reasons
    assert f'<option value="{care.pk}" selected>Customer Care</option>' in html
    assert "All teams" not in html and "Sales &amp; Service" not in html
    assert 'id="leave-reasons"' not in html
    assert channels[1:] == [["Email", "1", "1", "50.0"], ["Web form", "1", "1", "50.0"]]
    # and another team's figures and cases, and the organisation-wide table, are refused
    assert client.get(f"/desk/scorecard/?team={service.pk}").status_code == 403
    assert client.get("/desk/scorecard/?team=*&format=csv&table=figures").status_code == 200
    drill = f"/desk/scorecard/cases/?figure=complaints&period=week&team={service.pk}"
    assert client.get(drill).status_code == 403
    assert client.get("/desk/scorecard/?format=csv&table=leave_reasons").status_code == 404


def test_a_manager_sees_every_team_and_the_organisation(as_manager, built, travel):
    html = as_manager.get("/desk/scorecard/?period=week").content.decode()
    assert '<option value="*">All teams</option>' in html and "Sales &amp; Service" in html
    assert 'id="leave-reasons"' in html
    channels = rows_of(as_manager.get("/desk/scorecard/?period=week&format=csv&table=channels"))
    assert [r[0] for r in channels[1:]] == ["Email", "Phone call", "Web form"]


def test_people_view_lead_sees_the_people_of_the_teams_they_lead(client, built, travel):
    # given Bob leads Customer Care; Sam works in Sales & Service
    from cherish.staff.actions import create_staff

    care, bob = built["care"], built["bob"]
    create_staff(
        username="sam",
        password="x-pass-123",
        display_name="Sam Service",
        team=Team.objects.get(name="Sales & Service"),
    )
    bob.role = Role.LEAD
    bob.save(update_fields=["role"])
    care.lead = bob
    care.save(update_fields=["lead"])
    login(client, bob)
    # when
    rows = rows_of(client.get("/desk/scorecard/people/?period=week&format=csv"))
    teams = rows_of(client.get("/desk/scorecard/people/?period=week&format=csv&table=teams"))
    # then his team's people (and their figures), never another team's
    assert [r[0] for r in rows[1:]] == ["Alice Agent", "Bob Other", "Mia Manager"]
    assert [t[0] for t in teams[1:]] == ["Customer Care"]
