"""Deliver a row at most once at a time, retry with exponential backoff, keep the error.

The pattern every outbox task follows (and any other task whose work is "send this row"):

1. *claim* the row in a short transaction: ``pending`` (or ``sending`` whose lease ran out)
   becomes ``sending`` with a lease; anyone else finds nothing to claim and returns;
2. *deliver* outside any transaction (no database lock is held while a remote server talks);
3. *record* the outcome: ``sent``; or back to ``pending`` with ``next_attempt_at`` and the task
   re-enqueued with ``run_after``; or ``failed`` once attempts run out or the failure is
   permanent. ``attempts`` and ``last_error`` stay on the row for the desk's task page.

While 2 runs, a heartbeat keeps the lease alive (core.leases), so the lease can be short: a
worker that dies between 2 and 3 leaves a ``sending`` row whose lease runs out within a
minute, and the sweeper re-enqueues it.

Between 2 and 3 the acceptance is written to the sent-journal (outbox.journal) the moment
the server accepts, before 3 waits for the database's write lock; a row claimed again (or
swept) that the journal names is recorded ``sent`` instead of being delivered a second
time. What is left: a worker killed between the server's answer and that write (a few
microseconds), or a worker of another machine taking the row over; the message then goes
out twice with the same Message-ID / delivery id, so the receiver can recognise it. A row
the server did not accept is never in the journal, so it is always delivered again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F, Q

from cherish.core.clock import now
from cherish.core.leases import KeepAlive, lease_seconds
from cherish.core.tasks import enqueue_on_commit
from cherish.outbox import journal
from cherish.outbox.models import Deliverable, DeliveryStatus

logger = logging.getLogger(__name__)
D = TypeVar("D", bound=Deliverable)
# deliver_claimed records its successes in the database this often (one UPDATE for all sent
# meanwhile); each is in the sent-journal from the moment the server accepted it.
RECORD_EVERY_S = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: int = 60
    max_delay_s: int = 6 * 3600
    lease_s: int | None = None  # CHERISH_TASK_LEASE_S

    def delay(self, attempts: int) -> dt.timedelta:
        """Wait before attempt ``attempts + 1``: base, 2×base, 4×base … capped."""
        seconds = self.base_delay_s * (2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=min(seconds, self.max_delay_s))


class PermanentFailure(Exception):
    """Raised by a deliver function when trying again cannot help (e.g. 550 no such user)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str = ""
    next_attempt_at: dt.datetime | None = None


def claim(model: type[D], pk: int, policy: RetryPolicy) -> D | None:
    """Take the row for one delivery attempt; None when it is gone, done or taken."""
    at = now()
    claimable = Q(status=DeliveryStatus.PENDING) | Q(
        status=DeliveryStatus.SENDING, locked_until__lt=at
    )
    with transaction.atomic():
        taken = model.objects.filter(claimable, pk=pk).update(  # type: ignore[attr-defined]
            status=DeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            locked_until=at + dt.timedelta(seconds=policy.lease_s or lease_seconds()),
        )
    if not taken:
        return None
    row: D = model.objects.get(pk=pk)  # type: ignore[attr-defined]
    return row


def run_delivery(
    model: type[D],
    pk: int,
    deliver: Callable[[D], dict[str, Any] | None],
    *,
    task: Any,
    policy: RetryPolicy,
) -> Outcome:
    """Claim, deliver and record one attempt; re-enqueue ``task`` for a later retry.

    ``deliver`` returns extra fields to save with the success (e.g. a response code) and
    raises on failure; it may set ``error_fields`` on the exception (a dict) to save them too.
    """
    row = claim(model, pk, policy)
    if row is None:
        return Outcome("skipped")
    if _accepted_before(model, [row]):
        _mark_sent(model, [pk])
        return Outcome(DeliveryStatus.SENT)
    holder = {"status": DeliveryStatus.SENDING, "attempts": row.attempts}
    try:
        with KeepAlive(model, pk, holder=holder, lease_s=policy.lease_s):
            extra = deliver(row) or {}
    except Exception as error:
        fields = getattr(error, "error_fields", {}) or {}
        return _record_failure(
            model,
            row,
            error,
            permanent=isinstance(error, PermanentFailure),
            task=task,
            policy=policy,
            extra=fields,
        )
    journal.record([journal.key(row)])
    _mark_sent(model, [pk], extra)
    return Outcome(DeliveryStatus.SENT)


def _accepted_before(model: type[D], rows: list[D]) -> set[int]:
    """The pks of ``rows`` (claimed) that the sent-journal says a server accepted already.

    Only a row claimed before can be there: its first attempt skips the look-up."""
    keys = {journal.key(row): row.pk for row in rows if row.attempts > 1}
    if not keys:
        return set()
    found = {keys[k] for k in journal.accepted(keys)}
    if found:
        logger.info(
            "%s %s: accepted by the server before (sent-journal); recorded, not sent again",
            model.__name__,
            sorted(found),
        )
    return found


