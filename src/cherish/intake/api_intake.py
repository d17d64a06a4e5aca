"""What the API adds to the intake path: Idempotency-Key handling.

A key is claimed by inserting its IdempotencyKey row in the same transaction that makes the
request's work binding: the queued contact of a new case (intake.actions.accept_contact,
``claim=``), or the work itself for everything else. The database's unique constraint
decides which of several concurrent requests wins; the loser's transaction rolls back (it
wrote nothing) and it replays the winner's answer. A request killed before that commit
leaves no key behind, so its retry simply does the work; one killed after it left a queued
contact, which the intake applier adds to its case, and the retry answers from it.

The response is stored with the work's outcome (in the applier's transaction for a queued
contact), so "case exists" and "response stored" are one fact. A retry that arrives first
waits for it. A key stands for the first request that reached this point: a request refused
before it (invalid body, unknown case, unknown author) binds nothing; one refused by a
business rule after it binds the key to that refusal (docs/api.md, "Retries").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from cherish.api_common import PROBLEM_CONTENT_TYPE, ApiError, problem_body
from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.core.rows import RowInsert, RowSelect
from cherish.intake.actions import DuplicateRequest
from cherish.intake.models import ApiKey, IdempotencyKey, RawContact, RawStatus

# How long a retry waits for the first request with its key to finish before answering 409.
IDEMPOTENCY_WAIT_SECONDS = 10.0
# A key without a response and without a queued contact can only have been left by an older
# version of Cherish (which claimed keys in a transaction of their own) for a request that
# died: after this long a retry takes it over.
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


def json_text(data: Any) -> str:
    """The body json_response sends for ``data``."""
    return json.dumps(data, ensure_ascii=False)


def json_text_of(dumped: dict[str, Any]) -> str:
    """``json_text(json_data(out))`` from ``out.model_dump()`` in one encoding (datetimes
    as Ninja writes them)."""
    return json.dumps(dumped, cls=NinjaJSONEncoder, ensure_ascii=False)


def json_response(status: int, data: Any) -> HttpResponse:
    """A response from data already shaped by an Out schema (stored for replays as is)."""
    return text_response(status, json_text(data))


def text_response(status: int, text: str) -> HttpResponse:
    """json_response of a body already written as JSON text (``json_text``)."""
    return HttpResponse(
        text,
        status=status,
        content_type=PROBLEM_CONTENT_TYPE if status >= 400 else "application/json; charset=utf-8",
    )


def replay_response(record: IdempotencyKey) -> HttpResponse:
    response = json_response(record.status_code or 200, record.response)
    response["Idempotent-Replayed"] = "true"
    return response


@dataclass
class Claim:
    """The outcome of presenting an Idempotency-Key: either do the work, or replay.

    To do the work, call ``take`` first in the transaction that makes it binding, and
    ``remember`` (or ``remember_refusal``) in the transaction that has its outcome.
    """

    api_key: ApiKey | None = None
    key: str | None = None
    fingerprint: str = ""
    record: IdempotencyKey | None = None
    replay: HttpResponse | None = None

    def __call__(self, raw: RawContact | None = None) -> None:
        """The claim as accept_contact runs it (``claim=``): ``take``."""
        self.take(raw)

    def journal_key(self) -> tuple[int, str, str] | None:
        """The key as the intake journal holds it with the request's contact (one entry per
        key; the applier process claims it in the database when it moves the entry)."""
        if self.key is None or self.api_key is None:
            return None
        return (self.api_key.pk, self.key, self.fingerprint)

    def record_for(self, raw: RawContact) -> IdempotencyKey | None:
        """The key's row, not yet saved, for the intake applier to insert with others
        (intake.actions.store_queued_together: one INSERT for a group, which fails as a
        whole on a key taken and is then claimed one by one with ``take``)."""
        if self.key is None or self.api_key is None:
            return None
        self.record = IdempotencyKey(
            api_key=self.api_key, key=self.key, request_hash=self.fingerprint, raw=raw
        )
        self.record.created_at = now()
        return self.record

    def take(self, raw: RawContact | None = None) -> None:
        """Insert the key in the caller's transaction; DuplicateRequest when it is taken."""
        self.record = None
        if self.key is None or self.api_key is None:
            return
        record = IdempotencyKey(
            api_key=self.api_key, key=self.key, request_hash=self.fingerprint, raw=raw
        )
        record.created_at = now()
        try:
            with transaction.atomic():
                _KEY_ROWS.add([record])  # plain SQL (core.rows): cheaper than create()
        except IntegrityError as error:
            raise DuplicateRequest(self.key) from error
        self.record = record

    def remember(self, status: int, data: dict[str, Any]) -> None:
        """Store the response; call inside the transaction that did the work (outside one,
        it takes its own: a write waits in the writer queue, not in SQLite's busy handler)."""
        self.remember_text(status, json_text(data))

    def remember_text(self, status: int, text: str) -> None:
        """``remember`` of a response already written as JSON text (``json_text``)."""
        if self.record is not None:
            # One statement needs no savepoint inside the caller's transaction; plain SQL:
            # the ORM's building of this UPDATE cost more than the statement.
            with transaction.atomic(savepoint=False):
                _remember(self.record.pk, status, text)

    def remember_refusal(self, error: CherishError) -> None:
        """A business refusal is the answer to this request too: retries get the same one."""
        body = problem_body(
            error.status,
            error.code,
            error.message,
            errors=[{"field": error.field, "message": error.message}] if error.field else [],
        )
        self.remember(error.status, body)


