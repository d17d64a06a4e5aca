"""REST API shapes of customers (snake_case; a customer's id is a string)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import field_validator, model_validator

from cherish.api_common import Problem, SingleLine
from cherish.customers.models import ContactKind, Customer, LeaveReasonKind, RelationshipStatus
from cherish.customers.normalise import normalise_email, normalise_phone

MAX_NEW_POINTS = 10


def _valid_email(value: str) -> str:
    if value and normalise_email(value) is None:
        raise ValueError("is not a valid email address")
    return value


def _valid_phone(value: str) -> str:
    if value and normalise_phone(value) is None:
        raise ValueError("is not a valid phone number")
    return value


class CustomerOut(Schema):
    id: str
    name: str
    external_id: str | None
    status: str
    language: str
    emails: list[str]
    phones: list[str]
    merged_into: str | None = Field(
        None, description="Set when this record was merged into another customer (its id)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_id(obj: Customer) -> str:
        return str(obj.pk)

    @staticmethod
    def resolve_emails(obj: Customer) -> list[str]:
        return [p.value for p in obj.contact_points.all() if p.kind == ContactKind.EMAIL]

    @staticmethod
    def resolve_phones(obj: Customer) -> list[str]:
        return [p.value for p in obj.contact_points.all() if p.kind == ContactKind.PHONE]

    @staticmethod
    def resolve_merged_into(obj: Customer) -> str | None:
        return str(obj.merged_into_id) if obj.merged_into_id else None


class CustomerIn(Schema):
    name: SingleLine = Field("", max_length=200)
    email: SingleLine = Field("", max_length=254)
    phone: SingleLine = Field("", max_length=40)
    external_id: SingleLine = Field("", max_length=100, description="Your system's id.")
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    language: SingleLine = Field("", max_length=8, description="e.g. en, de, fr")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _valid_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return _valid_phone(value)

    @model_validator(mode="after")
    def _identified(self) -> CustomerIn:
        if not (self.email or self.phone or self.external_id):
            raise ValueError("give at least one of email, phone or external_id")
        if self.status == RelationshipStatus.LEFT:
            raise ValueError("a new customer cannot have left; set status later with a reason")
        return self


class CustomerPatch(Schema):
    """Only the fields sent change. Emails and phones are added, never replaced."""

    name: SingleLine | None = Field(None, max_length=200)
    status: RelationshipStatus | None = None
    leave_reason: LeaveReasonKind | None = Field(
        None, description="Required with status 'left': why the customer left."
    )
    language: SingleLine | None = Field(None, max_length=8)
    external_id: SingleLine | None = Field(None, min_length=1, max_length=100)
    add_emails: list[SingleLine] = Field(default_factory=list, max_length=MAX_NEW_POINTS)
    add_phones: list[SingleLine] = Field(default_factory=list, max_length=MAX_NEW_POINTS)

    @field_validator("add_emails")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > 254 or normalise_email(value) is None:
                raise ValueError(f"“{value[:60]}” is not a valid email address")
        return values

    @field_validator("add_phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > 40 or normalise_phone(value) is None:
                raise ValueError(f"“{value[:60]}” is not a valid phone number")
        return values


class CustomerExistsProblem(Problem):
    """409 customer_exists: the email, phone or external_id already belongs to a customer."""

    customer_id: str = Field(description="The id of the customer they belong to.")
