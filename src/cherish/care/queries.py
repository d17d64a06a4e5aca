"""Reads for the care panel, the due page, the API and the clock checks. No writes."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils.translation import gettext

from cherish.care import clocks, tone, workflow
from cherish.care.business_hours import (
    Schedule,
    business_seconds_between,
    default_schedule,
    end_of_working_day,
)
from cherish.care.models import (
    GIVEN_STATUSES,
    AuthorityLimit,
    BusinessHours,
    CareState,
    CaseLink,
    CaseMerge,
    Collaborator,
    Commitment,
    CommitmentHow,
    CommitmentStatus,
    Complexity,
    EscalationBody,
    ExternalEscalation,
    FollowUpOutcome,
    Gesture,
    GestureStatus,
    GestureType,
    Holiday,
    Impact,
    Snippet,
    Target,
    TonePhrase,
    WorkflowStage,
    WorkingDay,
)
from cherish.care.workflow import StageConfig, default_flow
from cherish.cases.access import visible_cases
from cherish.cases.models import Case, CaseEvent, Severity, Stage
from cherish.core.clock import now
from cherish.staff.access import leads_team, scope_of, works_for_team
from cherish.staff.models import Role, Staff, Team

OWNER_EVENT_TYPES = ("case.owner_assigned", "case.owner_changed")


# --- configuration -----------------------------------------------------------------------


def flow_for(kind: str) -> list[StageConfig]:
    """The kind's stages in order: the organisation's rows, or the defaults."""
    rows = list(WorkflowStage.objects.filter(kind=kind).order_by("order", "id"))
    return _flow_from_rows(
        kind, [(row.stage, row.label, row.order, row.checklist, row.required) for row in rows]
    )


def _flow_from_rows(kind: str, rows: list[tuple[str, str, int, str, Any]]) -> list[StageConfig]:
    """StageConfigs from (stage, label, order, checklist text, required list) rows in order,
    or the kind's default flow when the organisation has none."""
    if not rows:
        return default_flow(kind)
    return [
        StageConfig(
            kind=kind,
            stage=stage,
            # As seeded, in the reader's language; reworded in the admin, as written.
            label=gettext(label),
            order=order,
            checklist=tuple(
                gettext(line.strip()) for line in checklist.splitlines() if line.strip()
            ),
            required=tuple(str(item) for item in (required or [])),
        )
        for stage, label, order, checklist, required in rows
    ]


def stage_config(flow: list[StageConfig], stage: str) -> StageConfig | None:
    return next((config for config in flow if config.stage == stage), None)


def schedule_for_team(team_id: int | None) -> Schedule:
    """The team's business hours (or the organisation's, or nine-to-five UTC) with holidays.

    Two queries: the hours rows joined to their working days, and the holidays.
    """
    rows = (
        BusinessHours.objects.filter(Q(team_id=team_id) | Q(team__isnull=True))
        .order_by("id", "days__weekday", "days__start")
        .values_list("team_id", "time_zone", "days__weekday", "days__start", "days__end")
    )
    holidays = Holiday.objects.filter(Q(team_id=team_id) | Q(team__isnull=True)).values_list(
        "date", flat=True
    )
    return _schedule_from_rows(team_id, rows, holidays)


ScheduleRow = tuple[int | None, str, int | None, dt.time | None, dt.time | None]


def _schedule_from_rows(
    team_id: int | None, rows: Iterable[ScheduleRow], holidays: Iterable[dt.date]
) -> Schedule:
    """The team's schedule from its hours rows (team, zone, weekday, start, end; ordered by
    the hours row, weekday and start) or the organisation's, else nine-to-five UTC."""
    found: dict[int | None, tuple[str, dict[int, list[tuple[dt.time, dt.time]]]]] = {}
    for row_team, zone, weekday, start, end in rows:
        _, week = found.setdefault(row_team, (zone, defaultdict(list)))
        if weekday is not None and start is not None and end is not None:
            week[weekday].append((start, end))
    chosen = found.get(team_id) if team_id is not None else None
    chosen = chosen or found.get(None)
    if chosen is None:
        base = default_schedule()
        return Schedule(tz=base.tz, days=base.days, holidays=frozenset(holidays))
    zone, week = chosen
    return Schedule.build(zone, week, holidays)