Rebuild = Callable[[RawContact], "tuple[int, dict[str, Any]] | None"]


def claim_idempotency(
    api_key: ApiKey,
    key: str | None,
    *,
    scope: str,
    body: Any,
    rebuild: Rebuild | None = None,
    look: bool = True,
) -> Claim:
    """Decide whether this request does the work (then ``Claim.take``) or replays.

    Without a key there is nothing to claim. Refuses a key reused with another body (422
    ``idempotency_key_reused``). A key whose queued contact is not applied yet is waited
    for (the applier is asked to apply it now); ``rebuild(raw)`` makes the response of a
    contact applied by a process that died before storing it. After a short wait without an
    answer: 409 ``request_in_progress``.

    ``look=False``: the key is not looked up; the request does the work, and the store
    that binds the key finds it taken (DuplicateRequest) if another request has it, for
    the caller to ``claim_idempotency`` again and replay (``POST /cases``: a new key is the
    rule and a retry the exception, and the two reads were 8 % of its web process's CPU).
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
    if not look:
        return Claim(api_key=api_key, key=key, fingerprint=fingerprint)
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        # Plain SQL: this read runs for every request with a key, and the ORM's query
        # building cost more CPU than the read.
        existing = next(iter(_KEY_SQL.fetch([api_key.pk, key])), None)
        if existing is None:
            pending = _in_journal(api_key.pk, key)
            if pending is None:
                return Claim(api_key=api_key, key=key, fingerprint=fingerprint)
            if pending.request_hash != fingerprint:
                raise _key_reused()
            # Its first request's contact waits in the intake journal: once the applier
            # process has moved it, the key is in the database with its answer.
            if time.monotonic() >= deadline:
                raise in_progress()
            time.sleep(0.05)
            continue
        if existing.request_hash != fingerprint:
            raise _key_reused()
        if existing.status_code is not None:
            return Claim(replay=replay_response(existing))
        if existing.raw_id is not None:
            replay = _answer_from_contact(existing, deadline, rebuild)
            if replay is not None:
                return Claim(replay=replay)
        elif existing.created_at < now() - IDEMPOTENCY_STALE_AFTER:
            # Writes in a transaction wait in the writer queue, not in SQLite's busy handler.
            with transaction.atomic():
                IdempotencyKey.objects.filter(pk=existing.pk, status_code__isnull=True).delete()
            continue
        if time.monotonic() >= deadline:
            raise in_progress()
        time.sleep(0.05)


def _key_reused() -> ApiError:
    return ApiError(
        "This Idempotency-Key was already used for a different request. Use a new "
        "key for a new request.",
        code="idempotency_key_reused",
        status=422,
        field="Idempotency-Key",
    )


def in_progress() -> ApiError:
    """The 409 for a key whose first request has not finished."""
    return ApiError(
        "A request with this Idempotency-Key is still being processed. Retry shortly "
        "to get its response.",
        code="request_in_progress",
        status=409,
    )


def _in_journal(api_key: int, key: str) -> Any:
    """The intake journal's entry that holds this key, if the journal is in use and has one."""
    from cherish.intake import journal

    return journal.find_key(api_key, key) if journal.in_use() else None


def stored_answer(api_key: ApiKey, key: str) -> HttpResponse | None:
    """The response stored for this key (by the applier process that applied its contact),
    as the first request answers it; None if none is stored."""
    record = next(iter(_KEY_SQL.fetch([api_key.pk, key])), None)
    if record is None or record.status_code is None:
        return None
    return json_response(record.status_code, record.response)


_KEY_SQL = RowSelect(IdempotencyKey, "api_key_id = %s AND key = %s")
_KEY_ROWS = RowInsert(IdempotencyKey)


def _remember(pk: int, status: int, text: str) -> None:
    """Store the response (JSON text) of the key ``pk`` unless one is stored already."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta = IdempotencyKey._meta
    # The text as it is: the JSON column's own preparation would encode the data again.
    value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET status_code = %s, response = {value}"
            " WHERE id = %s AND status_code IS NULL",
            [status, text, pk],
        )


def _answer_from_contact(
    record: IdempotencyKey, deadline: float, rebuild: Rebuild | None
) -> HttpResponse | None:
    """The answer of a key taken with a queued contact, once the contact is applied."""
    from cherish.intake.applier import Ticket, applier

    raw = RawContact.objects.filter(pk=record.raw_id).first()
    if raw is not None and raw.status == RawStatus.QUEUED:
        # Its request may have died: ask this process's applier to apply it now (applying
        # is safe from anywhere; a contact already applied is skipped).
        ticket = Ticket(raw.pk)
        applier().submit(ticket)
        ticket.done.wait(max(0.0, deadline - time.monotonic()))
    record.refresh_from_db()
    if record.status_code is not None:
        return replay_response(record)
    raw = RawContact.objects.filter(pk=record.raw_id).first()
    if raw is None or raw.status == RawStatus.QUEUED or rebuild is None:
        return None
    rebuilt = rebuild(raw)
    if rebuilt is None:
        return None
    with transaction.atomic():
        IdempotencyKey.objects.filter(pk=record.pk, status_code__isnull=True).update(
            status_code=rebuilt[0], response=rebuilt[1]
        )
    record.refresh_from_db()
    return replay_response(record)
