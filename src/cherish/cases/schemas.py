"""REST API shapes of cases, their messages and history (snake_case, public ids only)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any, Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import BaseModel, field_validator, model_validator

from cherish.api_common import SingleLine, Text
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Case, CaseEvent, Channel, Kind, Message
from cherish.customers.normalise import normalise_email, normalise_phone
from cherish.staff.models import Staff

# What the public form accepts, recognised by content (magic bytes), not by the name sent.
ATTACHMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


# ----------------------------------------------------------------------------- out


class StaffRef(Schema):
    name: str
    username: str

    @staticmethod
    def resolve_name(obj: Staff) -> str:
        return obj.display_name

    @staticmethod
    def resolve_username(obj: Staff) -> str:
        return obj.user.username


class CustomerRef(Schema):
    id: str = Field(description="The customer's id in this API (GET /api/v1/customers/{id}).")
    name: str

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(obj.pk)


class TriageOut(Schema):
    """What triage read in the case's newest inbound message. Every field may be absent."""

    kind: str | None = None
    kind_confidence: float | None = None
    emotion: str | None = None
    intensity: float | None = None
    urgency: str | None = None
    urgency_reason: str | None = None
    flags: list[str] = Field(
        default_factory=list, description="Any of leaving, legal, public, vulnerable, safety."
    )
    topic: str | None = None
    phase: str | None = None
    language: str | None = None
    reasons: dict[str, list[str]] = Field(
        default_factory=dict, description="The words or features that drove each result."
    )
    model_version: str | None = None


def triage_out(raw: Any) -> TriageOut | None:
    """Case.triage as the API shows it; odd or missing parts are left out, never an error."""
    if not isinstance(raw, dict) or not raw:
        return None
    data: dict[str, Any] = {}
    for name in ("kind", "emotion", "urgency", "urgency_reason", "topic", "phase", "language"):
        if isinstance(raw.get(name), str):
            data[name] = raw[name]
    if raw.get("model_version") is not None:
        data["model_version"] = str(raw["model_version"])
    for name in ("kind_confidence", "intensity"):
        value = raw.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            data[name] = float(value)
    if isinstance(raw.get("flags"), list):
        data["flags"] = [str(flag) for flag in raw["flags"]]
    reasons = raw.get("reasons")
    if isinstance(reasons, dict):
        data["reasons"] = {
            str(key): [str(item) for item in value] if isinstance(value, list) else [str(value)]
            for key, value in reasons.items()
        }
    return TriageOut(**data)


class CaseOut(Schema):
    reference: str
    kind: str
    stage: str
    is_open: bool
    severity: str
    channel: str
    subject: str
    order: str
    owner: StaffRef | None
    team: str | None
    customer: CustomerRef
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    triage: TriageOut | None = Field(
        None, description="Present once triage has read the case's newest message."
    )
    badges: list[str] = Field(
        default_factory=list,
        description="The case's risk flags over its whole history (urgent, angry, safety, "
        "vulnerable, legal, leaving, public: raised by any message or by staff, lowered only "
        "by staff) and the care workflow's marks (overdue, escalated), most alarming first.",
    )

    @staticmethod
    def resolve_badges(obj: Case) -> list[str]:
        return [str(badge) for badge in obj.badges or []]

    @staticmethod
    def resolve_order(obj: Case) -> str:
        return obj.order_reference

    @staticmethod
    def resolve_team(obj: Case) -> str | None:
        return obj.team.name if obj.team_id and obj.team else None

    @staticmethod
    def resolve_triage(obj: Case) -> TriageOut | None:
        return triage_out(obj.triage)


class CaseCreatedOut(CaseOut):
    message_id: int = Field(description="The message this request added.")
    opened: bool = Field(description="True when a new case was opened (201), false when threaded.")


class AttachmentOut(Schema):
    id: str
    filename: str
    content_type: str
    size: int

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(obj.public_id)

    @staticmethod
    def resolve_filename(obj: Any) -> str:
        return str(obj.original_name)


class MessageOut(Schema):
    id: int
    direction: Literal["in", "out", "note"]
    channel: str
    subject: str
    body_text: str
    author: StaffRef | None
    is_automatic: bool
    created_at: dt.datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj: Message) -> list[Any]:
        return list(obj.attachments.all())


class EventOut(Schema):
    type: str
    actor: StaffRef | None
    data: dict[str, Any]
    created_at: dt.datetime

    @staticmethod
    def resolve_data(obj: CaseEvent) -> dict[str, Any]:
        return obj.data if isinstance(obj.data, dict) else {"value": obj.data}