class ScheduleCache:
    """Schedules per team within one run (a task, a page), loaded once each."""

    def __init__(self) -> None:
        self._by_team: dict[int | None, Schedule] = {}

    def get(self, team_id: int | None) -> Schedule:
        if team_id not in self._by_team:
            self._by_team[team_id] = schedule_for_team(team_id)
        return self._by_team[team_id]


def targets_map() -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, severity) → (first response, resolution) in business minutes."""
    return {
        (t.kind, t.severity): (t.first_response_business_minutes, t.resolution_business_minutes)
        for t in Target.objects.all()
    }


def target_for(case: Case) -> tuple[int | None, int | None]:
    found = Target.objects.filter(kind=case.kind, severity=case.severity).first()
    if found is None:
        return None, None
    return found.first_response_business_minutes, found.resolution_business_minutes


def care_state_of(case: Case) -> CareState:
    """The case's care state, or an unsaved blank one (reads never create rows)."""
    state = CareState.objects.filter(case_id=case.pk).first()
    return state if state is not None else CareState(case_id=case.pk)


def recorded_facts(case: Case, state: CareState) -> set[str]:
    """Which requirements (see workflow.REQUIREMENT_MESSAGES) a case has met."""
    facts = set()
    if state.fair_outcome:
        facts.add("fair_outcome")
    if state.resolution:
        facts.add("resolution")
    if state.plus_one:
        facts.add("plus_one")
    if state.follow_up_outcome:
        facts.add("follow_up")
    if state.assessed_at is not None:
        facts.add("assessment")
    if case.first_response_at is not None:
        facts.add("personal_reply")
    return facts


# --- clocks ------------------------------------------------------------------------------


def owner_events_of(case: Case) -> list[dict[str, Any]]:
    rows = (
        CaseEvent.objects.filter(case=case, type__in=OWNER_EVENT_TYPES)
        .order_by("created_at", "id")
        .values_list("type", "data")
    )
    return [{"type": type_, "data": data} for type_, data in rows]


@dataclass(frozen=True)
class CaseSettings:
    """What the case's care workflow and clocks read besides the case: its kind's flow, its
    team's schedule, its kind and severity's target, and its owner events."""

    flow: list[StageConfig]
    schedule: Schedule
    target: tuple[int | None, int | None]
    owner_events: list[dict[str, Any]]
    # Whether the case has any commitments or gestures: most have none, and then the page
    # skips their queries (Django building each cost more than the rest of the panel).
    # Not part of equality: the functions it stands for do not say.
    has_commitments: bool = field(default=True, compare=False)
    has_gestures: bool = field(default=True, compare=False)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _sql_time(value: Any) -> dt.time | None:
    if value is None or isinstance(value, dt.time):
        return value
    return dt.time.fromisoformat(str(value))


