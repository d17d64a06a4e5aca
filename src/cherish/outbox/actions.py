"""Queueing what leaves Cherish, retrying it, and sweeping up rows a crash left behind.

Queue functions write their rows in the caller's transaction and enqueue delivery only after
it commits: if the caller rolls back, nothing is sent; if the process dies between commit and
enqueue, the sweeper finds the row by ``next_attempt_at``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext

from cherish.core.clock import now
from cherish.core.emailaddress import normalise_address
from cherish.core.errors import CherishError
from cherish.core.i18n import language_of
from cherish.core.leases import lease_seconds
from cherish.core.tasks import enqueue_on_commit
from cherish.core.text import one_line
from cherish.outbox import journal
from cherish.outbox.delivery import SmtpSession
from cherish.outbox.models import (
    DeliveryStatus,
    MessageTemplate,
    OutgoingEmail,
    WebhookDelivery,
    WebhookSubscription,
)
from cherish.outbox.retry import deliver_claimed, settle_accepted
from cherish.outbox.tasks import EMAIL_POLICY, deliver_email_task, deliver_webhook_task

logger = logging.getLogger(__name__)
# A queued row whose task has not run this long after it was due is presumed lost.
SWEEP_GRACE = dt.timedelta(minutes=2)
_delivering_here: ContextVar[bool] = ContextVar("outbox_delivering_here", default=False)
# Inside delivering_together: the emails delivering_here would send one by one, collected.
_together: ContextVar[list[int] | None] = ContextVar("outbox_together", default=None)
_REFERENCE_TAG = re.compile(r"\[CH-[0-9A-Z]{6}\]", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class OutboxError(CherishError):
    code = "outbox_error"


def new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "cherish.local"
    return make_msgid(domain=domain)


def subject_with_reference(subject: str, reference: str) -> str:
    """One line, with ``[CH-XXXXXX]`` exactly once so replies find their case."""
    subject = one_line(subject, 250)
    if reference and not _REFERENCE_TAG.search(subject):
        subject = f"{subject} [{reference}]" if subject else f"[{reference}]"
    return subject


def queue_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    from_name: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    references: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
    is_automatic: bool = False,
    case_pk: int | None = None,
    case_reference: str = "",
    case_message_pk: int | None = None,
) -> OutgoingEmail:
    """Write one outgoing email in the caller's transaction; deliver it after commit.

    Every header value is flattened to one line here, so customer-supplied names and
    subjects can never inject headers. Enqueues deliver_email_task after commit.
    """
    address = one_line(to, 254)
    if normalise_address(address) is None:
        raise OutboxError(
            f"“{address}” is not an email address we can send to.",
            code="invalid_recipient",
            field="to",
        )
    at = now()
    together = _together.get() if _delivering_here.get() else None
    if together is not None:
        # Claimed as it is written (sending, with a lease): the worker sends it after its
        # transaction commits, and if it dies first the lease runs out and the sweeper
        # hands the row on, as for any claimed row.
        claimed: dict[str, Any] = {
            "status": DeliveryStatus.SENDING,
            "attempts": 1,
            "locked_until": at + dt.timedelta(seconds=EMAIL_POLICY.lease_s or lease_seconds()),
        }
    else:
        claimed = {}
    email = OutgoingEmail.objects.create(
        to_address=address,
        from_name=one_line(from_name, 200),
        subject=subject_with_reference(subject, case_reference),
        text_body=text,
        html_body=html,
        message_id=one_line(message_id, 255) or new_message_id(),
        in_reply_to=one_line(in_reply_to, 255),
        references=one_line(" ".join(references or []), 4000),
        headers={one_line(k, 60): one_line(v, 500) for k, v in (headers or {}).items()},
        is_automatic=is_automatic,
        case_pk=case_pk,
        case_reference=case_reference,
        case_message_pk=case_message_pk,
        created_at=at,
        next_attempt_at=at,
        **claimed,
    )
    if together is not None:
        # Collected only once its transaction commits: a row a rolled-back savepoint took
        # away is never sent.
        transaction.on_commit(lambda: together.append(email.pk))
    elif _delivering_here.get():
        transaction.on_commit(lambda: _deliver_here(email.pk))
    else:
        enqueue_on_commit(deliver_email_task, email.pk)
    return email


@contextlib.contextmanager
def delivering_here() -> Iterator[None]:
    """Emails queued inside the block are sent by this process as soon as their
    transaction commits, instead of by a delivery task.

    For background work whose point is to answer a customer (care's respond step): the
    answer leaves as soon as it is written rather than behind every task queued meanwhile,
    and costs no second task. The email row is still the truth: a failure is recorded and
    retried by a task as usual, and a process killed before it sends leaves a pending row
    that ``sweep_outbox`` hands to a task.
    """
    token = _delivering_here.set(True)
    try:
        yield
    finally:
        _delivering_here.reset(token)


@contextlib.contextmanager
def delivering_together() -> Iterator[None]:
    """Around a worker's group of jobs run in one transaction (CHERISH_JOB_GROUP_HOOKS): the
    emails ``delivering_here`` would send one by one, each with two commits and a connection
    of its own, are written already claimed and sent together once that transaction has
    committed, over one SMTP connection (outbox.retry.deliver_claimed). Nothing is sent when
    the block raises (the transaction rolled back)."""
    collected: list[int] = []
    token = _together.set(collected)
    try:
        yield
    finally:
        _together.reset(token)
    if collected:
        with SmtpSession() as session:
            deliver_claimed(
                OutgoingEmail,
                collected,
                session.send,
                task=deliver_email_task,
                policy=EMAIL_POLICY,
            )


def _deliver_here(email_id: int) -> None:
    try:
        deliver_email_task.call(email_id)
    except Exception:
        # The row is committed: a task (or, failing that, the sweeper) sends it.
        logger.warning("could not send email %s here; queueing it", email_id, exc_info=True)
        enqueue_on_commit(deliver_email_task, email_id)


# Every case event asks who subscribes; most installations have none or a handful. Keep the
# list per process for a few seconds: a subscription edited in the admin takes effect within
# SUBSCRIPTIONS_TTL_S everywhere, and intake saves a query per event.
SUBSCRIPTIONS_TTL_S = 5.0
_subscriptions: dict[str, Any] = {"until": 0.0, "rows": []}


def forget_subscriptions() -> None:
    _subscriptions.update(until=0.0, rows=[])


def active_subscriptions(event_type: str) -> list[WebhookSubscription]:
    clock = time.monotonic()
    if clock >= _subscriptions["until"]:
        _subscriptions["rows"] = list(WebhookSubscription.objects.filter(is_active=True))
        _subscriptions["until"] = clock + SUBSCRIPTIONS_TTL_S
    return [s for s in _subscriptions["rows"] if s.wants(event_type)]


def queue_webhooks(event_type: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """One delivery per active subscription that wants ``event_type``, in the caller's
    transaction; each is delivered by deliver_webhook_task after commit.

    Costs one small query when nobody subscribes.
    """
    deliveries = []
    at = now()
    for subscription in active_subscriptions(event_type):
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event_type=event_type,
            payload=payload,
            created_at=at,
            next_attempt_at=at,
        )
        enqueue_on_commit(deliver_webhook_task, delivery.pk)
        deliveries.append(delivery)
    return deliveries


@transaction.atomic
def retry_email_now(email: OutgoingEmail) -> OutgoingEmail:
    """Staff asked to try a pending or failed email again at once (a fresh set of attempts).

    Refuses a sent email (code 'already_sent'). Enqueues deliver_email_task after commit.
    """
    if not _reset_for_retry(OutgoingEmail, email.pk):
        raise OutboxError("This email was already sent.", code="already_sent")
    enqueue_on_commit(deliver_email_task, email.pk)
    email.refresh_from_db()
    return email


@transaction.atomic
def retry_webhook_now(delivery: WebhookDelivery) -> WebhookDelivery:
    """Like retry_email_now, for a webhook delivery."""
    if not _reset_for_retry(WebhookDelivery, delivery.pk):
        raise OutboxError("This webhook was already delivered.", code="already_sent")
    enqueue_on_commit(deliver_webhook_task, delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _reset_for_retry(model: Any, pk: int) -> bool:
    at = now()
    return bool(
        model.objects.filter(pk=pk)
        .filter(
            Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
            | Q(status=DeliveryStatus.SENDING, locked_until__lt=at)
        )
        .update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=at, locked_until=None)
    )


def sweep_outbox(*, limit: int = 500) -> dict[str, int]:
    """Re-enqueue rows whose task seems lost: pending and overdue, or a lapsed lease.

    Covers a crash between commit and enqueue, a worker killed mid-send and a task queue that
    was wiped. A row the sent-journal says the server accepted (its worker was killed before
    the database recorded it) is recorded sent instead (outbox.journal). Safe to run often
    and from several processes: claiming a row is atomic, so a row enqueued twice is still
    delivered once. Sets ``next_attempt_at`` to now, so the sweeps of the next grace period
    do not enqueue the same row again, and a task lost after all (its process killed between
    the commit and the enqueue) is replaced one grace period later: pushed a grace period
    ahead, that took two, and a whole-tree kill in the fault suite left three acknowledgements
    waiting 244 s of the 300 allowed.
    """
    at = now()
    counts = {}
    swept_emails: list[int] = []
    for name, model, task in (
        ("emails", OutgoingEmail, deliver_email_task),
        ("webhooks", WebhookDelivery, deliver_webhook_task),
    ):
        stuck = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=at - SWEEP_GRACE) | Q(
            status=DeliveryStatus.SENDING, locked_until__lt=at
        )
        ids = list(model.objects.filter(stuck).values_list("pk", flat=True)[:limit])
        # A row a killed worker had sent (the server's yes is in the sent-journal) is
        # recorded sent here instead of being delivered again.
        accepted = settle_accepted(model, ids) if ids else set()
        counts[f"{name}_accepted_before"] = len(accepted)
        ids = [pk for pk in ids if pk not in accepted]
        with transaction.atomic():
            model.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
                next_attempt_at=at
            )
            # A lapsed claim goes back to pending too: the next sweep would otherwise find
            # the same row again and queue another task for it every time (hundreds after a
            # run of crashes), however many were already waiting.
            model.objects.filter(
                pk__in=ids, status=DeliveryStatus.SENDING, locked_until__lt=at
            ).update(status=DeliveryStatus.PENDING, locked_until=None, next_attempt_at=at)
            for pk in ids:
                enqueue_on_commit(task, pk)
        counts[name] = len(ids)
        if model is OutgoingEmail:
            swept_emails = ids
    counts["emails_pulled_forward"] = _pull_forward_after_outage(at, already=swept_emails)
    journal.prune()
    return counts


# Errors that say the mail server could not be reached at all (not that it refused a mail).
_UNREACHABLE = (
    "ConnectionRefusedError",
    "SMTPServerDisconnected",
    "SMTPConnectError",
    "TimeoutError",
    "ConnectionResetError",
    "OSError",
    "gaierror",
)


def _pull_forward_after_outage(at: dt.datetime, *, already: list[int], limit: int = 1000) -> int:
    """Send at once the emails backed off because the mail server was down, once it answers.

    Each email's retries double their pause (1, 2, 4, 8 … minutes), so after a ten-minute
    outage the last ones would wait another quarter of an hour. While any email waits with
    an "unreachable" error, each sweep knocks on the server (connect, EHLO, QUIT); when it
    answers, every such email is due now. One connection per sweep, only during an outage.
    """
    from cherish.outbox.delivery import smtp_answers

    # Due within the grace anyway (or just re-enqueued by the sweep): leave those alone.
    waiting = OutgoingEmail.objects.filter(
        status=DeliveryStatus.PENDING, attempts__gt=0, next_attempt_at__gt=at + SWEEP_GRACE
    )
    unreachable = Q()
    for name in _UNREACHABLE:
        unreachable |= Q(last_error__contains=f": {name}:")
    waiting = waiting.filter(unreachable).exclude(pk__in=already)
    ids = list(waiting.values_list("pk", flat=True)[:limit])
    if not ids or not smtp_answers():
        return 0
    with transaction.atomic():
        moved = OutgoingEmail.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
            next_attempt_at=at
        )
        for pk in ids:
            enqueue_on_commit(deliver_email_task, pk)
    return int(moved)


def render_template(
    key: str,
    values: Mapping[str, str],
    *,
    default: tuple[str, str] | None = None,
    language: str = "",
) -> tuple[str, str]:
    """The (subject, body) of the managers' template ``key`` in ``language`` (English when
    empty), with ``{placeholder}`` filled.

    Without a template in that language: ``default`` (English source texts) translated
    through the catalogues, else the English template (refuses with 'no_template' when
    there is none). Only plain ``{word}`` placeholders are replaced (no attribute access, no
    format specs), so an edited template can never reach into Python objects. Unknown words
    stay as typed.
    """
    with language_of(language) as code:
        rows = {t.language: t for t in MessageTemplate.objects.filter(key=key)}
        template = rows.get(code)
        if template is not None:
            subject, body = template.subject, template.body
        elif default is not None:
            subject, body = gettext(default[0]), gettext(default[1])
        elif settings.LANGUAGE_CODE in rows:
            english = rows[settings.LANGUAGE_CODE]
            subject, body = english.subject, english.body
        else:
            raise OutboxError(f"No message template “{key}”.", code="no_template")

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    return fill(subject), fill(body)