class CaseDetailOut(CaseOut):
    messages: list[MessageOut]
    events: list[EventOut]

    @staticmethod
    def resolve_messages(obj: Case) -> list[Message]:
        return list(obj.messages.all())

    @staticmethod
    def resolve_events(obj: Case) -> list[CaseEvent]:
        return list(obj.events.all())


class CasePageOut(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(
        None, description="Pass as ?cursor= for the next page; null on the last page."
    )


# ------------------------------------------------------------------------------ in

# What a request sends is a plain pydantic model, not a ninja Schema: a Schema reads its
# input through ninja's DjangoGetter (made for reading model instances), and a complaint's
# body validated in 121 µs as a Schema against 34 as a model (issue #14: the API's intake).


class AttachmentIn(BaseModel):
    filename: SingleLine = Field(min_length=1, max_length=255)
    content_type: Literal["application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"]
    content_base64: str = Field(min_length=4, description="The file's bytes, base64-encoded.")

    @field_validator("content_base64")
    @classmethod
    def _decodable(cls, value: str) -> str:
        limit = settings.CHERISH_MAX_ATTACHMENT_BYTES
        if len(value) > (limit + 2) // 3 * 4 + 8:
            raise ValueError(f"the file is larger than {limit // (1024 * 1024)} MB")
        try:
            content = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None
        if not content:
            raise ValueError("the file is empty")
        if len(content) > limit:
            raise ValueError(f"the file is larger than {limit // (1024 * 1024)} MB")
        return value

    @model_validator(mode="after")
    def _matches_type(self) -> AttachmentIn:
        head = base64.b64decode(self.content_base64[:64])
        magics = ATTACHMENT_TYPES[self.content_type]
        if not any(head.startswith(magic) for magic in magics) or (
            self.content_type == "image/webp" and head[8:12] != b"WEBP"
        ):
            raise ValueError(
                f"the file's content is not {self.content_type} (only images and PDF are accepted)"
            )
        return self

    def to_new_attachment(self) -> NewAttachment:
        return NewAttachment(
            name=self.filename,
            content_type=self.content_type,
            content=base64.b64decode(self.content_base64),
        )


def _attachments_within_limit(value: list[AttachmentIn]) -> list[AttachmentIn]:
    if len(value) > settings.CHERISH_MAX_ATTACHMENTS:
        raise ValueError(f"at most {settings.CHERISH_MAX_ATTACHMENTS} attachments")
    return value


class CaseCustomerIn(BaseModel):
    name: SingleLine = Field("", max_length=200)
    email: SingleLine = Field("", max_length=254)
    phone: SingleLine = Field("", max_length=40)
    external_id: SingleLine = Field("", max_length=100)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and normalise_email(value) is None:
            raise ValueError("is not a valid email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and normalise_phone(value) is None:
            raise ValueError("is not a valid phone number")
        return value

    @model_validator(mode="after")
    def _identified(self) -> CaseCustomerIn:
        if not (self.email or self.phone or self.external_id):
            raise ValueError("give at least one of email, phone or external_id")
        return self


class CaseIn(BaseModel):
    customer: CaseCustomerIn
    text: Text = Field(min_length=1, max_length=20_000, description="What the customer said.")
    channel: Channel = Field(Channel.API, description="Where the customer said it.")
    kind: Kind | None = Field(
        None, description="Set only when the customer chose it; otherwise triage decides."
    )
    subject: SingleLine = Field("", max_length=200)
    reference: SingleLine | None = Field(
        None,
        max_length=20,
        description="A case of the same customer to add this to; otherwise a new case opens.",
    )
    order: SingleLine = Field("", max_length=100, description="The customer's order number.")
    attachments: list[AttachmentIn] = Field(default_factory=list)

    @field_validator("attachments")
    @classmethod
    def _few(cls, value: list[AttachmentIn]) -> list[AttachmentIn]:
        return _attachments_within_limit(value)


class MessageIn(Schema):
    """A message on a case. The author of a reply or note is the staff member whose API key
    sends it (an integration key may only add the customer's messages); an `author` field in
    the body is ignored."""

    direction: Literal["in", "out", "note"] = Field(
        description="in: from the customer (scope cases:create); out: a reply to the customer, "
        "note: internal (both by the key's staff member; integration keys get 403)."
    )
    text: Text = Field(min_length=1, max_length=20_000)
    channel: Channel | None = Field(
        None, description="For direction in: where the customer wrote (default api)."
    )
    subject: SingleLine = Field("", max_length=200)
    attachments: list[AttachmentIn] = Field(default_factory=list)

    @field_validator("attachments")
    @classmethod
    def _few(cls, value: list[AttachmentIn]) -> list[AttachmentIn]:
        return _attachments_within_limit(value)