def _sql_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def case_settings(case: Case) -> CaseSettings:
    """``flow_for``, ``schedule_for_team``, ``target_for`` and ``owner_events_of`` for one
    case in a single plain statement (the case page reads them on every view; Django spent
    more CPU building the five queries than SQLite spends running them). Every part is
    cast to text so the UNION has one type per column on PostgreSQL too; each part is then
    read exactly as the function it stands for does."""
    types = ", ".join(["%s"] * len(OWNER_EVENT_TYPES))
    sql = f"""
        SELECT 0, w.id, w.stage, w.label, CAST(w."order" AS TEXT), w.checklist,
               CAST(w.required AS TEXT)
          FROM {WorkflowStage._meta.db_table} w WHERE w.kind = %s
        UNION ALL
        SELECT 1, t.id, CAST(t.first_response_business_minutes AS TEXT),
               CAST(t.resolution_business_minutes AS TEXT), NULL, NULL, NULL
          FROM {Target._meta.db_table} t WHERE t.kind = %s AND t.severity = %s
        UNION ALL
        SELECT 2, h.id, CAST(h.team_id AS TEXT), h.time_zone, CAST(d.weekday AS TEXT),
               CAST(d.start AS TEXT), CAST(d."end" AS TEXT)
          FROM {BusinessHours._meta.db_table} h
          LEFT JOIN {WorkingDay._meta.db_table} d ON d.hours_id = h.id
         WHERE h.team_id = %s OR h.team_id IS NULL
        UNION ALL
        SELECT 3, x.id, CAST(x.date AS TEXT), NULL, NULL, NULL, NULL
          FROM {Holiday._meta.db_table} x WHERE x.team_id = %s OR x.team_id IS NULL
        UNION ALL
        SELECT 4, e.id, e.type, CAST(e.data AS TEXT), CAST(e.created_at AS TEXT), NULL, NULL
          FROM {CaseEvent._meta.db_table} e WHERE e.case_id = %s AND e.type IN ({types})
        UNION ALL
        SELECT 5, c.id, NULL, NULL, NULL, NULL, NULL
          FROM {Commitment._meta.db_table} c WHERE c.case_id = %s
        UNION ALL
        SELECT 6, g.id, NULL, NULL, NULL, NULL, NULL
          FROM {Gesture._meta.db_table} g WHERE g.case_id = %s
    """
    params = [
        case.kind,
        case.kind,
        case.severity,
        case.team_id,
        case.team_id,
        case.pk,
        *OWNER_EVENT_TYPES,
        case.pk,
        case.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    stages, targets, hours, holidays, events = [], [], [], [], []
    parts = {part for part, *_ in rows}
    for part, pk, a, b, c, d, e in rows:
        if part == 0:
            stages.append((int(c), pk, (a, b, int(c), d or "", _json(e))))
        elif part == 1:
            targets.append((pk, (int(a), int(b))))
        elif part == 2:
            weekday = int(c) if c is not None else None
            start, end = _sql_time(d), _sql_time(e)
            hours.append(
                (
                    (pk, -1 if weekday is None else weekday, start or dt.time.min),
                    (int(a) if a is not None else None, b, weekday, start, end),
                )
            )
        elif part == 3:
            holidays.append(_sql_date(a))
        elif part == 4:
            events.append((c, pk, {"type": a, "data": _json(b)}))
    stages.sort(key=lambda row: row[:2])
    hours.sort(key=lambda row: row[0])
    events.sort(key=lambda row: row[:2])
    return CaseSettings(
        flow=_flow_from_rows(case.kind, [row for _, _, row in stages]),
        schedule=_schedule_from_rows(case.team_id, [row for _, row in hours], holidays),
        target=min(targets)[1] if targets else (None, None),
        owner_events=[event for _, _, event in events],
        has_commitments=5 in parts,
        has_gestures=6 in parts,
    )


def clock_summary(
    case: Case,
    *,
    state: CareState | None = None,
    schedule: Schedule | None = None,
    target: tuple[int | None, int | None] | None = None,
    owner_events: list[dict[str, Any]] | None = None,
    at: dt.datetime | None = None,
) -> clocks.ClockSummary:
    """The case's clocks against its kind/severity targets; pass what is already loaded."""
    state = state if state is not None else care_state_of(case)
    schedule = schedule if schedule is not None else schedule_for_team(case.team_id)
    target = target if target is not None else target_for(case)
    owner_events = owner_events if owner_events is not None else owner_events_of(case)
    return clocks.summarise(
        opened_at=case.created_at,
        first_response_at=case.first_response_at,
        resolved_at=state.resolved_at,
        closed_at=case.closed_at,
        waited_seconds=state.waited_seconds,
        waited_business_seconds=state.waited_business_seconds,
        waiting_since=state.waiting_since,
        first_response_target=target[0],
        resolution_target=target[1],
        owner_events=owner_events,
        schedule=schedule,
        at=at or now(),
    )


def schedules_for_teams(team_ids: set[int | None]) -> dict[int | None, Schedule]:
    """``schedule_for_team`` for several teams at once, in 3 queries whatever their number
    (the inbox shows a clock on every row)."""
    ids = {pk for pk in team_ids if pk is not None}
    hours = {
        row.team_id: row
        for row in BusinessHours.objects.filter(Q(team_id__in=ids) | Q(team__isnull=True))
        .prefetch_related("days")
        .order_by("id")
    }
    holidays: dict[int | None, list[dt.date]] = defaultdict(list)
    for holiday_team, holiday in Holiday.objects.filter(
        Q(team_id__in=ids) | Q(team__isnull=True)
    ).values_list("team_id", "date"):
        holidays[holiday_team].append(holiday)
    schedules: dict[int | None, Schedule] = {}
    for team_id in team_ids:
        days_off = holidays[None] + (holidays[team_id] if team_id is not None else [])
        row = (hours.get(team_id) if team_id is not None else None) or hours.get(None)
        if row is None:
            base = default_schedule()
            schedules[team_id] = Schedule(tz=base.tz, days=base.days, holidays=frozenset(days_off))
            continue
        windows: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
        for working_day in row.days.all():
            windows[working_day.weekday].append((working_day.start, working_day.end))
        schedules[team_id] = Schedule.build(row.time_zone, windows, days_off)
    return schedules


def next_breach_clocks(
    cases: list[Case], *, at: dt.datetime | None = None
) -> dict[int, clocks.TargetClock]:
    """For each open case with a target, the clock that will breach next: the first-response
    clock until the first personal reply, then the resolution clock (paused while waiting on
    the customer). 5 queries whatever the number of cases; closed cases are left out."""
    open_cases = [case for case in cases if case.is_open]
    if not open_cases:
        return {}
    at = at or now()
    targets = targets_map()
    states = {
        state.case_id: state
        for state in CareState.objects.filter(case_id__in=[c.pk for c in open_cases]).only(
            "case_id", "resolved_at", "waiting_since", "waited_business_seconds"
        )
    }
    schedules = schedules_for_teams({case.team_id for case in open_cases})
    result: dict[int, clocks.TargetClock] = {}
    for case in open_cases:
        first_target, resolution_target = targets.get((case.kind, case.severity), (None, None))
        schedule = schedules[case.team_id]
        if case.first_response_at is None and first_target:
            result[case.pk] = clocks.TargetClock(
                name="first_response",
                elapsed_minutes=business_seconds_between(case.created_at, at, schedule) // 60,
                target_minutes=first_target,
                done=False,
            )
            continue
        state = states.get(case.pk)
        if not resolution_target or (state is not None and state.resolved_at is not None):
            continue
        elapsed = clocks.resolution_elapsed_seconds(
            opened_at=case.created_at,
            end=at,
            schedule=schedule,
            waited_business_seconds=state.waited_business_seconds if state else 0,
            waiting_since=state.waiting_since if state else None,
        )
        result[case.pk] = clocks.TargetClock(
            name="resolution",
            elapsed_minutes=elapsed // 60,
            target_minutes=resolution_target,
            done=False,
        )
    return result


# --- people ------------------------------------------------------------------------------


def approval_chain(team_id: int | None) -> list[Staff]:
    """Who decides for a team, bottom up: its lead, its manager, then the organisation's
    managers (managers in no team). Another team's lead or manager is never in it."""
    ids: list[int] = []
    if team_id is not None:
        row = Team.objects.filter(pk=team_id).values_list("lead_id", "manager_id").first()
        ids = [pk for pk in (row or ()) if pk]
    people = {
        s.pk: s
        for s in Staff.objects.filter(
            Q(pk__in=ids) | Q(role=Role.MANAGER, team__isnull=True), user__is_active=True
        ).select_related("user")
    }
    chain = [people[pk] for pk in dict.fromkeys(ids) if pk in people]
    chain.extend(
        sorted(
            (s for pk, s in people.items() if pk not in ids),
            key=lambda s: s.pk,
        )
    )
    return chain


def team_lead_for(case: Case, *, besides: Staff | None = None) -> Staff | None:
    """Who escalations and approvals go to: the first one up the case team's chain
    (``approval_chain``; the requester's team for a case no team has yet).

    ``besides`` is skipped (nobody approves their own request).
    """
    team_id = case.team_id or (besides.team_id if besides else None)
    for person in approval_chain(team_id):
        if besides is None or person.pk != besides.pk:
            return person
    return None


def may_decide_gesture(staff: Staff, gesture: Gesture, *, chain: list[Staff] | None = None) -> bool:
    """May ``staff`` approve or decline this pending gesture?

    Only the approver it was routed to, or someone above them in the case team's chain
    (``approval_chain``); if the routed approver is no longer in the chain, anyone in it.
    The break-glass superuser may. Nobody decides their own request.
    """
    if gesture.requested_by_id == staff.pk:
        return False
    if staff.user.is_superuser or gesture.approver_id == staff.pk:
        return True
    ids = [s.pk for s in (approval_chain(gesture.case.team_id) if chain is None else chain)]
    if staff.pk not in ids:
        return False
    if gesture.approver_id not in ids:
        return True
    return ids.index(staff.pk) > ids.index(gesture.approver_id)


def gestures_given_this_month(
    staff: Staff, *, gesture_type_id: int | None, currency: str, at: dt.datetime
) -> Decimal:
    """What ``staff`` has given (granted or approved) since the first of ``at``'s month (UTC)."""
    month_start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = Gesture.objects.filter(
        requested_by=staff,
        status__in=GIVEN_STATUSES,
        created_at__gte=month_start,
        currency=currency,
    )
    if gesture_type_id is not None:
        rows = rows.filter(gesture_type_id=gesture_type_id)
    total = rows.aggregate(total=Sum("value"))["total"]
    return total if total is not None else Decimal("0")


@dataclass(frozen=True)
class GestureTotal:
    key: str
    currency: str
    count: int
    total: Decimal


def gesture_totals(
    *,
    case: Case | None = None,
    customer_id: int | None = None,
    staff: Staff | None = None,
    month: dt.date | None = None,
) -> list[GestureTotal]:
    """Given gestures (granted or approved) totalled per currency, filtered as asked."""
    rows = Gesture.objects.filter(status__in=GIVEN_STATUSES)
    if case is not None:
        rows = rows.filter(case=case)
    if customer_id is not None:
        rows = rows.filter(case__customer_id=customer_id)
    if staff is not None:
        rows = rows.filter(requested_by=staff)
    if month is not None:
        rows = rows.filter(created_at__year=month.year, created_at__month=month.month)
    label = "all"
    return [
        GestureTotal(key=label, currency=r["currency"], count=r["n"], total=r["total"])
        for r in rows.values("currency").annotate(n=Count("id"), total=Sum("value"))
    ]


def commitments_kept_on_time_rate(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, Any]:
    """Share of commitments due in the window that were kept by their due time (scorecard)."""
    rows = Commitment.objects.all()
    if since is not None:
        rows = rows.filter(due_at__gte=since)
    if until is not None:
        rows = rows.filter(due_at__lt=until)
    rows = rows.exclude(status=CommitmentStatus.OPEN, due_at__gt=until or now())
    total = rows.count()
    on_time = rows.filter(status=CommitmentStatus.KEPT, kept_at__lte=F("due_at")).count()
    return {"due": total, "kept_on_time": on_time, "rate": (on_time / total) if total else None}


# --- pages -------------------------------------------------------------------------------


def snippet_values(case: Case, owner: Staff | None) -> dict[str, str]:
    """What a saved reply's placeholders become on this case, written by ``owner``."""
    customer_name = (case.customer.name or "").strip()
    first_name = owner.first_name if owner else ""
    return {
        "customer_first_name": customer_name.split(" ")[0] if customer_name else "there",
        "customer_name": customer_name or "there",
        "case_reference": case.reference,
        "agent_name": owner.display_name if owner else "",
        "agent_first_name": first_name,
        "owner_first_name": first_name,
        "reference": case.reference,
    }


def rendered_snippets(case: Case, owner: Staff | None) -> list[tuple[Snippet, str]]:
    """The saved replies (macros) for this case's kind, placeholders filled (1 query)."""
    values = snippet_values(case, owner)
    snippets = Snippet.objects.filter(active=True).filter(Q(kind="") | Q(kind=case.kind))
    return [(s, tone.render_snippet(s.body, values)) for s in snippets]


def rendered_body(case: Case, snippet: Snippet, writer: Staff | None) -> str:
    return tone.render_snippet(snippet.body, snippet_values(case, writer))


def macro_for(case: Case, snippet_id: int) -> Snippet | None:
    """An active saved reply that fits this case's kind, or None."""
    return (
        Snippet.objects.filter(pk=snippet_id, active=True)
        .filter(Q(kind="") | Q(kind=case.kind))
        .first()
    )


def reply_hints(case: Case, text: str, *, by: Staff | None) -> dict[str, Any]:
    """Gentle hints for a draft reply: defensive phrases, and 'this is just a snippet'."""
    owner = by or case.owner
    unedited = tone.unedited_snippet(
        text, [(s.title, body) for s, body in rendered_snippets(case, owner)]
    )
    return {"tone": tone_hits(text), "unedited_snippet": unedited}


def _decidable(viewer: Staff | None, case: Case, gestures: list[Gesture]) -> set[int]:
    """The pending gestures on the panel the viewer may decide (one chain query at most)."""
    pending = [g for g in gestures if g.status == GestureStatus.PENDING]
    if viewer is None or not pending:
        return set()
    chain = approval_chain(case.team_id)
    return {g.pk for g in pending if may_decide_gesture(viewer, g, chain=chain)}


def links_seen_by(case: Case, viewer: Staff | None) -> QuerySet[CaseLink]:
    """The links of ``case`` (either side) whose other case ``viewer`` may see (all of them
    for no viewer): another team's reference stays theirs.

    The boundary is asked of the linked cases only (a handful, by id), not as an
    ``IN (every case in bounds)``, which SQLite gathered whole: 1.6 s at 1M cases (#14).
    """
    rows = CaseLink.objects.filter(Q(case=case) | Q(other=case))
    if viewer is None:
        return rows
    linked = Q(pk__in=CaseLink.objects.filter(case=case).values("other_id")) | Q(
        pk__in=CaseLink.objects.filter(other=case).values("case_id")
    )
    seen = visible_cases(viewer).filter(linked).values("pk")
    return rows.filter(Q(case=case, other__in=seen) | Q(other=case, case__in=seen))


def care_panel(case: Case, *, viewer: Staff | None) -> dict[str, Any]:
    """Everything the care panel shows, in a fixed number of queries."""
    at = now()
    state = care_state_of(case)
    flow = flow_for(case.kind)
    current = stage_config(flow, case.stage)
    schedule = schedule_for_team(case.team_id)
    target = target_for(case)
    summary = clock_summary(case, state=state, schedule=schedule, target=target, at=at)
    commitments = list(Commitment.objects.filter(case=case).select_related("owner"))
    gestures = list(
        Gesture.objects.filter(case=case).select_related(
            "gesture_type", "requested_by", "decided_by", "approver"
        )
    )
    collaborators = list(Collaborator.objects.filter(case=case).select_related("staff"))
    links = list(links_seen_by(case, viewer).select_related("case", "other"))
    linked = [
        {"case": link.other if link.case_id == case.pk else link.case, "type": link.type}
        for link in links
    ]
    merge = CaseMerge.objects.filter(duplicate=case).select_related("into").first()
    escalations = list(ExternalEscalation.objects.filter(case=case))
    gesture_types = list(GestureType.objects.filter(active=True))
    colleagues = Staff.objects.filter(user__is_active=True).order_by("display_name")
    # Only the case team's lead or manager moves a case to another team (cases.actions.
    # reassign_case): anyone else may hand it only to people who work for its team.
    team_id = case.team_id
    moves_teams = team_id is None or viewer is None or leads_team(viewer, team_id)
    if team_id is not None and not moves_teams:
        colleagues = colleagues.annotate(
            in_case_team=ExpressionWrapper(works_for_team(team_id), BooleanField())
        )
    staff_choices = [s for s in colleagues if s.pk != case.owner_id]
    handoff_choices = [s for s in staff_choices if moves_teams or getattr(s, "in_case_team", False)]
    snippets = rendered_snippets(case, case.owner)
    recorded = recorded_facts(case, state)
    given = [g for g in gestures if g.is_given]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for gesture in given:
        totals[gesture.currency] += gesture.value
    return {
        "case": case,
        "state": state,
        "flow": flow,
        "current_stage": current,
        "stage_label": current.label if current else Stage(case.stage).label,
        "recorded": recorded,
        "clocks": summary,
        "waiting_on_us": clocks.humanise_seconds(summary.waiting_on_us_seconds),
        "waiting_on_customer": clocks.humanise_seconds(summary.waiting_on_customer_seconds),
        "commitments": commitments,
        "open_commitments": [c for c in commitments if c.status == CommitmentStatus.OPEN],
        "gestures": gestures,
        "gesture_totals": sorted(totals.items()),
        "collaborators": collaborators,
        "linked": linked,
        "merge": merge,
        "escalations": escalations,
        "gesture_types": gesture_types,
        "staff_choices": staff_choices,
        "handoff_choices": handoff_choices,
        "snippets": snippets,
        "viewer": viewer,
        "decidable": _decidable(viewer, case, gestures),
        "now": at,
        "currency": default_currency(),
        "severity_choices": Severity.choices,
        "complexity_choices": Complexity.choices,
        "impact_choices": Impact.choices,
        "how_choices": CommitmentHow.choices,
        "follow_up_choices": FollowUpOutcome.choices,
        "escalation_choices": EscalationBody.choices,
    }


def open_commitments_for_customer_view(case: Case) -> list[dict[str, Any]]:
    """Open promises to show on the customer's own case page (plain dicts, no staff ids)."""
    rows = Commitment.objects.filter(case=case, status=CommitmentStatus.OPEN).select_related(
        "owner"
    )
    return [
        {
            "what": c.what,
            "due_at": c.due_at,
            "how": c.how,
            "how_label": c.get_how_display(),
            "owner_first_name": c.owner.first_name,
        }
        for c in rows
    ]


def due_commitments(staff: Staff, *, at: dt.datetime | None = None) -> QuerySet[Commitment]:
    """The staff member's open commitments due before the end of their working day."""
    at = at or now()
    schedule = schedule_for_team(staff.team_id)
    until = end_of_working_day(at, schedule)
    return (
        Commitment.objects.filter(owner=staff, status=CommitmentStatus.OPEN, due_at__lt=until)
        .select_related("case", "case__customer")
        .order_by("due_at", "id")
    )


def about_to_breach(staff: Staff) -> QuerySet[Case]:
    """Open cases warned by the clock check: the viewer's own, plus their teams' for a lead
    or manager (everything for the break-glass superuser)."""
    rows = Case.objects.open().filter(
        Q(care__first_response_warned_at__isnull=False, first_response_at__isnull=True)
        | Q(care__resolution_warned_at__isnull=False, care__resolved_at__isnull=True)
    )
    scope = scope_of(staff)
    if scope.everything:
        pass
    elif scope.led_team_ids:
        rows = rows.filter(Q(team_id__in=scope.led_team_ids) | Q(owner=staff))
    else:
        rows = rows.filter(owner=staff)
    return rows.select_related("care", "customer", "owner").order_by("-priority", "created_at")[
        :100
    ]


def awaiting_my_approval(staff: Staff) -> QuerySet[Gesture]:
    """Pending gestures routed to ``staff``, or to someone below them in a team they lead
    or manage; everything for the break-glass superuser."""
    rows = Gesture.objects.filter(status=GestureStatus.PENDING)
    scope = scope_of(staff)
    if not scope.everything:
        rows = rows.filter(
            Q(approver=staff) | Q(case__team__manager=staff) | Q(case__team__lead=staff)
        ).exclude(requested_by=staff)
    return rows.select_related("case", "gesture_type", "requested_by").order_by("created_at")


def due_page(staff: Staff) -> dict[str, Any]:
    at = now()
    return {
        "commitments": list(due_commitments(staff, at=at)),
        "breaching": list(about_to_breach(staff)),
        "approvals": list(awaiting_my_approval(staff)),
        "now": at,
    }


def authority_limit_for(staff: Staff, gesture_type: GestureType) -> AuthorityLimit | None:
    """The most specific limit: staff + type, staff, role + type, role (None: no authority)."""
    rows = AuthorityLimit.objects.filter(
        Q(staff=staff) | Q(staff__isnull=True, role=staff.role),
        Q(gesture_type=gesture_type) | Q(gesture_type__isnull=True),
    )

    def rank(row: AuthorityLimit) -> tuple[int, int]:
        return (0 if row.staff_id else 1, 0 if row.gesture_type_id else 1)

    ordered = sorted(rows, key=rank)
    return ordered[0] if ordered else None


def default_currency() -> str:
    return str(getattr(settings, "CHERISH_CURRENCY", "GBP"))


def tone_hits(text: str) -> list[tone.ToneHit]:
    phrases = TonePhrase.objects.filter(active=True).values_list("phrase", "suggestion")
    return tone.tone_check(text, list(phrases))


@dataclass(frozen=True)
class NextStep:
    """The stage after the current one, and what it still needs before the case may move."""

    label: str
    missing: list[str]


def next_step(flow: list[StageConfig], stage: str, recorded: set[str]) -> NextStep | None:
    """The next stage of the flow and its unmet requirements (workflow.REQUIREMENT_MESSAGES)."""
    stages = [step.stage for step in flow]
    if stage not in stages or stages.index(stage) + 1 >= len(stages):
        return None
    following = flow[stages.index(stage) + 1]
    missing = workflow.missing_requirements(following.required, recorded)
    return NextStep(
        label=following.label,
        missing=[str(workflow.REQUIREMENT_MESSAGES.get(item, item)) for item in missing],
    )


def _state_read_with(case: Case) -> CareState:
    """The care state read in the same query as ``case`` (``select_related("care")``, as the
    case page does), else read now."""
    if not Case.care.is_cached(case):
        return care_state_of(case)
    try:
        return case.care
    except CareState.DoesNotExist:
        return CareState(case_id=case.pk)


def case_summary(case: Case, *, viewer: Staff | None) -> dict[str, Any]:
    """What the case page shows of the care workflow before anyone asks for its forms: the
    stage and the next step, the clocks, what the customer said is fair, what we promised
    and by when, gestures, and the approvals the viewer may decide.

    Reads the care state with the case, the flow, target, team's hours, holidays, owner
    events and whether there are commitments or gestures in one statement
    (``case_settings``), then one query each for the commitments and gestures when there
    are any (the approval chain only when one is pending):
    the forms' choices (gesture types, staff, snippets, links, escalations) are left to
    ``care_panel``, loaded on demand.
    """
    at = now()
    state = _state_read_with(case)
    settings_ = case_settings(case)
    flow = settings_.flow
    current = stage_config(flow, case.stage)
    summary = clock_summary(
        case,
        state=state,
        schedule=settings_.schedule,
        target=settings_.target,
        owner_events=settings_.owner_events,
        at=at,
    )
    commitments = (
        list(Commitment.objects.filter(case=case).select_related("owner").order_by("due_at", "id"))
        if settings_.has_commitments
        else []
    )
    gestures = (
        list(
            Gesture.objects.filter(case=case)
            .select_related("gesture_type", "requested_by", "decided_by", "approver")
            .order_by("created_at", "id")
        )
        if settings_.has_gestures
        else []
    )
    recorded = recorded_facts(case, state)
    decidable = _decidable(viewer, case, gestures)
    return {
        "case": case,
        "state": state,
        "stage_label": current.label if current else Stage(case.stage).label,
        "checklist": list(current.checklist) if current else [],
        "next_step": next_step(flow, case.stage, recorded) if case.is_open else None,
        "clocks": summary,
        "commitments": commitments,
        "open_commitments": [c for c in commitments if c.status == CommitmentStatus.OPEN],
        "gestures": gestures,
        "approvals": [g for g in gestures if g.pk in decidable],
        "now": at,
    }
