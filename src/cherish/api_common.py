"""What every app's api.py shares: the problem-details error shape and safe input strings.

Problem details (RFC 9457) are the one error shape of the REST API. Each api.py declares its
error responses with ``problems(...)``; cherish/api.py turns every refusal (CherishError,
validation, authentication, not found, malformed JSON) into this shape with the
``application/problem+json`` media type.
"""

from __future__ import annotations

import datetime as dt
import json
from http import HTTPStatus
from typing import Annotated, Any

from django.http import HttpResponse
from ninja import Schema
from pydantic import AfterValidator

from cherish.core.errors import CherishError
from cherish.core.text import clean_text

PROBLEM_CONTENT_TYPE = "application/problem+json"


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    """What went wrong, for people (title, detail) and for programs (status, code, errors)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] = []


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """The error responses of a route, for its ``response=`` declaration."""
    return dict.fromkeys(statuses, Problem)


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": f"urn:cherish:problem:{code}",
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
        **extra,
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    body = problem_body(status, code, detail, errors=errors, **extra)
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


class ApiError(CherishError):
    """A refusal that only exists at the API edge (bad header, unknown cursor, conflict)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.status = status
        self.extra = extra or {}


_CONTROL = {*range(32), 127} - {9, 10, 13}


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _single_line(value: str) -> str:
    _encodable(value)
    if any(ord(ch) in _CONTROL or ch in "\r\n" for ch in value):
        raise ValueError("must be one line without control characters")
    return value.strip()


def _required_text(value: str) -> str:
    value = clean_text(_encodable(value))
    if not value:
        raise ValueError("must not be empty")
    return value


# One-line values (names, subjects, ids): no line breaks or control characters, trimmed.
# Give the length with Field(max_length=...) where the field is declared.
SingleLine = Annotated[str, AfterValidator(_single_line)]
# Free text (a message): line ends normalised, control characters dropped, not empty.
Text = Annotated[str, AfterValidator(_required_text)]


def parse_id(value: str) -> int | None:
    """A numeric id from a path or query value, or None (never an overflow or a negative)."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        return None
    number = int(value)
    return number if number > 0 else None


def since_utc(value: dt.datetime) -> dt.datetime:
    """An ``updated_since`` filter as an aware UTC time the database accepts.

    A naive time is UTC. Python allows offsets up to 24 hours, PostgreSQL only up to 16: in
    UTC the offset is gone. A time so early that UTC falls before year 1 means "from the start".
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    try:
        return aware.astimezone(dt.UTC)
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
