"""REST API shapes of the care workflow (snake_case, public ids: references and usernames)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from cherish.care.models import (
    CaseLink,
    Commitment,
    ExternalEscalation,
    Gesture,
)

WHO_ACTS = (
    "Who acts is taken from the API key, never from the body: a staff member's key acts as "
    "them, an integration key acts as the system. An `actor` field is ignored."
)


class ActorIn(Schema):
    model_config = ConfigDict(json_schema_extra={"description": WHO_ACTS})


class StageIn(ActorIn):
    stage: str = Field(
        ...,
        max_length=16,
        description=(
            "received, acknowledged, listening, responding, recovering, plus_one, "
            "following_up, waiting (pauses the clock) or closed; the case's kind decides which."
        ),
    )
    reason: str = Field("", max_length=500)


class TextIn(ActorIn):
    text: str = Field(..., max_length=5000)


class FollowUpIn(ActorIn):
    outcome: str = Field(
        ..., max_length=16, description="satisfied, partly, not_satisfied, no_answer, not_done"
    )
    note: str = Field("", max_length=2000, description="Needed for no_answer and not_done.")


class AssessmentIn(ActorIn):
    severity: str = Field(..., max_length=8, description="low, normal, high, critical")
    complexity: str = Field(..., max_length=10, description="simple, moderate, complex")
    impact: str = Field(..., max_length=10, description="low, medium, high")
    needs_immediate_action: bool = False
    note: str = Field("", max_length=2000)


class CommitmentIn(ActorIn):
    what: str = Field(..., max_length=300)
    due_at: dt.datetime = Field(..., description="ISO 8601 with a time zone.")
    how: str = Field(..., max_length=8, description="call, email, visit, letter, other")
    owner: str | None = Field(
        None, max_length=150, description="Username; defaults to the case owner."
    )


class KeepIn(ActorIn):
    note: str = Field("", max_length=2000)


class BreakIn(ActorIn):
    reason: str = Field(..., max_length=2000)


class GestureIn(ActorIn):
    gesture_type: str = Field(
        ...,
        max_length=40,
        description="refund, credit, voucher, replacement, free_extra, personal_note, …",
    )
    value: Decimal = Field(Decimal("0"), ge=0, max_digits=10, decimal_places=2)
    currency: str = Field("", max_length=3, description="ISO 4217; default the organisation's.")
    description: str = Field("", max_length=300)
    plus_one: bool = Field(False, description="The +1: a bonus beyond putting it right.")
    reason: str = Field("", max_length=1000)
    ask_approval: bool = Field(
        True,
        description=(
            "Above the actor's authority limit: true sends it to the team lead for approval, "
            "false refuses it (code gesture_above_limit)."
        ),
    )


class DecisionIn(ActorIn):
    reason: str = Field("", max_length=1000, description="Needed to decline.")


class HandoffIn(ActorIn):
    to: str = Field(..., max_length=150, description="Username of the new owner.")
    summary: str = Field(..., max_length=5000, description="What the new owner needs to know.")
    tell_customer: bool = False
    why: str = Field("", max_length=300)
    customer_message: str = Field("", max_length=5000)


class MergeIn(ActorIn):
    into: str = Field(..., max_length=12, description="Reference of the case that carries on.")


class LinkIn(ActorIn):
    other: str = Field(..., max_length=12, description="Reference of the other case.")
    type: str = Field("related", max_length=10, description="related or duplicate")


class EscalationIn(ActorIn):
    body: str = Field(..., max_length=12, description="ombudsman, regulator, court, other")
    body_name: str = Field("", max_length=150)
    escalated_on: dt.date
    reference: str = Field("", max_length=100)
    outcome: str = Field("", max_length=5000)


# ----------------------------------------------------------------------------- out


class CommitmentOut(Schema):
    id: int
    what: str
    due_at: dt.datetime
    how: str
    status: str
    owner: str
    kept_at: dt.datetime | None
    kept_on_time: bool
    outcome_note: str

    @staticmethod
    def resolve_owner(obj: Commitment) -> str:
        return obj.owner.user.username


class GestureOut(Schema):
    id: int
    gesture_type: str
    value: Decimal
    currency: str
    description: str
    plus_one: bool
    status: str
    requested_by: str
    approver: str | None
    decided_by: str | None
    reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_gesture_type(obj: Gesture) -> str:
        return obj.gesture_type.key

    @staticmethod
    def resolve_plus_one(obj: Gesture) -> bool:
        return obj.is_plus_one

    @staticmethod
    def resolve_requested_by(obj: Gesture) -> str:
        return obj.requested_by.user.username

    @staticmethod
    def resolve_approver(obj: Gesture) -> str | None:
        return obj.approver.user.username if obj.approver else None

    @staticmethod
    def resolve_decided_by(obj: Gesture) -> str | None:
        return obj.decided_by.user.username if obj.decided_by else None


class LinkOut(Schema):
    reference: str
    type: str


class EscalationOut(Schema):
    id: int
    body: str
    body_name: str
    escalated_on: dt.date
    reference: str
    outcome: str
    decided_on: dt.date | None

    @staticmethod
    def from_row(row: ExternalEscalation) -> dict[str, Any]:
        return {
            "id": row.pk,
            "body": row.body,
            "body_name": row.body_name,
            "escalated_on": row.escalated_on,
            "reference": row.reference,
            "outcome": row.outcome,
            "decided_on": row.decided_on,
        }


class ClockOut(Schema):
    elapsed_business_minutes: int
    target_business_minutes: int | None
    status: str = Field(description="ok, warning, breached while running; met or missed; none")


class ClocksOut(Schema):
    first_personal_response: ClockOut
    resolution: ClockOut
    waiting_on_us_seconds: int
    waiting_on_customer_seconds: int
    waiting_on_customer: bool
    owners_count: int
    repeat_count: int


class AssessmentOut(Schema):
    severity: str
    complexity: str
    impact: str
    needs_immediate_action: bool
    note: str
    assessed_at: dt.datetime | None


class FollowUpOut(Schema):
    outcome: str
    note: str
    at: dt.datetime | None


class CareOut(Schema):
    """The case's place in the care workflow, with what was recorded and its clocks."""

    reference: str
    kind: str
    stage: str
    stage_label: str
    is_open: bool
    checklist: list[str]
    fair_outcome: str
    resolution: str
    plus_one: str
    follow_up: FollowUpOut
    assessment: AssessmentOut
    clocks: ClocksOut
    open_commitments: int
    pending_gestures: int


def link_out(link: CaseLink, *, side: int) -> dict[str, Any]:
    other = link.other if link.case_id == side else link.case
    return {"reference": other.reference, "type": link.type}
