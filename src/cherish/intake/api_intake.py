"""What the API adds to the intake path: Idempotency-Key handling.

Idempotency: the first request with a key inserts an IdempotencyKey row in its own
transaction, so the database's unique constraint decides which of several concurrent
requests does the work. The winner stores its response in the same transaction that writes
the case, so "case exists" and "response stored" are one fact. The others wait briefly for
that response and replay it; a key reused for a different body is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from cherish.api_common import PROBLEM_CONTENT_TYPE, ApiError, problem_body
from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.intake.models import ApiKey, IdempotencyKey

# How long a retry waits for the first request with its key to finish before answering 409.
IDEMPOTENCY_WAIT_SECONDS = 10.0
# A key still without a response after this long belongs to a request that died before its
# transaction committed (so it wrote nothing): a retry may take it over.
IDEMPOTENCY_STALE_AFTER = dt.timedelta(minutes=2)
MAX_KEY_LENGTH = 200


def request_fingerprint(scope: str, body: Any) -> str:
    canonical = json.dumps(
        {"scope": scope, "body": body}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def json_data(out: Schema) -> dict[str, Any]:
    """An Out schema as the JSON the API sends (datetimes as Ninja writes them)."""
    return dict(json.loads(json.dumps(out.model_dump(), cls=NinjaJSONEncoder)))


def json_response(status: int, data: Any) -> HttpResponse:
    """A response from data already shaped by an Out schema (stored for replays as is)."""
    return HttpResponse(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE if status >= 400 else "application/json; charset=utf-8",
    )


def replay_response(record: IdempotencyKey) -> HttpResponse:
    response = json_response(record.status_code or 200, record.response)
    response["Idempotent-Replayed"] = "true"
    return response


@dataclass
class Claim:
    """The outcome of presenting an Idempotency-Key: either do the work, or replay."""

    record: IdempotencyKey | None = None
    replay: HttpResponse | None = None

    def remember(self, status: int, data: dict[str, Any]) -> None:
        """Store the response; call inside the transaction that did the work."""
        if self.record is not None:
            IdempotencyKey.objects.filter(pk=self.record.pk).update(
                status_code=status, response=data
            )

    def remember_refusal(self, error: CherishError) -> None:
        """A business refusal is the answer to this request too: retries get the same one."""
        body = problem_body(
            error.status,
            error.code,
            error.message,
            errors=[{"field": error.field, "message": error.message}] if error.field else [],
        )
        self.remember(error.status, body)

    def release(self) -> None:
        """The work failed unexpectedly and wrote nothing: let a retry try again."""
        if self.record is not None:
            IdempotencyKey.objects.filter(pk=self.record.pk, status_code__isnull=True).delete()


def claim_idempotency(api_key: ApiKey, key: str | None, *, scope: str, body: Any) -> Claim:
    """Decide whether this request does the work (Claim.record) or replays (Claim.replay).

    Without a key there is nothing to claim. Refuses a key reused with another body (422
    ``idempotency_key_reused``) and, when the first request is still running after a short
    wait, answers 409 ``request_in_progress``.
    """
    if key is None:
        return Claim()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            code="invalid_idempotency_key",
            status=422,
            field="Idempotency-Key",
        )
    fingerprint = request_fingerprint(scope, body)
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    api_key=api_key, key=key, request_hash=fingerprint
                )
            return Claim(record=record)
        except IntegrityError:
            pass  # another request holds this key: look at what it stored below
        existing = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
        if existing is None:  # the first request failed and let go of the key: try again
            continue
        if existing.request_hash != fingerprint:
            raise ApiError(
                "This Idempotency-Key was already used for a different request. Use a new "
                "key for a new request.",
                code="idempotency_key_reused",
                status=422,
                field="Idempotency-Key",
            )
        if existing.status_code is not None:
            return Claim(replay=replay_response(existing))
        if existing.created_at < now() - IDEMPOTENCY_STALE_AFTER:
            taken = IdempotencyKey.objects.filter(
                pk=existing.pk, status_code__isnull=True, created_at=existing.created_at
            ).update(created_at=now())
            if taken:
                return Claim(record=existing)
            continue
        if time.monotonic() >= deadline:
            raise ApiError(
                "A request with this Idempotency-Key is still being processed. Retry shortly "
                "to get its response.",
                code="request_in_progress",
                status=409,
            )
        time.sleep(0.05)
