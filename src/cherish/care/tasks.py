"""Care's background work: the respond step of every contact, clocks against targets, and
commitments falling due.

Every task is idempotent (an acknowledgement is sent once per case; each warning, breach and
alert is stamped once on its row) and safe to run as often as wanted; `cherish care_tick`
runs the periodic ones once, and the worker schedules it.
"""

from __future__ import annotations

from typing import Any

from django_tasks import task

from cherish.care import actions, queries
from cherish.care.acknowledgement import send_acknowledgement
from cherish.care.actions import COMMITMENT_REMIND_BEFORE
from cherish.care.clocks import WARNING_SHARE
from cherish.care.models import CareState, Commitment, CommitmentStatus
from cherish.cases.models import Case, Direction, Message, Stage
from cherish.core.clock import now
from cherish.outbox.actions import delivering_here

BATCH = 500


# No task priority: the RQ backend refuses one. It runs after triage because the intake's
# follow-on pipeline (CHERISH_INTAKE_FOLLOW_ON, core.pipeline) runs its steps in order.
@task()
def respond_to_contact_task(message_id: int, opened: bool) -> str:
    """Care's respond step for every accepted contact (queued by intake.accept_contact).

    A contact that opened a case is acknowledged (when due), the email sent by this worker
    right away: behind a backlog, a separate delivery task would wait for every job queued
    meanwhile. One that continues a case waiting on the customer resumes it now, the wait
    ending when the customer wrote.
    """
    if opened:
        with delivering_here():
            sent = send_acknowledgement(message_id)
        return "acknowledged" if sent is not None else "not due"
    message = (
        Message.objects.filter(pk=message_id, direction=Direction.INBOUND)
        .select_related("case")
        .first()
    )
    if message is None:
        return "no such message"
    return "resumed" if actions.resume_if_customer_replied(message.case) else "nothing to do"


def check_clocks() -> dict[str, int]:
    """Warn before and escalate after a target breach, for every open case; resume waits
    whose customer has written back. Returns counts of what it did."""
    at = now()
    targets = queries.targets_map()
    schedules = queries.ScheduleCache()
    counts = {"checked": 0, "warned": 0, "breached": 0, "resumed": 0}
    last_id = 0
    while True:
        batch = list(Case.objects.open().filter(pk__gt=last_id).order_by("pk")[:BATCH])
        if not batch:
            break
        last_id = batch[-1].pk
        states = {s.case_id: s for s in CareState.objects.filter(case__in=batch)}
        for case in batch:
            counts["checked"] += 1
            state = states.get(case.pk) or CareState(case_id=case.pk)
            if case.stage == Stage.WAITING_ON_CUSTOMER or state.waiting_since is not None:
                if actions.resume_if_customer_replied(case):
                    counts["resumed"] += 1
                    state = CareState.objects.get(case=case)
                    case.refresh_from_db()
                else:
                    continue
            target = targets.get((case.kind, case.severity))
            if target is None:
                continue
            summary = queries.clock_summary(
                case,
                state=state,
                schedule=schedules.get(case.team_id),
                target=target,
                owner_events=[],
                at=at,
            )
            for clock, flags in (
                (
                    summary.first_response,
                    ("first_response_warned_at", "first_response_breached_at"),
                ),
                (summary.resolution, ("resolution_warned_at", "resolution_breached_at")),
            ):
                if clock.done or not clock.target_minutes:
                    continue
                share = clock.elapsed_minutes / clock.target_minutes
                level = None
                if share >= 1 and getattr(state, flags[1]) is None:
                    level = "breached"
                elif share >= WARNING_SHARE and getattr(state, flags[0]) is None and share < 1:
                    level = "warning"
                if level and actions.flag_target(
                    case,
                    clock=clock.name,
                    level=level,
                    elapsed_minutes=clock.elapsed_minutes,
                    target_minutes=clock.target_minutes,
                ):
                    counts["warned" if level == "warning" else "breached"] += 1
                    state = CareState.objects.get(case=case)
    return counts


def check_commitments() -> dict[str, int]:
    """Remind owners of commitments falling due, alert them when overdue, then their lead."""
    at = now()
    counts = {"reminded": 0, "overdue": 0, "escalated": 0}
    ids = (
        Commitment.objects.filter(
            status=CommitmentStatus.OPEN, due_at__lte=at + COMMITMENT_REMIND_BEFORE
        )
        .exclude(escalated_at__isnull=False)
        .values_list("pk", flat=True)
    )
    for commitment_id in list(ids):
        for done in actions.check_commitment(commitment_id):
            counts[done] += 1
    return counts


@task()
def check_clocks_task() -> dict[str, Any]:
    return check_clocks()


@task()
def check_commitments_task() -> dict[str, Any]:
    return check_commitments()
