"""The care part of the REST API (mounted in cherish/api.py) under /api/v1/cases/{reference}/….

Who acts is the API key's: a staff member's key acts as them (their role, teams and authority
limits apply), an integration key with the scope ``cases:write`` acts as the system, and
decisions in a person's name (commitments, gestures, approvals, handoffs, merges) need a staff
key (staff/principal.py). An ``actor`` in the body is ignored. The same actions as the desk
run, so the same refusals come back as problem details with the same stable codes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from cherish.api_common import ApiError, problems
from cherish.care import actions, queries
from cherish.care.access import (
    access_case,
    access_case_to_work,
    access_commitment,
    access_gesture,
)
from cherish.care.audit import audit_decision
from cherish.care.models import (
    Commitment,
    CommitmentStatus,
    ExternalEscalation,
    Gesture,
    GestureStatus,
    GestureType,
)
from cherish.care.schemas import (
    AssessmentIn,
    BreakIn,
    CareOut,
    CommitmentIn,
    CommitmentOut,
    DecisionIn,
    EscalationIn,
    EscalationOut,
    FollowUpIn,
    GestureIn,
    GestureOut,
    HandoffIn,
    KeepIn,
    LinkIn,
    LinkOut,
    MergeIn,
    StageIn,
    TextIn,
    link_out,
)
from cherish.cases.models import Case
from cherish.core.errors import NotFound
from cherish.core.references import normalise_reference
from cherish.staff.models import Staff
from cherish.staff.principal import KeyScope, actor_of, key_scope, person_of, staff_of

router = Router(tags=["care"])

CHANGE = problems(401, 403, 404, 422)
READ = problems(401, 404, 422)


def _staff(username: str, *, field: str) -> Staff:
    staff = (
        Staff.objects.select_related("user", "team")
        .filter(user__username__iexact=username.strip(), user__is_active=True)
        .first()
    )
    if staff is None:
        raise ApiError(
            f"There is no active staff member “{username}”.",
            code=f"unknown_{field}",
            field=field,
            status=422,
        )
    return staff


def _case(reference: str) -> Case:
    canonical = normalise_reference(reference)
    case = (
        Case.objects.select_related("customer", "owner", "team").filter(reference=canonical).first()
        if canonical
        else None
    )
    if case is None:
        raise NotFound(f"There is no case {reference}.")
    return case


def _care_out(case: Case) -> dict[str, Any]:
    case.refresh_from_db()
    state = queries.care_state_of(case)
    flow = queries.flow_for(case.kind)
    current = queries.stage_config(flow, case.stage)
    summary = queries.clock_summary(case, state=state)
    return {
        "reference": case.reference,
        "kind": case.kind,
        "stage": case.stage,
        "stage_label": current.label if current else case.get_stage_display(),
        "is_open": case.is_open,
        "checklist": list(current.checklist) if current else [],
        "fair_outcome": state.fair_outcome,
        "resolution": state.resolution,
        "plus_one": state.plus_one,
        "follow_up": {
            "outcome": state.follow_up_outcome,
            "note": state.follow_up_note,
            "at": state.follow_up_at,
        },
        "assessment": {
            "severity": case.severity,
            "complexity": state.complexity,
            "impact": state.impact,
            "needs_immediate_action": state.needs_immediate_action,
            "note": state.assessment_note,
            "assessed_at": state.assessed_at,
        },
        "clocks": {
            "first_personal_response": {
                "elapsed_business_minutes": summary.first_response.elapsed_minutes,
                "target_business_minutes": summary.first_response.target_minutes,
                "status": summary.first_response.status,
            },
            "resolution": {
                "elapsed_business_minutes": summary.resolution.elapsed_minutes,
                "target_business_minutes": summary.resolution.target_minutes,
                "status": summary.resolution.status,
            },
            "waiting_on_us_seconds": summary.waiting_on_us_seconds,
            "waiting_on_customer_seconds": summary.waiting_on_customer_seconds,
            "waiting_on_customer": summary.is_waiting_on_customer,
            "owners_count": summary.owners_count,
            "repeat_count": summary.repeat_count,
        },
        "open_commitments": Commitment.objects.filter(
            case=case, status=CommitmentStatus.OPEN
        ).count(),
        "pending_gestures": Gesture.objects.filter(case=case, status=GestureStatus.PENDING).count(),
    }


def _gesture_rows() -> Any:
    return Gesture.objects.select_related(
        "gesture_type", "requested_by__user", "approver__user", "decided_by__user"
    )


# ----------------------------------------------------------------------------- reads


@router.get(
    "/cases/{reference}/care",
    response={200: CareOut, **READ},
    summary="Read the case's care workflow: stage, checklist, clocks, what was recorded",
)
@key_scope(KeyScope.CASES_READ)
def read_care(request: HttpRequest, reference: str) -> dict[str, Any]:
    return _care_out(_case(reference))


@router.get(
    "/cases/{reference}/commitments",
    response={200: list[CommitmentOut], **READ},
    summary="List the promises made to the customer on this case",
)
@key_scope(KeyScope.CASES_READ)
def list_commitments(request: HttpRequest, reference: str) -> Any:
    case = _case(reference)
    return Commitment.objects.filter(case=case).select_related("owner__user")


@router.get(
    "/cases/{reference}/gestures",
    response={200: list[GestureOut], **READ},
    summary="List the goodwill gestures on this case",
)
@key_scope(KeyScope.CASES_READ)
def list_gestures(request: HttpRequest, reference: str) -> Any:
    return _gesture_rows().filter(case=_case(reference))


@router.get(
    "/cases/{reference}/links",
    response={200: list[LinkOut], **READ},
    summary="List the cases linked to this one",
)
@key_scope(KeyScope.CASES_READ)
def list_links(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    case = _case(reference)
    # A staff member's key lists only the linked cases that person may see at the desk.
    rows = queries.links_seen_by(case, staff_of(request)).select_related("case", "other")
    return [link_out(row, side=case.pk) for row in rows.order_by("created_at", "id")]


@router.get(
    "/cases/{reference}/escalations",
    response={200: list[EscalationOut], **READ},
    summary="List external escalations (ombudsman, regulator, court) of this case",
)
@key_scope(KeyScope.CASES_READ)
def list_escalations(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    rows = ExternalEscalation.objects.filter(case=_case(reference))
    return [EscalationOut.from_row(row) for row in rows]


# ----------------------------------------------------------------------------- changes


@router.post(
    "/cases/{reference}/stage",
    response={200: CareOut, **CHANGE},
    summary="Move the case to another stage (refused when the stage's requirements are missing)",
)
@key_scope(KeyScope.CASES_WRITE)
def post_stage(request: HttpRequest, reference: str, payload: StageIn) -> dict[str, Any]:
    """Codes: close_without_resolution, close_without_follow_up, stage_without_…,
    stage_not_in_flow, unknown_stage, already_waiting, case_closed."""
    case = _case(reference)
    actions.advance_stage(
        case, payload.stage, by=actor_of(request, KeyScope.CASES_WRITE), reason=payload.reason
    )
    return _care_out(case)


@router.post(
    "/cases/{reference}/assessment",
    response={200: CareOut, **CHANGE},
    summary="Record the initial assessment (severity drives the targets)",
)
@key_scope(KeyScope.CASES_WRITE)
def post_assessment(request: HttpRequest, reference: str, payload: AssessmentIn) -> dict[str, Any]:
    case = _case(reference)
    actions.assess_case(
        case,
        severity=payload.severity,
        complexity=payload.complexity,
        impact=payload.impact,
        needs_immediate_action=payload.needs_immediate_action,
        note=payload.note,
        by=actor_of(request, KeyScope.CASES_WRITE),
    )
    return _care_out(case)


@router.post(
    "/cases/{reference}/fair-outcome",
    response={200: CareOut, **CHANGE},
    summary="Record what the customer would consider fair, in their words",
)
@key_scope(KeyScope.CASES_WRITE)
def post_fair_outcome(request: HttpRequest, reference: str, payload: TextIn) -> dict[str, Any]:
    case = _case(reference)
    actions.record_fair_outcome(case, text=payload.text, by=actor_of(request, KeyScope.CASES_WRITE))
    return _care_out(case)


@router.post(
    "/cases/{reference}/resolution",
    response={200: CareOut, **CHANGE},
    summary="Record the resolution (stops the resolution clock)",
)
@key_scope(KeyScope.CASES_WRITE)
def post_resolution(request: HttpRequest, reference: str, payload: TextIn) -> dict[str, Any]:
    case = _case(reference)
    actions.record_resolution(case, text=payload.text, by=actor_of(request, KeyScope.CASES_WRITE))
    return _care_out(case)


@router.post(
    "/cases/{reference}/plus-one",
    response={200: CareOut, **CHANGE},
    summary="Record the +1: a bonus beyond putting it right",
)
@key_scope(KeyScope.CASES_WRITE)
def post_plus_one(request: HttpRequest, reference: str, payload: TextIn) -> dict[str, Any]:
    case = _case(reference)
    actions.record_plus_one(case, text=payload.text, by=actor_of(request, KeyScope.CASES_WRITE))
    return _care_out(case)


@router.post(
    "/cases/{reference}/follow-up",
    response={200: CareOut, **CHANGE},
    summary="Record the satisfaction check after the fix (or why there was none)",
)
@key_scope(KeyScope.CASES_WRITE)
def post_follow_up(request: HttpRequest, reference: str, payload: FollowUpIn) -> dict[str, Any]:
    case = _case(reference)
    actions.record_follow_up(
        case, outcome=payload.outcome, note=payload.note, by=actor_of(request, KeyScope.CASES_WRITE)
    )
    return _care_out(case)


@router.post(
    "/cases/{reference}/commitments",
    response={201: CommitmentOut, **CHANGE},
    summary="Record a promise to the customer: what, by when, how",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def post_commitment(request: HttpRequest, reference: str, payload: CommitmentIn) -> Status:
    case = _case(reference)
    actor = person_of(request, KeyScope.CASES_WRITE)
    owner = _staff(payload.owner, field="owner") if payload.owner else None
    made = actions.record_commitment(
        case, what=payload.what, due_at=payload.due_at, how=payload.how, by=actor, owner=owner
    )
    return Status(201, Commitment.objects.select_related("owner__user").get(pk=made.pk))


def _commitment(case: Case, commitment_id: int, actor: Staff) -> Commitment:
    return access_commitment(actor, case, commitment_id)


@router.post(
    "/cases/{reference}/commitments/{commitment_id}/keep",
    response={200: CommitmentOut, **CHANGE},
    summary="Mark a commitment kept",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def keep_commitment(
    request: HttpRequest, reference: str, commitment_id: int, payload: KeepIn
) -> Commitment:
    case = _case(reference)
    actor = person_of(request, KeyScope.CASES_WRITE)
    row = actions.keep_commitment(
        _commitment(case, commitment_id, actor), by=actor, note=payload.note
    )
    return Commitment.objects.select_related("owner__user").get(pk=row.pk)


@router.post(
    "/cases/{reference}/commitments/{commitment_id}/break",
    response={200: CommitmentOut, **CHANGE},
    summary="Record that a commitment cannot be kept, and why",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def break_commitment(
    request: HttpRequest, reference: str, commitment_id: int, payload: BreakIn
) -> Commitment:
    case = _case(reference)
    actor = person_of(request, KeyScope.CASES_WRITE)
    row = actions.break_commitment(
        _commitment(case, commitment_id, actor), by=actor, reason=payload.reason
    )
    return Commitment.objects.select_related("owner__user").get(pk=row.pk)


@router.post(
    "/cases/{reference}/gestures",
    response={201: GestureOut, **CHANGE},
    summary="Grant a goodwill gesture, or ask the team lead to approve one above the limit",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def post_gesture(request: HttpRequest, reference: str, payload: GestureIn) -> Status:
    """Within the actor's authority the gesture is ``granted``; above it ``pending_approval``
    (or refused with code gesture_above_limit when ``ask_approval`` is false)."""
    case = _case(reference)
    actor = person_of(request, KeyScope.CASES_WRITE)
    gesture_type = GestureType.objects.filter(key=payload.gesture_type.strip()).first()
    if gesture_type is None:
        raise ApiError(
            f"There is no gesture type “{payload.gesture_type}”.",
            code="unknown_gesture_type",
            field="gesture_type",
            status=422,
        )
    made = actions.grant_gesture(
        case,
        gesture_type=gesture_type,
        value=payload.value,
        currency=payload.currency or queries.default_currency(),
        description=payload.description,
        plus_one=payload.plus_one,
        reason=payload.reason,
        ask_approval=payload.ask_approval,
        by=actor,
    )
    return Status(201, _gesture_rows().get(pk=made.pk))


def _decide(
    request: HttpRequest, reference: str, gesture_id: int, payload: DecisionIn, *, approve: bool
) -> Any:
    case = _case(reference)
    actor = person_of(request, KeyScope.CASES_WRITE)
    row = access_gesture(actor, gesture_id, case=case)
    actions.decide_gesture(row, approve=approve, by=actor, reason=payload.reason)
    audit_decision(request, row, approve=approve, by=actor)
    return _gesture_rows().get(pk=row.pk)


@router.post(
    "/cases/{reference}/gestures/{gesture_id}/approve",
    response={200: GestureOut, **CHANGE},
    summary="Approve a gesture waiting for approval (team lead or manager)",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def approve_gesture(
    request: HttpRequest, reference: str, gesture_id: int, payload: DecisionIn
) -> Any:
    return _decide(request, reference, gesture_id, payload, approve=True)


@router.post(
    "/cases/{reference}/gestures/{gesture_id}/decline",
    response={200: GestureOut, **CHANGE},
    summary="Decline a gesture waiting for approval, with a reason",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def decline_gesture(
    request: HttpRequest, reference: str, gesture_id: int, payload: DecisionIn
) -> Any:
    return _decide(request, reference, gesture_id, payload, approve=False)


@router.post(
    "/cases/{reference}/handoff",
    response={200: CareOut, **CHANGE},
    summary="Warm handoff: a new owner, a summary, and optionally a word to the customer",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def post_handoff(request: HttpRequest, reference: str, payload: HandoffIn) -> dict[str, Any]:
    case = _case(reference)
    actions.warm_handoff(
        case,
        to=_staff(payload.to, field="to"),
        summary=payload.summary,
        tell_customer=payload.tell_customer,
        why=payload.why,
        customer_message=payload.customer_message,
        by=actor_of(request, KeyScope.CASES_WRITE),
    )
    return _care_out(case)


@router.post(
    "/cases/{reference}/merge",
    response={200: CareOut, **CHANGE},
    summary="Merge this (duplicate) case into another case of the same customer",
)
@key_scope(KeyScope.CASES_WRITE, person=True)
def post_merge(request: HttpRequest, reference: str, payload: MergeIn) -> dict[str, Any]:
    """Both timelines are kept; this case is closed and linked as a duplicate."""
    case = _case(reference)
    actor = person_of(request, KeyScope.CASES_WRITE)
    # The case kept is changed too: the same boundary as the desk's merge (care/views.py).
    actions.merge_cases(case, into=access_case_to_work(actor, payload.into), by=actor)
    return _care_out(case)


@router.post(
    "/cases/{reference}/links",
    response={201: LinkOut, **CHANGE},
    summary="Link a related case",
)
@key_scope(KeyScope.CASES_WRITE)
def post_link(request: HttpRequest, reference: str, payload: LinkIn) -> Status:
    case = _case(reference)
    actor = actor_of(request, KeyScope.CASES_WRITE)
    # A staff member links only to a case they may see (as at the desk); the system, any.
    other = _case(payload.other) if actor is None else access_case(actor, payload.other)
    link = actions.link_cases(case, other=other, type_=payload.type, by=actor)
    return Status(201, link_out(link, side=case.pk))


@router.post(
    "/cases/{reference}/escalations",
    response={201: EscalationOut, **CHANGE},
    summary="Record that the complaint was taken to an external body (ISO 10003)",
)
@key_scope(KeyScope.CASES_WRITE)
def post_escalation(request: HttpRequest, reference: str, payload: EscalationIn) -> Status:
    case = _case(reference)
    row = actions.record_escalation(
        case,
        body=payload.body,
        body_name=payload.body_name,
        escalated_on=payload.escalated_on,
        reference=payload.reference,
        outcome=payload.outcome,
        by=actor_of(request, KeyScope.CASES_WRITE),
    )
    return Status(201, EscalationOut.from_row(row))
