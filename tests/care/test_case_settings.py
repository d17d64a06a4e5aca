"""The case page's care settings in one statement: the same answers as the functions it
stands for (flow_for, schedule_for_team, target_for, owner_events_of), on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

from cherish.care import queries, workflow
from cherish.care.models import BusinessHours, Holiday, Target, WorkflowStage, WorkingDay
from cherish.cases import actions as case_actions


def _one_by_one(case):
    return queries.CaseSettings(
        flow=queries.flow_for(case.kind),
        schedule=queries.schedule_for_team(case.team_id),
        target=queries.target_for(case),
        owner_events=queries.owner_events_of(case),
    )


def test_defaults_when_nothing_is_configured(complaint, django_assert_num_queries):
    # given: none of the seeded flows and targets
    WorkflowStage.objects.all().delete()
    Target.objects.all().delete()
    with django_assert_num_queries(1):
        found = queries.case_settings(complaint)
    assert found == _one_by_one(complaint)
    assert found.target == (None, None)
    assert found.flow == workflow.default_flow(complaint.kind)


def test_the_organisations_flow_hours_holidays_target_and_owner_events(
    complaint, care_team, agent, other_agent, django_assert_num_queries
):
    # given: flows of the case's kind and another (instead of the seeded ones), the team's
    # hours (split days, closed days), the organisation's hours too, holidays of the team and
    # of everyone, a target, a handover
    WorkflowStage.objects.all().delete()
    Target.objects.all().delete()
    WorkflowStage.objects.create(
        kind=complaint.kind,
        stage="listening",
        label="Hear them out",
        order=2,
        checklist="Listen\n\n  Thank them  \n",
        required=["fair_outcome"],
    )
    WorkflowStage.objects.create(kind=complaint.kind, stage="received", label="In", order=1)
    WorkflowStage.objects.create(kind="inquiry", stage="received", label="Other kind", order=1)
    BusinessHours.objects.create(team=None, time_zone="UTC")
    hours = BusinessHours.objects.create(team=care_team, time_zone="Europe/Berlin")
    WorkingDay.objects.create(hours=hours, weekday=0, start=dt.time(13), end=dt.time(17, 30))
    WorkingDay.objects.create(hours=hours, weekday=0, start=dt.time(8), end=dt.time(12))
    WorkingDay.objects.create(hours=hours, weekday=2, start=dt.time(9), end=dt.time(17))
    Holiday.objects.create(team=care_team, date=dt.date(2026, 12, 24), name="Christmas Eve")
    Holiday.objects.create(team=None, date=dt.date(2026, 12, 25), name="Christmas")
    Target.objects.create(
        kind=complaint.kind,
        severity=complaint.severity,
        first_response_business_minutes=45,
        resolution_business_minutes=960,
    )
    case_actions.reassign_case(complaint, to=other_agent, note="Over to you.", by=agent)
    complaint.refresh_from_db()
    # when
    with django_assert_num_queries(1):
        found = queries.case_settings(complaint)
    # then
    assert found == _one_by_one(complaint)
    assert [step.stage for step in found.flow] == ["received", "listening"]
    assert found.flow[1].checklist == ("Listen", "Thank them")
    assert found.flow[1].required == ("fair_outcome",)
    assert str(found.schedule.tz) == "Europe/Berlin"
    assert found.schedule.days[0] == ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17, 30)))
    assert found.schedule.holidays == {dt.date(2026, 12, 24), dt.date(2026, 12, 25)}
    assert found.target == (45, 960)
    assert [event["type"] for event in found.owner_events] == [
        "case.owner_assigned",
        "case.owner_changed",
    ]
