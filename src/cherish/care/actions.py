"""Every change the care workflow makes. Each action is one transaction and writes its events.

Refusals raise CareError (or CaseError from the case spine) with a sentence and a stable code;
a refused action writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from cherish.care import events, queries
from cherish.care.business_hours import business_seconds_between
from cherish.care.customer_updates import handoff_message
from cherish.care.errors import CareError, CareForbidden
from cherish.care.models import (
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
    Impact,
    LinkType,
    Snippet,
)
from cherish.care.workflow import REQUIREMENT_MESSAGES, missing_requirements, refusal_code
from cherish.cases import actions as case_actions
from cherish.cases.access import may_work
from cherish.cases.models import SEVERITY_RANK, Case, Message, Severity, Stage
from cherish.core.clock import now
from cherish.staff.models import Staff

# Overdue commitments go to the team lead this long after the owner was alerted.
COMMITMENT_LEAD_GRACE = dt.timedelta(hours=2)
# The owner is reminded this long before a commitment falls due.
COMMITMENT_REMIND_BEFORE = dt.timedelta(hours=1)
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.+-]*[A-Za-z0-9_+-])")
ZERO = Decimal("0")


# --- helpers -----------------------------------------------------------------------------


def _locked_state(case: Case) -> CareState:
    """The case's care state, created on first use and locked for this transaction."""
    CareState.objects.get_or_create(case=case)
    return CareState.objects.select_for_update().get(case=case)


def _lock_case(case: Case) -> None:
    Case.objects.select_for_update().filter(pk=case.pk).first()
    case.refresh_from_db()