def settle_accepted(model: type[D], pks: list[int]) -> set[int]:
    """Record as sent those of the rows ``pks`` (pending or ``sending``, attempted before)
    that the sent-journal says a server accepted; their pks. For the sweeper, before it
    hands rows on to be delivered again."""
    rows = model.objects.filter(  # type: ignore[attr-defined]
        pk__in=pks,
        attempts__gt=0,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
    )
    keys = {journal.key(row): row.pk for row in rows}
    done = sorted(keys[k] for k in journal.accepted(keys)) if keys else []
    if done:
        _mark_sent(model, done, was=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
        logger.info(
            "%s %s: accepted by the server before (sent-journal); recorded, not sent again",
            model.__name__,
            done,
        )
    return set(done)


def _mark_sent(
    model: type[D],
    pks: list[int],
    extra: dict[str, Any] | None = None,
    *,
    was: list[str] | None = None,
) -> None:
    """Record rows still held as ``sending`` (or in one of the statuses ``was``) as sent
    (``extra``: what the delivery learned).

    In a transaction of its own, so that on SQLite it waits in the writer queue
    (core.backends.sqlite3) like every other writer instead of polling in SQLite's busy
    handler. Either way it may wait behind intake (p99 0.75–0.9 s after the 250 in the
    fault runs, at most 4.7 s): the sent-journal, written before, is what keeps a worker
    killed meanwhile from sending the email twice."""
    with transaction.atomic():
        model.objects.filter(pk__in=pks, status__in=was or [DeliveryStatus.SENDING]).update(  # type: ignore[attr-defined]
            status=DeliveryStatus.SENT,
            delivered_at=now(),
            locked_until=None,
            next_attempt_at=None,
            last_error="",
            **(extra or {}),
        )


def deliver_claimed(
    model: type[D],
    pks: list[int],
    deliver: Callable[[D], dict[str, Any] | None],
    *,
    task: Any,
    policy: RetryPolicy,
) -> list[Outcome]:
    """Deliver rows already claimed (``sending``, with a lease) in the caller's earlier
    transaction, one after another, and record the outcomes: each success in the
    sent-journal at once, in the database with one UPDATE every RECORD_EVERY_S instead of
    one commit each; each failure as ``run_delivery`` does.

    A worker killed after a success and before the database records it leaves the row
    ``sending``; whoever takes it up after its lease runs out finds it in the journal and
    records it sent without sending it again.
    """
    rows = list(model.objects.filter(pk__in=pks, status=DeliveryStatus.SENDING).order_by("pk"))  # type: ignore[attr-defined]
    outcomes: list[Outcome] = []
    sent: list[int] = []
    before = _accepted_before(model, rows)
    if before:
        _mark_sent(model, sorted(before))
        outcomes += [Outcome(DeliveryStatus.SENT) for _ in before]
        rows = [row for row in rows if row.pk not in before]

    def record_sent() -> None:
        if sent:
            _mark_sent(model, sent)
            sent.clear()

    holder = {"status": DeliveryStatus.SENDING}
    recorded = time.monotonic()
    with KeepAlive(model, [row.pk for row in rows], holder=holder, lease_s=policy.lease_s):
        for row in rows:
            try:
                extra = deliver(row) or {}
            except Exception as error:
                fields = getattr(error, "error_fields", {}) or {}
                outcomes.append(
                    _record_failure(
                        model,
                        row,
                        error,
                        permanent=isinstance(error, PermanentFailure),
                        task=task,
                        policy=policy,
                        extra=fields,
                    )
                )
                continue
            journal.record([journal.key(row)])
            outcomes.append(Outcome(DeliveryStatus.SENT))
            if extra:
                _mark_sent(model, [row.pk], extra)
            else:
                sent.append(row.pk)
            if time.monotonic() - recorded >= RECORD_EVERY_S:
                record_sent()
                recorded = time.monotonic()
        record_sent()
    return outcomes


def _record_failure(
    model: type[D],
    row: D,
    error: BaseException,
    *,
    permanent: bool,
    task: Any,
    policy: RetryPolicy,
    extra: dict[str, Any],
) -> Outcome:
    message = f"attempt {row.attempts}: {type(error).__name__}: {error}"[:2000]
    if permanent or row.attempts >= policy.max_attempts:
        model.objects.filter(pk=row.pk).update(  # type: ignore[attr-defined]
            status=DeliveryStatus.FAILED,
            last_error=message,
            locked_until=None,
            next_attempt_at=None,
            **extra,
        )
        return Outcome(DeliveryStatus.FAILED, message)
    next_at = now() + policy.delay(row.attempts)
    model.objects.filter(pk=row.pk).update(  # type: ignore[attr-defined]
        status=DeliveryStatus.PENDING,
        last_error=message,
        locked_until=None,
        next_attempt_at=next_at,
        **extra,
    )
    enqueue_on_commit(task.using(run_after=next_at), row.pk)
    return Outcome(DeliveryStatus.PENDING, message, next_at)