def _required_text(value: str, *, code: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CareError(message, code=code, field=field)
    return value


def _money(value: Decimal, currency: str) -> str:
    return f"{value:.2f} {currency}"


def _touch(case: Case) -> None:
    at = now()
    Case.objects.filter(pk=case.pk).update(updated_at=at)
    case.updated_at = at


# --- stages ------------------------------------------------------------------------------


def _end_wait(
    case: Case,
    state: CareState,
    *,
    by: Staff | None,
    reason: str,
    at: dt.datetime | None = None,
) -> None:
    """Stop the waiting-on-customer pause (at ``at``, default now) and add it to the totals."""
    if state.waiting_since is None:
        return
    at = max(at or now(), state.waiting_since)
    schedule = queries.schedule_for_team(case.team_id)
    wall = max(int((at - state.waiting_since).total_seconds()), 0)
    business = business_seconds_between(state.waiting_since, at, schedule)
    state.waited_seconds += wall
    state.waited_business_seconds += business
    state.waiting_since = None
    state.save(update_fields=["waited_seconds", "waited_business_seconds", "waiting_since"])
    events.record_waiting_ended(
        case, by=by, waited_seconds=wall, business_seconds=business, reason=reason
    )


@transaction.atomic
def advance_stage(case: Case, stage: str, *, by: Staff | None, reason: str = "") -> Case:
    """Move a case to a stage of its kind's flow, forwards, backwards or to reopen it.

    Refuses a stage the kind's flow does not have ('stage_not_in_flow') and entering a stage
    whose requirements are not recorded: a complaint is not closed without a resolution
    ('close_without_resolution') or a follow-up ('close_without_follow_up'); the codes are
    '<close|stage>_without_<requirement>'. Moving to 'waiting' pauses the clock
    (see wait_on_customer); leaving 'waiting' resumes it.
    Writes case.stage_changed (+ case.closed / case.reopened) and waiting.ended when paused.
    """
    if stage not in Stage.values:
        raise CareError(
            _("There is no stage called “%(stage)s”.") % {"stage": stage},
            code="unknown_stage",
            field="stage",
        )
    _lock_case(case)
    if stage == Stage.WAITING_ON_CUSTOMER:
        return wait_on_customer(case, by=by, reason=reason)
    if stage == case.stage:
        return case
    flow = queries.flow_for(case.kind)
    config = queries.stage_config(flow, stage)
    if config is None:
        names = ", ".join(c.label for c in flow)
        raise CareError(
            _("A %(kind)s has no “%(stage)s” stage. Its stages are: %(names)s.")
            % {
                "kind": case.get_kind_display().lower(),
                "stage": Stage(stage).label,
                "names": names,
            },
            code="stage_not_in_flow",
            field="stage",
        )
    state = queries.care_state_of(case)
    missing = missing_requirements(config.required, queries.recorded_facts(case, state))
    if missing:
        todo = _(" and ").join(str(REQUIREMENT_MESSAGES.get(item, item)) for item in missing)
        if stage == Stage.CLOSED:
            refusal = _("Before you close this case, %(todo)s.") % {"todo": todo}
        else:
            refusal = _("Before you move to “%(stage)s”, %(todo)s.") % {
                "stage": config.label,
                "todo": todo,
            }
        raise CareError(
            refusal,
            code=refusal_code(stage, missing[0]),
            field=missing[0],
        )
    if state.waiting_since is not None:
        state = _locked_state(case)
        _end_wait(case, state, by=by, reason=f"moved to {config.label}")
    if stage == Stage.CLOSED and not reason:
        reason = state.resolution[:500]
    case_actions.change_stage(case, stage=stage, by=by, reason=reason)
    return case


@transaction.atomic
def wait_on_customer(case: Case, *, by: Staff | None, reason: str = "") -> Case:
    """Pause the resolution clock until the customer answers (or staff resume).

    Refuses a closed case ('case_closed') and a case already waiting ('already_waiting').
    Writes waiting.started and case.stage_changed.
    """
    _lock_case(case)
    if not case.is_open:
        raise CareError(_("This case is closed; reopen it first."), code="case_closed")
    state = _locked_state(case)
    if state.waiting_since is not None or case.stage == Stage.WAITING_ON_CUSTOMER:
        raise CareError(_("This case is already waiting on the customer."), code="already_waiting")
    state.waiting_since = now()
    state.stage_before_wait = case.stage
    state.save(update_fields=["waiting_since", "stage_before_wait"])
    events.record_waiting_started(case, by=by, reason=reason)
    case_actions.change_stage(case, stage=Stage.WAITING_ON_CUSTOMER, by=by, reason=reason)
    return case


@transaction.atomic
def resume_case(
    case: Case,
    *,
    by: Staff | None,
    reason: str = "",
    stage: str | None = None,
    waited_until: dt.datetime | None = None,
) -> Case:
    """End the wait on the customer; the clock runs again and the case returns to its stage.

    ``waited_until`` is when the wait really ended (the customer's reply), default now.
    Refuses a case that is not waiting ('not_waiting'). Writes waiting.ended and
    case.stage_changed.
    """
    _lock_case(case)
    state = _locked_state(case)
    if state.waiting_since is None and case.stage != Stage.WAITING_ON_CUSTOMER:
        raise CareError(_("This case is not waiting on the customer."), code="not_waiting")
    back_to = stage or state.stage_before_wait or Stage.RECEIVED
    _end_wait(case, state, by=by, reason=reason or "resumed", at=waited_until)
    if case.stage == Stage.WAITING_ON_CUSTOMER:
        case_actions.change_stage(case, stage=back_to, by=by, reason=reason or "resumed")
    return case


def resume_if_customer_replied(case: Case) -> bool:
    """Resume a waiting case whose customer wrote after the wait began (for the clock check)."""
    state = CareState.objects.filter(case=case).first()
    if state is None or state.waiting_since is None or case.last_inbound_at is None:
        return False
    if case.last_inbound_at <= state.waiting_since:
        return False
    resume_case(case, by=None, reason="the customer replied", waited_until=case.last_inbound_at)
    return True


# --- what was recorded -------------------------------------------------------------------


@transaction.atomic
def record_fair_outcome(case: Case, *, text: str, by: Staff | None) -> CareState:
    """Record, in the customer's words, what they would consider fair (Gitomer's "respond").

    Refuses an empty answer ('fair_outcome_required'). Writes fair_outcome.recorded.
    """
    text = _required_text(
        text,
        code="fair_outcome_required",
        field="fair_outcome",
        message="Write down what the customer said they would consider fair.",
    )
    state = _locked_state(case)
    state.fair_outcome = text
    state.fair_outcome_at = now()
    state.save(update_fields=["fair_outcome", "fair_outcome_at"])
    events.record_fair_outcome_recorded(case, by=by, text=text)
    _touch(case)
    return state


@transaction.atomic
def record_resolution(case: Case, *, text: str, by: Staff | None) -> CareState:
    """Record what was done to put it right; the resolution clock stops the first time.

    Refuses an empty resolution ('resolution_required'). Writes resolution.recorded.
    """
    text = _required_text(
        text,
        code="resolution_required",
        field="resolution",
        message="Describe the resolution: what was done to put it right.",
    )
    state = _locked_state(case)
    state.resolution = text
    if state.resolved_at is None:
        state.resolved_at = now()
    state.save(update_fields=["resolution", "resolved_at"])
    events.record_resolution_recorded(case, by=by, text=text)
    _touch(case)
    return state


def _set_plus_one(
    case: Case, state: CareState, *, text: str, by: Staff | None, gesture_id: int | None
) -> None:
    state.plus_one = text
    state.plus_one_at = now()
    state.save(update_fields=["plus_one", "plus_one_at"])
    events.record_plus_one_recorded(case, by=by, text=text, gesture_id=gesture_id)


@transaction.atomic
def record_plus_one(case: Case, *, text: str, by: Staff | None) -> CareState:
    """Record the +1: the bonus beyond putting it right ("customer insurance", seed 000).

    Refuses an empty description ('plus_one_required'). Writes plus_one.recorded.
    """
    text = _required_text(
        text,
        code="plus_one_required",
        field="plus_one",
        message="Describe the +1: what you did beyond putting it right.",
    )
    state = _locked_state(case)
    _set_plus_one(case, state, text=text, by=by, gesture_id=None)
    _touch(case)
    return state


@transaction.atomic
def record_follow_up(case: Case, *, outcome: str, note: str = "", by: Staff | None) -> CareState:
    """Record the satisfaction check after the fix, or why there was none.

    Refuses an unknown outcome ('unknown_follow_up_outcome') and 'not done' / 'no answer'
    without a reason ('follow_up_reason_required'). Writes follow_up.recorded.
    """
    if outcome not in FollowUpOutcome.values:
        raise CareError(
            _("Choose how the follow-up went."), code="unknown_follow_up_outcome", field="outcome"
        )
    note = (note or "").strip()
    if outcome in (FollowUpOutcome.NOT_DONE, FollowUpOutcome.NO_ANSWER) and not note:
        raise CareError(
            _("Say why the satisfaction check was not possible."),
            code="follow_up_reason_required",
            field="note",
        )
    state = _locked_state(case)
    state.follow_up_outcome = outcome
    state.follow_up_note = note
    state.follow_up_at = now()
    state.save(update_fields=["follow_up_outcome", "follow_up_note", "follow_up_at"])
    events.record_follow_up_recorded(case, by=by, outcome=outcome, note=note)
    _touch(case)
    return state


@transaction.atomic
def assess_case(
    case: Case,
    *,
    severity: str,
    complexity: str,
    impact: str,
    needs_immediate_action: bool,
    note: str = "",
    by: Staff | None,
) -> CareState:
    """Record the ISO 10002 initial assessment; severity goes on the case and drives targets.

    Refuses unknown values ('unknown_severity', 'unknown_complexity', 'unknown_impact').
    Writes assessment.recorded (and case.severity_changed when severity changes).
    """
    if severity not in Severity.values:
        raise CareError(_("Choose a severity."), code="unknown_severity", field="severity")
    if complexity not in Complexity.values:
        raise CareError(_("Choose a complexity."), code="unknown_complexity", field="complexity")
    if impact not in Impact.values:
        raise CareError(_("Choose the impact."), code="unknown_impact", field="impact")
    _lock_case(case)
    if severity != case.severity:
        bonus = case.priority - case_actions.SEVERITY_PRIORITY[case.severity]
        case_actions.change_severity(case, severity=severity, by=by, priority_bonus=bonus)
    state = _locked_state(case)
    state.complexity = complexity
    state.impact = impact
    state.needs_immediate_action = needs_immediate_action
    state.assessment_note = note.strip()
    state.assessed_at = now()
    state.save(
        update_fields=[
            "complexity",
            "impact",
            "needs_immediate_action",
            "assessment_note",
            "assessed_at",
        ]
    )
    events.record_assessment_recorded(
        case,
        by=by,
        severity=severity,
        complexity=complexity,
        impact=impact,
        needs_immediate_action=needs_immediate_action,
        note=state.assessment_note,
    )
    if needs_immediate_action or SEVERITY_RANK[severity] >= SEVERITY_RANK["critical"]:
        _mark_at_risk(case, badge="urgent")
    return state


def _mark_at_risk(case: Case, *, badge: str) -> None:
    badges = list(Case.objects.filter(pk=case.pk).values_list("badges", flat=True).first() or [])
    if badge not in badges:
        badges.append(badge)
    Case.objects.filter(pk=case.pk).update(at_risk=True, badges=badges)
    case.at_risk = True
    case.badges = badges


# --- commitments -------------------------------------------------------------------------


@transaction.atomic
def record_commitment(
    case: Case,
    *,
    what: str,
    due_at: dt.datetime,
    how: str,
    by: Staff | None,
    owner: Staff | None = None,
) -> Commitment:
    """Record a promise to the customer: what, by when, how ("committed follow-through").

    The owner defaults to the case owner, then the person recording it; one named explicitly
    (the API's ``owner``) must be someone who works the case under the team rules
    (cases.access.may_work: its team, its owner, a collaborator), as the desk's defaults
    always are. Refuses an empty promise ('commitment_what_required'), an unknown way
    ('unknown_commitment_how'), a due time in the past ('commitment_in_past'), an owner who
    does not work the case ('commitment_owner_out_of_bounds') and a commitment nobody owns
    ('commitment_owner_required'). Writes commitment.made.
    """
    what = _required_text(
        what,
        code="commitment_what_required",
        field="what",
        message="Say what you promised, e.g. “call you back with the refund date”.",
    )[:300]
    if how not in CommitmentHow.values:
        raise CareError(_("Choose how you will do it."), code="unknown_commitment_how", field="how")
    if due_at.tzinfo is None:
        raise CareError(
            _("Give the due time with its time zone."), code="naive_due_at", field="due"
        )
    at = now()
    if due_at <= at:
        raise CareError(
            _("The due time has already passed; promise a time still ahead."),
            code="commitment_in_past",
            field="due_at",
        )
    if owner is not None and not may_work(owner, case):
        raise CareError(
            _(
                "%(name)s does not work this case: a commitment's owner must be someone who"
                " does (its team, its owner or a collaborator)."
            )
            % {"name": owner.display_name},
            code="commitment_owner_out_of_bounds",
            field="owner",
        )
    owner = owner or case.owner or by
    if owner is None:
        raise CareError(
            _("Someone must own this commitment."), code="commitment_owner_required", field="owner"
        )
    commitment = Commitment.objects.create(
        case=case, owner=owner, what=what, due_at=due_at, how=how, created_by=by, created_at=at
    )
    events.record_commitment_made(
        case, by=by, commitment_id=commitment.pk, what=what, due_at=due_at, how=how, owner=owner
    )
    _touch(case)
    return commitment


def _locked_commitment(commitment: Commitment) -> Commitment:
    locked = Commitment.objects.select_for_update().select_related("case").get(pk=commitment.pk)
    if locked.status != CommitmentStatus.OPEN:
        raise CareError(
            _("This commitment is already %(status)s.")
            % {"status": locked.get_status_display().lower()},
            code="commitment_not_open",
        )
    return locked


@transaction.atomic
def keep_commitment(commitment: Commitment, *, by: Staff | None, note: str = "") -> Commitment:
    """Mark a promise kept (on time or late; the event says which).

    Refuses one already kept or broken ('commitment_not_open'). Writes commitment.kept.
    """
    commitment = _locked_commitment(commitment)
    commitment.status = CommitmentStatus.KEPT
    commitment.kept_at = now()
    commitment.outcome_note = note.strip()
    commitment.save(update_fields=["status", "kept_at", "outcome_note"])
    events.record_commitment_kept(
        commitment.case,
        by=by,
        commitment_id=commitment.pk,
        on_time=commitment.kept_on_time,
        note=commitment.outcome_note,
    )
    _touch(commitment.case)
    return commitment


@transaction.atomic
def break_commitment(commitment: Commitment, *, by: Staff | None, reason: str) -> Commitment:
    """Record honestly that a promise cannot be kept.

    Refuses without a reason ('break_reason_required') and one no longer open
    ('commitment_not_open'). Writes commitment.broken.
    """
    reason = _required_text(
        reason,
        code="break_reason_required",
        field="reason",
        message="Say why the commitment cannot be kept (and tell the customer).",
    )
    commitment = _locked_commitment(commitment)
    commitment.status = CommitmentStatus.BROKEN
    commitment.broken_at = now()
    commitment.outcome_note = reason
    commitment.save(update_fields=["status", "broken_at", "outcome_note"])
    events.record_commitment_broken(
        commitment.case, by=by, commitment_id=commitment.pk, reason=reason
    )
    _touch(commitment.case)
    return commitment


@transaction.atomic
def check_commitment(commitment_id: int) -> list[str]:
    """Send whatever reminder or alert an open commitment is due now; each happens once.

    Before the due time: remind the owner (commitment.due_soon). After it: alert the owner
    (commitment.overdue); COMMITMENT_LEAD_GRACE later: alert the team lead
    (commitment.escalated).
    Returns what it did ('reminded', 'overdue', 'escalated').
    """
    commitment = (
        Commitment.objects.select_for_update(of=("self",))
        .select_related("case", "owner")
        .filter(pk=commitment_id, status=CommitmentStatus.OPEN)
        .first()
    )
    if commitment is None:
        return []
    at = now()
    done = []
    case = commitment.case
    due = commitment.due_at
    fields = []
    if commitment.reminded_at is None and at >= due - COMMITMENT_REMIND_BEFORE and at < due:
        events.record_commitment_due_soon(
            case, commitment_id=commitment.pk, due_at=due, owner_id=commitment.owner_id
        )
        commitment.reminded_at = at
        fields.append("reminded_at")
        done.append("reminded")
    if commitment.overdue_notified_at is None and at >= due:
        events.record_commitment_overdue(
            case, commitment_id=commitment.pk, due_at=due, notified_id=commitment.owner_id
        )
        commitment.overdue_notified_at = at
        fields.append("overdue_notified_at")
        done.append("overdue")
    if (
        commitment.escalated_at is None
        and commitment.overdue_notified_at is not None
        and at >= due + COMMITMENT_LEAD_GRACE
    ):
        lead = queries.team_lead_for(case, besides=commitment.owner)
        if lead is not None:
            events.record_commitment_escalated(case, commitment_id=commitment.pk, lead_id=lead.pk)
        commitment.escalated_at = at
        fields.append("escalated_at")
        done.append("escalated")
    if fields:
        commitment.save(update_fields=fields)
    return done


# --- clocks ------------------------------------------------------------------------------


@transaction.atomic
def flag_target(
    case: Case, *, clock: str, level: str, elapsed_minutes: int, target_minutes: int
) -> bool:
    """Warn the owner that a target is about to be breached, or escalate a breach to the lead.

    Happens once per clock and level. A breach also marks the case at risk (badge 'overdue').
    Writes care.target_warning / care.target_breached. Returns whether it did anything.
    """
    if clock not in ("first_response", "resolution") or level not in ("warning", "breached"):
        raise ValueError(f"unknown clock or level: {clock} {level}")
    state = _locked_state(case)
    field = f"{clock}_{'warned' if level == 'warning' else 'breached'}_at"
    if getattr(state, field) is not None:
        return False
    stamp = now()
    setattr(state, field, stamp)
    fields = [field]
    if level == "warning":
        person = case.owner or queries.team_lead_for(case)
        events.record_target_warning(
            case,
            clock=clock,
            elapsed_minutes=elapsed_minutes,
            target_minutes=target_minutes,
            notified_id=person.pk if person else None,
        )
    else:
        warned = f"{clock}_warned_at"
        if getattr(state, warned) is None:
            setattr(state, warned, stamp)
            fields.append(warned)
        lead = queries.team_lead_for(case)
        events.record_target_breached(
            case,
            clock=clock,
            elapsed_minutes=elapsed_minutes,
            target_minutes=target_minutes,
            lead_id=lead.pk if lead else None,
            notified_id=told.pk if (told := lead or case.owner) else None,
        )
        _mark_at_risk(case, badge="overdue")
    state.save(update_fields=fields)
    return True


# --- gestures ----------------------------------------------------------------------------


def _apply_given_gesture(gesture: Gesture, *, by: Staff | None) -> None:
    if gesture.is_plus_one:
        state = _locked_state(gesture.case)
        text = gesture.description or (
            f"{gesture.gesture_type.name} ({_money(gesture.value, gesture.currency)})"
        )
        _set_plus_one(gesture.case, state, text=text, by=by, gesture_id=gesture.pk)


@transaction.atomic
def grant_gesture(
    case: Case,
    *,
    gesture_type: GestureType,
    value: Decimal,
    currency: str,
    by: Staff,
    description: str = "",
    plus_one: bool = False,
    ask_approval: bool = True,
    reason: str = "",
) -> Gesture:
    """Give a goodwill gesture within your authority, or ask the team lead to approve it.

    Within the staff member's limit per gesture and per month it is granted at once
    (gesture.granted). Above it: with ``ask_approval`` it waits for the lead
    (gesture.requested + a notification); without, it is refused ('gesture_above_limit').
    Also refuses a negative value ('negative_gesture'), an inactive type
    ('inactive_gesture_type') and a request nobody can approve ('no_approver').
    A granted +1 gesture also records the +1 (plus_one.recorded).
    """
    currency = (currency or "").strip().upper()[:3]
    if not gesture_type.active:
        raise CareError(
            _("“%(gesture)s” is no longer offered.") % {"gesture": gesture_type.name},
            code="inactive_gesture_type",
            field="gesture_type",
        )
    if value < ZERO:
        raise CareError(_("A gesture cannot be worth less than nothing."), code="negative_gesture")
    if not gesture_type.is_monetary:
        value = ZERO
    if len(currency) != 3:
        raise CareError(
            _("Give a three-letter currency code."), code="bad_currency", field="currency"
        )
    at = now()
    limit = queries.authority_limit_for(by, gesture_type)
    above = ""
    if value > ZERO:
        if limit is None:
            above = _("you have no authority limit for this kind of gesture")
        elif limit.currency != currency:
            above = _("your limit is in %(currency)s") % {"currency": limit.currency}
        elif value > limit.per_gesture:
            above = _("your limit is %(limit)s per gesture") % {
                "limit": _money(limit.per_gesture, currency)
            }
        else:
            given = queries.gestures_given_this_month(
                by, gesture_type_id=limit.gesture_type_id, currency=currency, at=at
            )
            if given + value > limit.per_month:
                above = _(
                    "it would take you to %(total)s this month; your monthly limit is %(limit)s"
                ) % {
                    "total": _money(given + value, currency),
                    "limit": _money(limit.per_month, currency),
                }
    approver = None
    if above:
        approver = queries.team_lead_for(case, besides=by)
        name = approver.display_name if approver else _("your team lead")
        if not ask_approval:
            raise CareForbidden(
                _("%(value)s is above what you may grant: %(above)s. Ask %(name)s to approve it.")
                % {"value": _money(value, currency), "above": above, "name": name},
                code="gesture_above_limit",
                field="value",
            )
        if approver is None:
            raise CareError(
                _("Nobody can approve this gesture: the team has no lead and there is no manager."),
                code="no_approver",
            )
    gesture = Gesture.objects.create(
        case=case,
        gesture_type=gesture_type,
        value=value,
        currency=currency,
        description=description.strip()[:300],
        is_plus_one=plus_one,
        status=GestureStatus.PENDING if above else GestureStatus.GRANTED,
        requested_by=by,
        approver=approver,
        reason=reason.strip(),
        created_at=at,
    )
    if above:
        why = reason.strip() or above
        events.record_gesture_requested(case, by=by, gesture=gesture, reason=why)
    else:
        events.record_gesture_granted(case, by=by, gesture=gesture)
        _apply_given_gesture(gesture, by=by)
    _touch(case)
    return gesture


@transaction.atomic
def decide_gesture(gesture: Gesture, *, approve: bool, by: Staff, reason: str = "") -> Gesture:
    """A lead approves or declines a gesture waiting for approval; the requester is told.

    Refuses one not waiting ('gesture_not_pending'), deciding one's own request
    ('own_gesture'), a decider who is neither the approver it was routed to nor above them in
    the case team's chain ('not_an_approver', see queries.may_decide_gesture) and declining
    without a reason ('decline_reason_required'). Writes gesture.approved / gesture.declined,
    which name the requester and the approver it was routed to.
    """
    gesture = (
        Gesture.objects.select_for_update()
        .select_related("case", "gesture_type", "requested_by")
        .get(pk=gesture.pk)
    )
    if gesture.status != GestureStatus.PENDING:
        raise CareError(
            _("This gesture is already %(status)s.")
            % {"status": gesture.get_status_display().lower()},
            code="gesture_not_pending",
        )
    if gesture.requested_by_id == by.pk:
        raise CareForbidden(_("Someone else has to approve your own request."), code="own_gesture")
    if not queries.may_decide_gesture(by, gesture):
        routed = gesture.approver.display_name if gesture.approver else _("the team lead")
        raise CareForbidden(
            _(
                "This request was sent to %(routed)s: only they, or someone above them in the "
                "case team's chain, can decide it."
            )
            % {"routed": routed},
            code="not_an_approver",
        )
    reason = (reason or "").strip()
    if not approve and not reason:
        raise CareError(
            _("Give a reason for declining, so your colleague can explain it to the customer."),
            code="decline_reason_required",
            field="reason",
        )
    gesture.status = GestureStatus.APPROVED if approve else GestureStatus.DECLINED
    gesture.decided_by = by
    gesture.decided_at = now()
    gesture.reason = reason
    gesture.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    case = gesture.case
    # The requester hears of the decision, and the decider's "approval waiting" is settled,
    # through the desk's notifications, derived from these events.
    if approve:
        events.record_gesture_approved(case, by=by, gesture=gesture, reason=reason)
        _apply_given_gesture(gesture, by=by)
    else:
        events.record_gesture_declined(case, by=by, gesture=gesture, reason=reason)
    _touch(case)
    return gesture


# --- handoffs, collaboration, mentions ---------------------------------------------------


@transaction.atomic
def warm_handoff(
    case: Case,
    *,
    to: Staff,
    summary: str,
    by: Staff | None,
    tell_customer: bool = False,
    customer_message: str = "",
    why: str = "",
) -> Case:
    """Hand the case over with a summary, and optionally tell the customer who helps them now.

    "Call once": the new owner reads the summary first so the customer never repeats
    themselves. Refusals come from cases.actions.reassign_case ('handoff_note_required',
    'same_owner'). Writes case.owner_changed, handoff.warm and, when the customer is told,
    message.added (the outbox delivers it).
    """
    _lock_case(case)
    case_actions.reassign_case(case, to=to, note=summary, by=by)
    message: Message | None = None
    if tell_customer:
        custom = customer_message.strip()
        text = custom or handoff_message(case, to=to, why=why)
        message = case_actions.reply_to_customer(case, text=text, by=by, is_automatic=not custom)
    events.record_handoff_warm(
        case,
        by=by,
        to=to,
        told_customer=message is not None,
        message_id=message.pk if message else None,
    )
    return case


@transaction.atomic
def add_collaborator(case: Case, *, staff: Staff, by: Staff | None) -> Collaborator:
    """Bring a colleague in without changing the owner ("call once" stays with one person).

    Refuses the owner ('collaborator_is_owner') and someone already on the case
    ('already_collaborator'). Writes collaborator.added and notifies the colleague.
    """
    if case.owner_id == staff.pk:
        raise CareError(
            _("%(name)s owns this case already.") % {"name": staff.display_name},
            code="collaborator_is_owner",
        )
    if Collaborator.objects.filter(case=case, staff=staff).exists():
        raise CareError(
            _("%(name)s is already helping on this case.") % {"name": staff.display_name},
            code="already_collaborator",
        )
    row = Collaborator.objects.create(case=case, staff=staff, added_by=by, created_at=now())
    events.record_collaborator_added(case, by=by, staff=staff)
    return row


@transaction.atomic
def remove_collaborator(case: Case, *, staff: Staff, by: Staff | None) -> None:
    """Writes collaborator.removed; refuses someone not on the case ('not_collaborator')."""
    deleted, _per_model = Collaborator.objects.filter(case=case, staff=staff).delete()
    if not deleted:
        raise CareError(
            _("%(name)s is not on this case.") % {"name": staff.display_name},
            code="not_collaborator",
        )
    events.record_collaborator_removed(case, by=by, staff=staff)


def mentioned_staff(text: str, *, besides: Staff | None = None) -> list[Staff]:
    """Active staff named as @username in ``text`` (case-insensitive), in order, once each."""
    names = []
    for match in MENTION.finditer(text):
        name = match.group(1).lower()
        if name not in names:
            names.append(name)
    if not names:
        return []
    user_model = get_user_model()
    query = Q()
    for name in names:
        query |= Q(username__iexact=name)
    users = {u.username.lower(): u.pk for u in user_model.objects.filter(query, is_active=True)}
    by_user = {
        s.user_id: s
        for s in Staff.objects.filter(user_id__in=users.values()).select_related("user")
    }
    result = []
    for name in names:
        person = by_user.get(users.get(name, -1))
        if person is not None and (besides is None or person.pk != besides.pk):
            result.append(person)
    return result


@transaction.atomic
def notify_mentions(case: Case, message: Message, *, by: Staff | None) -> list[Staff]:
    """Notify everyone @mentioned in an internal note. Writes staff.mentioned when anyone is."""
    people = mentioned_staff(message.body_text, besides=by)
    if not people:
        return []
    events.record_staff_mentioned(case, by=by, staff=people, message_id=message.pk)
    return people


@transaction.atomic
def add_note_with_mentions(case: Case, *, text: str, by: Staff) -> Message:
    """An internal note whose @mentions notify the staff named.

    Refusals from cases.actions.add_internal_note ('empty_note'). Writes message.added and
    staff.mentioned.
    """
    message = case_actions.add_internal_note(case, text=text, by=by)
    notify_mentions(case, message, by=by)
    return message


# --- saved replies (macros) ------------------------------------------------------------

_TAG = re.compile(r"^[\w][\w -]{0,39}$")


@transaction.atomic
def tag_case(case: Case, *, tag: str, by: Staff | None, macro: str = "") -> Case:
    """Add a tag to the case's inbox badges (no-op when it is there already).

    Refuses an empty or odd tag ('bad_tag': letters, digits, spaces and dashes, at most 40).
    Unlike a risk flag it does not put the case at risk. Writes case.tagged.
    """
    tag = " ".join(tag.split()).lower()
    if not _TAG.match(tag):
        raise CareError(
            _("A tag is a word or two (letters, digits, dashes), at most 40 characters."),
            code="bad_tag",
            field="tag",
        )
    _lock_case(case)
    badges = list(Case.objects.filter(pk=case.pk).values_list("badges", flat=True).first() or [])
    if tag in badges:
        return case
    badges.append(tag)
    Case.objects.filter(pk=case.pk).update(badges=badges, updated_at=now())
    case.badges = badges
    events.record_case_tagged(case, by=by, tag=tag, macro=macro)
    return case


@transaction.atomic
def apply_macro(case: Case, macro: Snippet, *, text: str, by: Staff) -> Message:
    """Send a saved reply and apply its actions in one step, through the same actions as by
    hand: the reply (cases.actions.reply_to_customer), then the stage (advance_stage, with
    its requirements), the commitment (record_commitment, due ``commitment_days`` after now)
    and the tag (tag_case).

    ``text`` is what the agent sends (the macro's body as they edited it); empty means the
    macro's body as it stands. Any refusal — an empty reply, a stage whose requirements are
    missing, a bad commitment — undoes the whole step: nothing is sent, nothing changes.
    Writes message.added, the events of each action, and macro.applied.
    """
    text = text.strip() or queries.rendered_body(case, macro, by)
    message = case_actions.reply_to_customer(case, text=text, by=by)
    done = ["reply"]
    if macro.stage and macro.stage != case.stage:
        advance_stage(case, macro.stage, by=by, reason=f"Saved reply “{macro.title}”")
        done.append("stage")
    if macro.commitment_what:
        record_commitment(
            case,
            what=macro.commitment_what,
            due_at=now() + dt.timedelta(days=macro.commitment_days or 1),
            how=macro.commitment_how or CommitmentHow.EMAIL,
            by=by,
        )
        done.append("commitment")
    if macro.tag:
        tag_case(case, tag=macro.tag, by=by, macro=macro.title)
        done.append("tag")
    events.record_macro_applied(case, by=by, macro_id=macro.pk, title=macro.title, actions=done)
    return message


# --- merge, link, escalation -------------------------------------------------------------


def _linked(case: Case, other: Case) -> CaseLink | None:
    return CaseLink.objects.filter(Q(case=case, other=other) | Q(case=other, other=case)).first()


@transaction.atomic
def merge_cases(duplicate: Case, *, into: Case, by: Staff | None) -> CaseMerge:
    """Fold a duplicate case of the same customer into another; both timelines stay whole.

    Nothing is moved or deleted: the duplicate is closed with a link to the case that
    carries on. Refuses merging a case into itself ('merge_self'), across customers
    ('merge_other_customer'), a case already merged ('already_merged') and into a case that
    was itself merged away ('merge_into_merged'). Writes case.merged_into on the duplicate,
    case.merged on the other, and the duplicate's case.stage_changed / case.closed.
    """
    if duplicate.pk == into.pk:
        raise CareError(_("A case cannot be merged into itself."), code="merge_self", field="into")
    _lock_case(duplicate)
    _lock_case(into)
    if duplicate.customer_id != into.customer_id:
        raise CareError(
            _("Only cases of the same customer can be merged; link them instead."),
            code="merge_other_customer",
            field="into",
        )
    if CaseMerge.objects.filter(duplicate=duplicate).exists():
        raise CareError(
            _("%(reference)s was already merged.") % {"reference": duplicate.reference},
            code="already_merged",
        )
    if CaseMerge.objects.filter(duplicate=into).exists():
        raise CareError(
            _("%(reference)s was itself merged into another case; merge into that one.")
            % {"reference": into.reference},
            code="merge_into_merged",
            field="into",
        )
    merge = CaseMerge.objects.create(duplicate=duplicate, into=into, merged_by=by, created_at=now())
    link = _linked(duplicate, into)
    if link is None:
        CaseLink.objects.create(
            case=duplicate, other=into, type=LinkType.DUPLICATE, created_by=by, created_at=now()
        )
    elif link.type != LinkType.DUPLICATE:
        CaseLink.objects.filter(pk=link.pk).update(type=LinkType.DUPLICATE)
    events.record_case_merged_into(duplicate, by=by, into=into)
    events.record_case_merged(into, by=by, duplicate=duplicate)
    state = CareState.objects.filter(case=duplicate, waiting_since__isnull=False).first()
    if state is not None:
        _end_wait(duplicate, _locked_state(duplicate), by=by, reason="merged")
    if duplicate.is_open:
        case_actions.change_stage(
            duplicate, stage=Stage.CLOSED, by=by, reason=f"Merged into {into.reference}"
        )
    return merge


@transaction.atomic
def link_cases(case: Case, *, other: Case, by: Staff | None, type_: str = "related") -> CaseLink:
    """Link two cases that belong together (any customers).

    Refuses linking a case to itself ('link_self'), an existing link ('already_linked') and
    unknown types ('unknown_link_type'). Writes case.linked on both cases.
    """
    if type_ not in LinkType.values:
        raise CareError(_("Choose how the cases are related."), code="unknown_link_type")
    if case.pk == other.pk:
        raise CareError(_("A case cannot be linked to itself."), code="link_self", field="other")
    if _linked(case, other) is not None:
        raise CareError(
            _("%(case)s and %(other)s are already linked.")
            % {"case": case.reference, "other": other.reference},
            code="already_linked",
        )
    link = CaseLink.objects.create(
        case=case, other=other, type=type_, created_by=by, created_at=now()
    )
    events.record_case_linked(case, by=by, other=other, type_=type_)
    events.record_case_linked(other, by=by, other=case, type_=type_)
    return link


@transaction.atomic
def record_escalation(
    case: Case,
    *,
    body: str,
    escalated_on: dt.date,
    by: Staff | None,
    body_name: str = "",
    reference: str = "",
    outcome: str = "",
    decided_on: dt.date | None = None,
) -> ExternalEscalation:
    """Record that the customer took the complaint to an external body (ISO 10003).

    Refuses an unknown body ('unknown_escalation_body') and a date in the future
    ('escalation_in_future'). Writes escalation.recorded (and escalation.outcome_recorded
    when the outcome is already known).
    """
    if body not in EscalationBody.values:
        raise CareError(
            _("Choose the external body."), code="unknown_escalation_body", field="body"
        )
    if escalated_on > now().date():
        raise CareError(
            _("The escalation date cannot be in the future."),
            code="escalation_in_future",
            field="escalated_on",
        )
    row = ExternalEscalation.objects.create(
        case=case,
        body=body,
        body_name=body_name.strip()[:150],
        escalated_on=escalated_on,
        reference=reference.strip()[:100],
        recorded_by=by,
        created_at=now(),
    )
    events.record_escalation_recorded(
        case,
        by=by,
        escalation_id=row.pk,
        body=body,
        body_name=row.body_name,
        escalated_on=escalated_on,
        reference=row.reference,
    )
    if outcome.strip():
        record_escalation_outcome(row, outcome=outcome, decided_on=decided_on, by=by)
    _mark_at_risk(case, badge="escalated")
    return row


@transaction.atomic
def record_escalation_outcome(
    escalation: ExternalEscalation, *, outcome: str, decided_on: dt.date | None, by: Staff | None
) -> ExternalEscalation:
    """The external body's decision. Refuses an empty outcome ('escalation_outcome_required').

    Writes escalation.outcome_recorded.
    """
    outcome = _required_text(
        outcome,
        code="escalation_outcome_required",
        field="outcome",
        message="Describe what the external body decided.",
    )
    escalation.outcome = outcome
    escalation.decided_on = decided_on
    escalation.save(update_fields=["outcome", "decided_on"])
    events.record_escalation_outcome(
        escalation.case, by=by, escalation_id=escalation.pk, outcome=outcome, decided_on=decided_on
    )
    return escalation
