"""The intake applier: queued contacts become cases in batches, one transaction per batch.

A complaint from the web form or the API is first made durable on its own, in one short
transaction (the raw record with the contact already shaped, its future case reference, the
sender's rate-limit count, the API's Idempotency-Key: ``intake.actions.accept_contact``).
Then the request hands it to this process's applier thread and waits. The applier takes every
contact waiting for it (and any contact another process stored but did not live to apply)
and, in one transaction, finds or creates each customer, opens or continues each case,
writes the events, marks each raw record processed and queues each follow-on pipeline,
exactly as the one-by-one path does (``intake.actions._receive``), with the owners picked in
memory from one read of the team (``cases.actions.OwnerPicker``). After the commit every
waiting request is answered with its case.

The applier thread works in turns (``run_cycle``): each turn stores the contacts that
arrived since the last one (group commit, one statement per kind of row for all of them) and
applies them in the same transaction, and answers each request after its commit; the
requests that arrive meanwhile make the next turn's group. A turn that breaks (a refusal in
the group, a database error) or runs past ``TURN_GUARD_S`` rolls back whole and is taken in
two transactions: the store, durable on its own, then the apply, so a contact whose apply
fails or hangs stays stored and its request is answered "received".

Why: each complaint used to take the database's single write lock four times, and the other
threads waited for it asleep. Now the slow part runs once per batch, with one commit (one
fsync) for all of its complaints: on SQLite with ``synchronous=FULL`` the fsync was the
largest part of a turn (about 9 ms on the benchmark machine).

One applier at a time: on SQLite the batch's IMMEDIATE transaction holds the one write lock;
on PostgreSQL a transaction-level advisory lock. A contact is applied only while its status
is still "queued", read inside that lock, so two appliers never apply one contact twice.
Nothing lives only in memory: a process killed after the durable write leaves a queued
record that any applier (``cherish apply_intake``, run by ``cherish tick``, or the next batch
of any web process after ``ORPHAN_GRACE``) applies.

Under ``cherish serve`` (``CHERISH_INTAKE_APPLIER=process``) the public form's complaints are
applied outside the web process: its applier thread stores them with the rest of the group
and answers their requests after that commit (``answer_stored``; the thank-you page waits for
the case), and an applier process of its own (``run_applier_loop``: ``cherish apply_intake
--loop``) applies every stored complaint in batches, woken by a datagram from the web process
(a socket in Linux's abstract namespace) and looking by itself every ``IDLE_POLL_S``. The API
waits for its case: on SQLite it is stored in the intake journal and applied by the applier
process too, which wakes the web process back after the commit (``WakeBack``); on PostgreSQL
it is applied in its web process. Why: with the apply in the web process,
one process ran all of intake's Python under one interpreter lock while the other core idled;
measured on the 2-core benchmark machine the form took about 30 % more complaints a second
and less CPU a complaint (bigger batches; bench/README.md).

On SQLite the public form's and the API's complaints are stored in the intake journal instead
(``intake.journal``: a file of its own, with its own write lock), so the web process's stores
never wait for the applier process's batches on the database's one write lock; each batch
moves the journal's oldest entries into the database and applies them in one transaction
(``_move_from_journal``), and deletes them from the journal after that commit. The plain
ones (the form's), like the API's contacts sent to the applier process directly, are
inserted already applied (``_apply_direct``); the others are stored queued, then applied.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)

from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.intake import journal

logger = logging.getLogger(__name__)

# Contacts per transaction: big enough to carry a storm, small enough to hold the write lock
# for a few tens of milliseconds at a time.
BATCH_LIMIT = 64
# A queued contact this old is no longer waited for by the process that stored it (that
# process died, or its applier failed): any applier takes it.
ORPHAN_GRACE_S = 5.0
# A turn that stores and applies its group in one transaction gives up (rolls back whole and
# is taken in two transactions, the store durable first) once it has run this long: far above
# a turn's tens of milliseconds, far below the APPLY_WAIT_S a request waits.
TURN_GUARD_S = 2.0
# How long a request waits for the applier process to answer a contact sent to it directly
# (a batch takes milliseconds) before storing it in the intake journal instead.
DIRECT_WAIT_S = 3.0
# How many references a contact sent directly is tried with (one taken is drawn again).
DIRECT_TRIES = 3
# The PostgreSQL advisory lock key of the applier (any constant; "cherish intake" in ASCII).
ADVISORY_LOCK_KEY = 0x636865726973


Outcome = Any  # an IntakeResult, or the exception that refused or failed the contact


@dataclass(eq=False)
class Ticket:
    """One request waiting for its contact to be applied (and first stored, with ``store``)."""

    raw_id: int | None
    # The reference reserved for the contact's case when it was stored (set with raw_id).
    reference: str = ""
    on_applied: Callable[[Outcome], None] | None = None
    # The durable write, for the applier to run in its group commit; None: already stored.
    store: Callable[[], Any] | None = None
    # The raw record as stored (set with raw_id by the applier's store): read again only
    # for its status when applied.
    record: Any = None
    # What ``store`` stores, for the applier to store a group with one statement per kind
    # of row (intake.actions.store_queued_together): (contact, material, limit, claim).
    queued: Any = None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome = None
    applied_here: bool = False
    # Who does the work: the applier thread, or the waiting request itself when the applier
    # did not take the ticket in time; whoever takes it first.
    holder: str = ""
    guard: threading.Lock = field(default_factory=threading.Lock)
    # Committed: set with raw_id once the transaction that stored the contact has committed
    # (a one-transaction turn knows raw_id before its commit; only this says "received").
    durable: bool = False
    # The turn is committing its store: the request waits for that instead of giving up.
    sealed: bool = False
    # The request gave up waiting before its contact was durable and said "nothing stored":
    # it must not be stored any more.
    abandoned: bool = False
    # With an applier process: answer the request once its contact is durable (the public
    # form: its thank-you page waits for the case), not once it is on its case.
    answer_stored: bool = False
    # The API's with an applier process: stored in the intake journal, the request waits for
    # the applier process's wake-up (``wait_applied``); not taken by the journal, applied here.
    wakes_back: bool = False
    # Stored in the intake journal (no raw record until the applier process moves it), or
    # sent to the applier process directly: either way its answer comes with that process's
    # wake-up (``intake.api._answer_once_applied``).
    journaled: bool = False
    # What the applier process said of a contact sent to it directly (``send_to_applier``).
    said: Any = None

    def __post_init__(self) -> None:
        self.durable = self.raw_id is not None

    def take(self, holder: str) -> bool:
        with self.guard:
            if self.holder:
                return False
            self.holder = holder
            return True

    def seal(self) -> bool:
        """Before the commit that stores this contact: False if its request gave up."""
        with self.guard:
            if self.abandoned:
                return False
            self.sealed = True
            return True

    def unseal(self) -> None:
        with self.guard:
            self.sealed = False

    def abandon(self) -> bool:
        """The request gives up; False if the contact is durable or being committed now."""
        with self.guard:
            if self.durable or self.sealed or self.done.is_set():
                return False
            self.abandoned = True
            return True

    def finish(self, outcome: Outcome, *, here: bool) -> None:
        self.outcome = outcome
        self.applied_here = here
        self.done.set()


def _lock_appliers() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


def apply_waiting(
    tickets: Iterable[Ticket] = (),
    *,
    limit: int = BATCH_LIMIT,
    after_commit: list[tuple[Ticket, Outcome]] | None = None,
    grace_s: float | None = None,
    woke: list[int] | None = None,
    forget_later: list[tuple[int, str]] | None = None,
    direct: list[journal.Entry] | None = None,
) -> int:
    """Apply the queued contacts of ``tickets`` and every orphaned one, in batches.

    Returns how many contacts this call applied. Each ticket is finished with its outcome;
    a ticket whose contact another applier took is finished from the database.
    Raises a DatabaseError that broke a batch (the batch rolled back: its contacts stay
    queued for the next try); a contact that fails on its own is marked failed instead.
    ``after_commit``: called inside the caller's transaction (the applier's cycle), the
    outcomes are added to this list for the caller to finish once its transaction has
    committed, instead of being told to the waiting requests before they are durable.
    ``grace_s``: how old a contact nobody here waits for must be to be taken (default
    ``ORPHAN_GRACE_S``; the applier process takes every stored contact: 0).
    ``woke``: how many requests of other processes this call's batches will wake (the API's
    from the intake journal) is added to this list.
    ``forget_later``: the intake journal's entries this call moves into the database are
    added to this list once committed, for the caller to delete from the journal later
    (``journal.forget``), instead of being deleted after each batch's commit; the entries
    already in it are not moved again (the applier process: ``run_applier_loop``).
    ``direct``: contacts the web processes sent to the applier process (``send_to_applier``),
    as journal entries never written: stored and applied like the journal's, in the first
    batches, each answered by its wake-up; refused (its key or reference taken) the same way.
    """
    from cherish.cases.actions import OwnerPicker
    from cherish.intake.actions import batchable, contact_from_record, receive_queued
    from cherish.intake.models import RawContact, RawStatus

    waiting = {ticket.raw_id: ticket for ticket in tickets if ticket.raw_id is not None}
    before = now() - _grace(grace_s)
    journaled = journal.in_use()
    moved_before = [entry_id for entry_id, _ in forget_later or ()]
    # The journal's oldest entries, read once: they tell an idle look from a batch, and they
    # are the first batch's (read outside the write lock: an entry another applier moves
    # meanwhile is found in the database by its reference and only deleted).
    entries = (
        journal.waiting(before=before.timestamp(), limit=limit, skip=moved_before)
        if journaled
        else []
    )
    direct = list(direct or ())
    if direct and (forget_later is None or not journaled):
        # The journal's entries are forgotten after the commit only when the writer queue,
        # held until then for the direct contacts, is free again.
        raise ValueError("direct contacts are applied by the applier process's loop only")
    if (
        not waiting
        and not entries
        and not direct
        and not RawContact.objects.filter(received_at__lt=before, status=RawStatus.QUEUED).exists()
    ):
        return 0  # an idle look for orphans: no write lock for a read
    finished: list[tuple[Ticket, Outcome]] = [] if after_commit is None else after_commit
    applied = 0
    while True:
        outcomes: dict[int, Outcome] = {}
        moved: list[tuple[int, str]] = []
        owners = None
        with contextlib.ExitStack() as held:
            if direct:
                # No complaint enters the journal from the check of its keys until this
                # batch's commit: a key is in one of the two, never in both.
                held.enter_context(journal.writes_held())
            held.enter_context(transaction.atomic(savepoint=False))
            _lock_appliers()
            if journaled:
                moved, answers, wakes, plain = _move_from_journal(
                    before, limit, moved_before, entries
                )
                if plain:
                    # The journal's plain complaints (the public form's) applied as they are
                    # stored, as the contacts sent directly are; else stored queued.
                    owners = OwnerPicker.load()
                    done = _apply_direct(plain, owners)
                    if done is None:
                        _store_direct(plain)
                    else:
                        outcomes.update(done[0])
                entries = None  # the next batch's are read in its transaction
                # As many as the batch applies with the journal's: each request is woken
                # once its contact is on its case, not merely stored.
                room = max(0, limit - len(moved))
                sent, direct = direct[:room], direct[room:]
                if sent:
                    take, sent_wakes = _check_direct(sent)
                    if take:
                        owners = owners if owners is not None else OwnerPicker.load()
                        done = _apply_direct(take, owners)
                        if done is None:
                            # Not as one batch: stored queued, applied as the journal's are.
                            sent_answers, stored_wakes = _store_direct(take)
                            answers.update(sent_answers)
                        else:
                            applied_direct, stored_wakes = done
                            outcomes.update(applied_direct)
                        for address, woken in stored_wakes.items():
                            sent_wakes.setdefault(address, []).extend(woken)
                    for address, woken in sent_wakes.items():
                        wakes.setdefault(address, []).extend(woken)
                if wakes:
                    # First after the commit: the requests wait, the journal's cleanup not.
                    transaction.on_commit(functools.partial(_wake_web, wakes), robust=True)
                    if woke is not None:
                        woke.append(sum(len(references) for references in wakes.values()))
                if moved and forget_later is not None:
                    # Deleted from the journal by the caller, later, many batches at once.
                    transaction.on_commit(functools.partial(forget_later.extend, moved))
                    moved_before = [*moved_before, *(entry_id for entry_id, _ in moved)]
                elif moved:
                    # Deleted from the journal only once the database has them, after the
                    # outermost commit (a crash before leaves entries whose references are
                    # raw records: the next move skips and deletes them).
                    transaction.on_commit(functools.partial(journal.forget, moved), robust=True)
                waiting.update(answers)
            raws = _queued(waiting, before, limit)
            if raws and owners is None:
                owners = OwnerPicker.load()
            contacts = {raw.pk: contact_from_record(raw.contact or {}) for raw in raws}
            together = [raw for raw in raws if batchable(contacts[raw.pk])]
            if together and owners is not None:
                outcomes.update(_apply_together(together, contacts, owners, waiting))
            for raw in raws:
                if raw.pk not in outcomes:
                    outcomes[raw.pk] = _apply_one(
                        raw, contacts[raw.pk], owners, receive_queued, waiting.get(raw.pk)
                    )
        for pk, outcome in outcomes.items():
            ticket = waiting.pop(pk, None)
            if ticket is not None:
                finished.append((ticket, outcome))
        applied += len(outcomes)
        if len(outcomes) < limit and len(moved) < limit and not direct:
            break
    if after_commit is None:
        for ticket, outcome in finished:
            ticket.finish(outcome, here=True)
    if waiting:
        _finish_from_database(waiting)
    return applied


def _move_from_journal(
    before: Any, limit: int, skip: list[int], entries: list[Any] | None = None
) -> tuple[list[tuple[int, str]], dict[int, Ticket], dict[str, list[tuple[str, Any]]], list[Any]]:
    """Put the oldest ``limit`` entries of the intake journal received before ``before``
    into the database as queued raw records, inside the caller's transaction (the batch that
    applies them), leaving out the ids in ``skip`` (moved already). Returns the ids and
    references of the entries moved, for the caller to delete from the journal after its
    commit; a ticket for each raw record a request waits for or with an
    Idempotency-Key, whose ``on_applied`` makes the API's response in the batch's transaction
    (and stores it with the key); and, by the address of the web process waiting for them,
    the references to wake it with after the commit, each with the ``on_applied`` that holds
    its response by then (None for an entry this batch did not apply: moved before a crash).
    An entry whose reference is already a raw record was moved by a batch that committed
    before a crash (or by another applier since ``entries`` were read): it is only deleted.
    ``entries``: those to move, read by the caller; None: read here. Last, the plain
    entries (the public form's: nobody waits for them, no key, their reference not taken):
    not stored here, for the caller to apply as they are stored (``_apply_direct``)."""
    from cherish.intake.actions import held_references, store_journal_entries

    if entries is None:
        entries = journal.waiting(before=before.timestamp(), limit=limit, skip=skip)
    if not entries:
        return [], {}, {}, []
    present = held_references([entry.reference for entry in entries])
    plain, rest = [], []
    for entry in entries:
        if not entry.waker and entry.idem_key is None and entry.reference not in present:
            plain.append(entry)
        else:
            rest.append(entry)
    answered = store_journal_entries(rest, present=present) if rest else {}
    answers = {}
    by_reference: dict[str, Any] = {}
    if answered:
        from cherish.intake.api import answer_for

        for pk, (raw, row) in answered.items():
            answer = answer_for(row)
            answers[pk] = Ticket(pk, on_applied=answer, record=raw)
            by_reference[raw.reference] = answer
    wakes: dict[str, list[tuple[str, Any]]] = {}
    for entry in entries:
        if entry.waker:
            wakes.setdefault(entry.waker, []).append(
                (entry.reference, by_reference.get(entry.reference))
            )
    return [(entry.id, entry.reference) for entry in entries], answers, wakes, plain


def _check_direct(
    sent: list[journal.Entry],
) -> tuple[list[journal.Entry], dict[str, list[tuple[str, Any]]]]:
    """Which contacts sent to the applier process directly this batch takes, inside the
    caller's batch, which holds the journal's writer queue and the database's write lock;
    and the wake-ups, by web process, of the others: one whose Idempotency-Key the database
    or the journal holds, or another of ``sent`` took first, is refused "key"; one whose
    reference either holds, "reference"."""
    from cherish.intake.actions import keys_taken, references_taken

    references = [entry.reference for entry in sent]
    keys = [(entry.api_key or 0, entry.idem_key or "") for entry in sent]
    in_journal, keys_in_journal = journal.holding(references, keys)
    taken_references = in_journal | set(references_taken(references))
    taken_keys = keys_in_journal | keys_taken([(*key, "") for key in keys])
    wakes: dict[str, list[tuple[str, Any]]] = {}
    take = []
    for entry, key in zip(sent, keys, strict=True):
        refusal = ""
        if entry.reference in taken_references:
            refusal = "reference"
        elif key in taken_keys:
            refusal = "key"
        if refusal:
            wakes.setdefault(entry.waker, []).append((entry.reference, refusal))
            continue
        taken_references.add(entry.reference)
        taken_keys.add(key)
        take.append(entry)
    return take, wakes


@dataclass(frozen=True)
class _Said:
    """The response a wake-up carries (as ``intake.api._Answer`` holds it)."""

    response: tuple[int, str]


def _apply_direct(
    take: list[journal.Entry], owners: Any
) -> tuple[dict[int, Outcome], dict[str, list[tuple[str, Any]]]] | None:
    """Apply as they are stored the contacts ``_check_direct`` took (the API's, sent to the
    applier process directly) or the journal's plain entries (the form's, from
    ``_move_from_journal``): raw records inserted already processed, on their new cases, and
    each Idempotency-Key's row with its response, in a savepoint of the caller's batch
    (intake.receive_queued_batch); not stored queued first, then updated (the raw record's
    status, the key's response), which was a sixth of the applier process's CPU a complaint
    under the API's load (issue #14). Returns the
    outcomes by raw record and the wake-ups, each with its response; None when they are not
    all new cases of customers known by address (``batchable``), or the batch failed (rolled
    back, the owners picked put back in line): the caller stores them queued instead."""
    from cherish.intake.actions import (
        batchable,
        contact_from_record,
        raw_from_entry,
        receive_queued_batch,
        store_answered_keys,
    )
    from cherish.intake.api import _case_answer_text

    if connection.vendor != "sqlite":  # the intake journal's, SQLite's only
        return None
    contacts = [contact_from_record(entry.contact or {}) for entry in take]
    if not all(batchable(contact) for contact in contacts):
        return None
    records = [raw_from_entry(entry) for entry in take]
    line = list(owners.line)
    try:
        with transaction.atomic():
            results = receive_queued_batch(list(zip(contacts, records, strict=True)), owners=owners)
            answers = [_case_answer_text(result) for result in results]
            store_answered_keys(list(zip(take, records, answers, strict=True)))
    except (InterfaceError, OperationalError):
        raise
    except Exception:
        logger.info(
            "intake applier: %d contacts stored queued, not applied as stored",
            len(take),
            exc_info=True,
        )
        owners.line = line
        return None
    wakes: dict[str, list[tuple[str, Any]]] = {}
    for entry, answer in zip(take, answers, strict=True):
        if entry.waker:
            wakes.setdefault(entry.waker, []).append((entry.reference, _Said(answer)))
    return {raw.pk: result for raw, result in zip(records, results, strict=True)}, wakes


def _store_direct(
    take: list[journal.Entry],
) -> tuple[dict[int, Ticket], dict[str, list[tuple[str, Any]]]]:
    """Store the contacts ``_check_direct`` took as queued raw records with their keys,
    inside the caller's batch; as ``_move_from_journal``, a ticket for each (its response
    made in the batch that applies it) and the wake-ups by web process."""
    from cherish.intake.actions import store_journal_entries
    from cherish.intake.api import answer_for

    answers = {}
    by_reference = {}
    for pk, (raw, row) in store_journal_entries(take, checked=True).items():
        answer = answer_for(row)
        answers[pk] = Ticket(pk, on_applied=answer, record=raw)
        by_reference[raw.reference] = answer
    wakes: dict[str, list[tuple[str, Any]]] = {}
    for entry in take:
        wakes.setdefault(entry.waker, []).append(
            (entry.reference, by_reference.get(entry.reference))
        )
    return answers, wakes


def _queued(waiting: dict[int, Ticket], before: Any, limit: int) -> list[Any]:
    """The queued records among ``waiting`` and those received before ``before``, oldest
    first, read inside the appliers' lock.

    Plain SQL for the ids: the ORM's building of this query cost as much CPU as a batch's
    statements. A record a ticket holds as stored is not read again (only its status was
    needed); the others (orphans, a retry's record) are read with the ORM."""
    from cherish.intake.models import RawContact, RawStatus

    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta = RawContact._meta
    received = quote(str(meta.get_field("received_at").column))
    ids = list(waiting)
    wanted = f"id IN ({', '.join(['%s'] * len(ids))}) OR " if ids else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {quote(meta.db_table)} WHERE status = %s"
            f" AND ({wanted}{received} < %s) ORDER BY id LIMIT %s",
            [
                str(RawStatus.QUEUED),
                *ids,
                connection.ops.adapt_datetimefield_value(before),
                limit,
            ],
        )
        found = [row[0] for row in cursor.fetchall()]
    held = {}
    for pk in found:
        ticket = waiting.get(pk)
        if ticket is not None and ticket.record is not None and ticket.record.pk == pk:
            held[pk] = ticket.record
    others = [pk for pk in found if pk not in held]
    if others:
        held.update(RawContact.objects.in_bulk(others))
    return [held[pk] for pk in found if pk in held]


def run_cycle(fresh: list[Ticket], stored: list[Ticket]) -> list[Ticket]:
    """One turn of the applier: store ``fresh`` (the requests that arrived since the last
    turn) and apply them with ``stored`` (contacts already stored, a retry's), and answer
    each after the commit.

    Normally the turn is one transaction, so one commit (one fsync) for the whole group
    (``_store_and_apply``). A contact is never acknowledged before it is durable: nothing is
    told to a request before that commit. Should anything break that transaction (a refusal
    in the group, a database error, a turn that runs past ``TURN_GUARD_S``), it rolls back
    whole and the turn is taken again in two: the group is stored in one transaction (its
    refusals told one by one), then applied in a second, so a contact whose apply fails or
    hangs stays stored and its request is told so (IntakePending: received). The turn
    answers every request it stored (issue #14): under load the requests that arrive during
    a turn make the next turn's group, so each group is as large as the load makes it and
    each complaint waits for one turn.

    Returns the stored tickets not answered yet (none unless another applier holds them).
    Raises a DatabaseError that broke a transaction of the two-step turn: if the store's,
    nothing of ``fresh`` is stored; if the apply's, the contacts stay stored and queued for
    the next try.
    """
    fresh = [ticket for ticket in fresh if not ticket.abandoned]
    if fresh and journal.in_use():
        fresh = _store_in_journal(fresh)
    if fresh and _store_and_apply(fresh, stored):
        _answer_stored(fresh)
        return [ticket for ticket in [*stored, *fresh] if not ticket.done.is_set()]
    fresh = [ticket for ticket in fresh if not ticket.abandoned]
    if fresh:
        store_together(fresh)  # answers the refused ones; the others now have a raw_id
        _answer_stored(fresh)
        stored = [*stored, *(ticket for ticket in fresh if ticket.raw_id is not None)]
        stored = [ticket for ticket in stored if not ticket.done.is_set()]
    if stored:
        apply_waiting(stored)  # one transaction per batch; answers after its commit
    return [ticket for ticket in stored if not ticket.done.is_set()]


def _store_in_journal(fresh: list[Ticket], *, durable: bool = True) -> list[Ticket]:
    """Store the contacts of ``fresh`` that the intake journal takes (the public form's, the
    API's that wait for the applier process) in one transaction, and answer each after its
    commit (stored: received; or its refusal); wake the applier process. Returns the tickets
    this does not store (a contact with files, one the journal does not take): the API's of
    those are applied in this process. ``durable=False``: the commit without an fsync, for
    requests answered only once applied (``store_awaited``)."""
    from cherish.intake.actions import journal_item, refusal_from_journal

    waker = ""
    if any(ticket.wakes_back for ticket in fresh):
        try:
            waker = wake_back().address
        except OSError:
            # No abstract socket to be woken on: the API's contacts are applied here.
            logger.warning("intake wake-back: not listening", exc_info=True)
            for ticket in fresh:
                if ticket.wakes_back:
                    ticket.answer_stored = ticket.wakes_back = False
    mine = [
        (ticket, item)
        for ticket in fresh
        if (item := journal_item(ticket, waker=waker)) is not None
    ]
    tickets = [ticket for ticket, _ in mine]
    rest = [ticket for ticket in fresh if ticket not in tickets]
    for ticket in rest:
        if ticket.wakes_back:
            ticket.answer_stored = ticket.wakes_back = False
    if not mine:
        return rest
    try:
        outcomes = journal.store(
            [item for _, item in mine], seal=lambda i: tickets[i].seal(), durable=durable
        )
    except OperationalError as error:
        # Nothing of the group is stored: each request stores its contact in the database.
        logger.warning("intake journal: a group could not be stored", exc_info=True)
        for ticket in tickets:
            ticket.unseal()
            ticket.finish(error, here=False)
        return rest
    stored = False
    for ticket, outcome in zip(tickets, outcomes, strict=True):
        if isinstance(outcome, journal.Stored):
            ticket.reference = outcome.entry.reference
            ticket.durable = ticket.journaled = True
            ticket.finish(None, here=False)  # received; the applier process applies it
            stored = True
        elif outcome is not None:
            ticket.finish(refusal_from_journal(outcome), here=True)
        elif not ticket.abandoned:
            # The copy of a form whose first sending gave up: its request stores it anew.
            ticket.unseal()
            ticket.finish(OperationalError("not stored in the intake journal"), here=False)
    if stored:
        wake_applier()
    return rest


def send_to_applier(ticket: Ticket) -> bool:
    """Send the contact of a request that waits for its case (the API's, with an
    Idempotency-Key) straight to the applier process, which stores and applies it in its
    next batch, and wait for its answer; False when it cannot be sent, or is not answered
    within ``DIRECT_WAIT_S`` (the caller then stores it in the intake journal:
    ``store_awaited``). True: the ticket is finished, applied (``said``: what the applier
    process answered) or refused (its key taken: DuplicateRequest).

    Why: such a request is answered 201 only after the applier process's commit holds its
    contact, so nothing needs to be durable before; its journal entry was written, read back
    and deleted for nothing, and the journal's one writer at a time held the request threads
    in line (42 % of their time, seen with py-spy, 8 clients). Measured on the 2-core
    benchmark machine with 8 clients, servers alternated: 735-755 against 615-619 complaints
    a second (bench/README.md, 2026-12-03).

    Why only with a key: exactly one case per key holds across the two ways in, because the
    applier process checks each key against the database and the journal while it holds the
    journal's writer queue, until its commit; a request without a key has nothing by which
    a copy stored in the journal after a slow answer could be known as the same one."""
    import json

    from cherish.core.references import new_reference
    from cherish.intake.actions import DuplicateRequest, journal_item

    try:
        back = wake_back()
    except OSError:
        return False
    item = journal_item(ticket, waker=back.address)
    if item is None or item.key is None or item.rate_key is not None or item.fingerprint:
        return False
    for _ in range(DIRECT_TRIES):
        entry = journal.Entry(
            0,
            time.time(),
            new_reference(),
            item.channel,
            item.sender,
            "",
            item.payload,
            item.contact,
            api_key=item.key[0],
            idem_key=item.key[1],
            request_hash=item.key[2],
            waker=item.waker,
        )
        # The entry's fields as they are (``asdict`` copies the payload deeply first).
        datagram = json.dumps(vars(entry)).encode()
        if len(datagram) > WAKE_DATAGRAM_MAX:
            return False
        if not _send(datagram, applier_address()):
            return False  # no applier process listening, or its queue full
        said = _wait_direct(back, entry.reference, item.key[:2])
        if said is None:
            return False
        if said.refusal == "key":
            ticket.finish(DuplicateRequest("the Idempotency-Key is taken"), here=False)
            return True
        if said.refusal:
            continue  # its reference was taken: sent again with another
        ticket.reference, ticket.said = entry.reference, said
        ticket.durable = ticket.journaled = True
        ticket.finish(None, here=False)
        return True
    return False


_sender: tuple[int, Any] | None = None


def _send(datagram: bytes, address: bytes) -> bool:
    """Send a datagram from this process's sending socket (made on first use; a forked
    child makes its own); False when nobody listens there or its queue is full."""
    global _sender
    if _sender is None or _sender[0] != os.getpid():
        _sender = (os.getpid(), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
        _sender[1].setblocking(False)
    try:
        _sender[1].sendto(datagram, address)
    except OSError:
        return False
    return True


def _wait_direct(back: WakeBack, reference: str, key: tuple[int, str]) -> Applied | None:
    """The applier process's answer for a contact sent to it directly; None: none in time.
    A bare wake-up (from another user, or an answer too big to send) ends the wait only if
    the request's key names a raw record with this reference: it alone is no proof that
    anything was stored."""
    from cherish.intake.models import IdempotencyKey

    deadline = time.monotonic() + DIRECT_WAIT_S
    while (left := deadline - time.monotonic()) > 0:
        said = back.wait(reference, left)
        if said is None:
            return None
        if said.answer is not None or said.refusal:
            return said
        if IdempotencyKey.objects.filter(
            api_key_id=key[0], key=key[1], raw__reference=reference
        ).exists():
            return said
    return None


def send_to_store(ticket: Ticket) -> bool:
    """Send the public form's complaint to the intake store process (``run_store_loop``),
    which stores it in the intake journal with the others waiting, one fsync for the group,
    and says what became of it; finish the ticket with that, as ``_store_in_journal`` does.
    False when it cannot be sent or is not answered within ``STORE_WAIT_S``: this process's
    applier thread then stores it (a copy the store process took after all is the same
    form sent again: the journal's resend check finds it).

    Why: in the web process the group commit ran in a thread that gives up the interpreter
    lock at every statement, the fsync and the wake-up, and took it back only behind the
    request threads: a turn of one form took 6 ms, of eight 1.2 ms, and a form's request
    waited 7.2 of its 8.5 ms for its turn (timed under the form's load, 8 clients). The store
    process has one thread. Measured with the form at 8 clients, servers alternated: 760-779
    against 653-676 complaints a second (bench/README.md, 2026-12-03)."""
    import json
    import secrets

    from cherish.intake.actions import journal_item

    try:
        back = wake_back()
    except OSError:
        return False
    item = journal_item(ticket)
    if item is None:
        return False
    token = "S-" + secrets.token_hex(8)
    datagram = json.dumps({"token": token, "back": back.address, "item": vars(item)}).encode()
    if len(datagram) > WAKE_DATAGRAM_MAX:
        return False
    if not _send(datagram, store_address()):
        return False  # no store process listening, or its queue full
    deadline = time.monotonic() + STORE_WAIT_S
    while (left := deadline - time.monotonic()) > 0:
        said = back.wait(token, left)
        if said is None:
            return False
        if said.told:  # a bare wake-up (another user's) says nothing: wait on
            break
    else:
        return False
    outcome = _outcome_from(json.loads(said.told))
    if outcome is None:
        return False
    _finish_stored(ticket, outcome)
    return True


def _finish_stored(ticket: Ticket, outcome: Any) -> None:
    """Finish the ticket of a complaint the journal stored or refused (``journal.store``)."""
    from cherish.intake.actions import refusal_from_journal

    if isinstance(outcome, journal.Stored):
        ticket.reference = outcome.entry.reference
        ticket.durable = ticket.journaled = True
        ticket.finish(None, here=False)  # received; the applier process applies it
    else:
        ticket.finish(refusal_from_journal(outcome), here=True)


def _outcome_told(outcome: Any) -> dict[str, Any]:
    """``journal.store``'s outcome for one complaint, as the store process tells it."""
    if isinstance(outcome, journal.Stored):
        return {"stored": vars(outcome.entry)}
    if isinstance(outcome, journal.OverLimit):
        return {"over_limit": True}
    if isinstance(outcome, journal.SentBefore):
        entry = vars(outcome.entry) if outcome.entry is not None else None
        return {"sent_before": [outcome.reference, outcome.raw_id, entry]}
    if isinstance(outcome, journal.KeyTaken):
        return {"key_taken": True}
    return {}


def _outcome_from(told: dict[str, Any]) -> Any:
    """The outcome ``_outcome_told`` wrote; None for none (the request stores it itself)."""
    if "stored" in told:
        return journal.Stored(journal.Entry(**told["stored"]))
    if "over_limit" in told:
        return journal.OverLimit()
    if "sent_before" in told:
        reference, raw_id, entry = told["sent_before"]
        return journal.SentBefore(reference, raw_id, journal.Entry(**entry) if entry else None)
    if "key_taken" in told:
        return journal.KeyTaken()
    return None


# How long the public form's request waits for the store process before storing its
# complaint itself (a group takes a millisecond or two).
STORE_WAIT_S = 2.0


def store_address() -> bytes:
    """Where the intake store process listens: as ``applier_address``, one per data
    directory."""
    from django.conf import settings

    return _address_for(str(settings.DATA_DIR), "store")


def run_store_loop(stop: threading.Event | None = None) -> None:
    """The intake store process (``cherish apply_intake --store``, started by ``cherish
    serve`` on SQLite): store the public form's complaints the web processes send
    (``send_to_store``) in the intake journal, each group that waits in one transaction
    with one fsync, answer each request with its outcome, and wake the applier process.
    Contacts are taken only from a process of this user, as the applier process takes
    them. Nothing is kept here: a complaint is answered only once stored, and a request not
    answered stores its complaint itself."""
    import json
    import select

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        listener.bind(store_address())
    except OSError:
        listener.close()
        raise
    listener.setblocking(False)
    answers = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    answers.setblocking(False)
    try:
        while stop is None or not stop.is_set():
            select.select([listener], [], [], IDLE_POLL_S)
            asked = []
            for data in _trusted_datagrams(listener, BATCH_LIMIT):
                try:
                    doc = json.loads(data)
                    fields = doc["item"]
                    if fields.get("key") is not None:
                        fields["key"] = tuple(fields["key"])
                    asked.append((str(doc["token"]), str(doc["back"]), journal.Item(**fields)))
                except (ValueError, TypeError, KeyError):
                    logger.warning("intake store process: a malformed complaint ignored")
            if not asked:
                continue
            try:
                outcomes = journal.store([item for _, _, item in asked])
            except OperationalError:
                # Nothing of the group is stored; its requests store their complaints.
                logger.warning("intake store process: a group was not stored", exc_info=True)
                outcomes = [None] * len(asked)
            for (token, back, _), outcome in zip(asked, outcomes, strict=True):
                line = f"{token}\t={json.dumps(_outcome_told(outcome))}"
                with contextlib.suppress(OSError):  # that process is gone, or its queue full
                    answers.sendto(line.encode(), b"\0" + back.encode())
            if any(isinstance(outcome, journal.Stored) for outcome in outcomes):
                wake_applier()
    finally:
        listener.close()
        answers.close()


def _trusted_datagrams(listener: Any, most: int) -> list[bytes]:
    """Up to ``most`` datagrams waiting on ``listener`` (non-blocking: the first empty read
    ends this) from processes of this user (the kernel's credentials of the sender: an
    abstract socket has no file permissions); the others dropped with a warning."""
    space = socket.CMSG_SPACE(_CREDENTIALS.size)
    uid = os.getuid()
    taken = []
    with contextlib.suppress(BlockingIOError, InterruptedError):
        for _ in range(most):
            data, ancillary, _, _ = listener.recvmsg(65536, space)
            if from_user(ancillary, uid):
                taken.append(data)
            else:
                logger.warning("intake: a datagram from another user ignored")
    return taken


# struct ucred: pid, uid, gid (the credentials a Unix socket with SO_PASSCRED is told).
_CREDENTIALS = struct.Struct("3i")


def from_user(ancillary: list[tuple[int, int, bytes]], uid: int) -> bool:
    """Whether a datagram's ancillary data holds the kernel's credentials of a sender of
    user ``uid`` (an abstract socket has no file permissions: anyone may send to it)."""
    return any(
        level == socket.SOL_SOCKET
        and kind == socket.SCM_CREDENTIALS
        and len(value) >= _CREDENTIALS.size
        and _CREDENTIALS.unpack_from(value)[1] == uid
        for level, kind, value in ancillary
    )


def store_awaited(ticket: Ticket) -> bool:
    """Store the contact of a request that waits for its case (the API's: ``wakes_back``) in
    the intake journal from the request's own thread, without an fsync of its own, and wake
    the applier process; False when the journal does not take it (this process's applier
    thread then stores and applies it).

    Why no fsync: that request is answered 201 only after the applier process's commit,
    which is durable (``synchronous=FULL``) and holds the contact; until then nothing was
    promised, and a crash of the machine that loses the entry loses a request nobody was
    answered (its client retries, with its Idempotency-Key). Should it be answered 202
    "received" instead (the applier process stuck), ``journal.make_durable`` flushes the
    journal to the disk first. Measured on the 2-core benchmark machine, with 8 clients and
    servers alternated: +3 to +44 % API complaints a second against the group commit in the
    applier thread (whose fsync each request waited for), nothing with an fsync per request
    from its own thread (bench/README.md, 2026-12-03)."""
    return not _store_in_journal([ticket], durable=False)


def _answer_stored(tickets: list[Ticket]) -> None:
    """Answer the requests that wait only for their contact to be durable (``answer_stored``;
    the applier process adds those contacts to their cases) and wake that process."""
    told = False
    for ticket in tickets:
        if ticket.answer_stored and ticket.durable and not ticket.done.is_set():
            ticket.finish(None, here=False)  # durable, not applied: the caller says received
            told = True
    if told:
        wake_applier()


def _store_and_apply(fresh: list[Ticket], stored: list[Ticket]) -> bool:
    """Store ``fresh`` and apply it with ``stored`` in one transaction, guarded by
    ``TURN_GUARD_S``; answer each request after the commit. False: it rolled back whole
    (nothing of ``fresh`` is stored, nobody was answered) and the caller takes the turn in
    two transactions instead."""
    from cherish.intake.actions import store_queued_together

    together = [ticket.queued for ticket in fresh]
    if any(queued is None for queued in together) or len(fresh) > BATCH_LIMIT:
        return False
    finished: list[tuple[Ticket, Outcome]] = []
    try:
        with transaction.atomic(), _guarded(TURN_GUARD_S):
            records = store_queued_together(together)
            for ticket, record in zip(fresh, records, strict=True):
                ticket.raw_id, ticket.record = record.pk, record
                ticket.reference = record.reference or ""
            # Contacts the applier process adds (answer_stored) are only stored here.
            mine = [*stored, *(ticket for ticket in fresh if not ticket.answer_stored)]
            if mine:
                apply_waiting(mine, after_commit=finished)
            sealed = [ticket for ticket in fresh if ticket.seal()]
            if len(sealed) < len(fresh):
                raise Abandoned("a request gave up before the turn committed")
    except Exception:
        # A refusal in the group, a broken or slow apply, a failed commit: nothing of this
        # transaction is durable, so nothing of it was told; the two-step turn takes over.
        logger.info("intake applier: a turn taken in two transactions", exc_info=True)
        for ticket in fresh:
            ticket.raw_id, ticket.reference, ticket.record = None, "", None
            ticket.unseal()
        return False
    for ticket in fresh:
        ticket.durable = True
    for ticket, outcome in finished:
        ticket.finish(outcome, here=True)
    return True


class Abandoned(Exception):
    """A request of the group stopped waiting: the turn rolls back and stores the others."""


class TurnOverdue(OperationalError):
    """The one-transaction turn ran past ``TURN_GUARD_S``: it rolls back and is taken in two."""


@contextlib.contextmanager
def _guarded(seconds: float) -> Iterator[None]:
    """Refuse every statement of the turn once ``seconds`` have passed (and on PostgreSQL cut
    a single statement that waits longer, a lock wait above all), so a slow or stuck apply
    rolls the turn back at its next statement instead of holding its group undurable."""
    deadline = time.monotonic() + seconds

    def guard(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if time.monotonic() > deadline:
            raise TurnOverdue(f"the intake turn ran past {seconds} s")
        return execute(sql, params, many, context)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)", [f"{int(seconds * 1000)}ms"]
            )
    with connection.execute_wrapper(guard):
        yield


def store_together(tickets: list[Ticket]) -> None:
    """Run the durable write of every ticket in one transaction (group commit).

    A group whose every ticket says what it stores (``queued``) is stored with one
    statement per kind of row (intake.actions.store_queued_together). Should one of them be
    refused, that transaction rolls back and each write runs in its own savepoint instead:
    one refused (RateLimited, DuplicateRequest) or broken by its data is finished with its
    error and the others commit. Sets each stored ticket's ``raw_id`` once the transaction
    has committed.
    """
    # A request that gave up before this store (abandoned) said "nothing saved": not stored.
    # The others can no longer give up: what is committed now, they answer.
    tickets = [ticket for ticket in tickets if ticket.seal()]
    if not tickets:
        return
    made: list[tuple[Ticket, Any]] = []
    refusals: list[tuple[Ticket, Exception]] = []
    together = [ticket.queued for ticket in tickets]
    stored = False
    if all(queued is not None for queued in together):
        from cherish.intake.actions import store_queued_together

        try:
            # Outside a transaction this is one (no savepoint: nothing else is in it).
            with transaction.atomic():
                made = list(zip(tickets, store_queued_together(together), strict=True))
            stored = True
        except (InterfaceError, OperationalError):
            raise
        except Exception:  # one would be refused: each on its own, below
            logger.debug("intake applier: a group stored one by one", exc_info=True)
            made = []
    if not stored:
        with transaction.atomic():
            made, refusals = _store_each(tickets)
    for ticket, record in made:
        ticket.reference = record.reference or ""
        ticket.raw_id = record.pk
        ticket.record = record
        ticket.durable = True
    for ticket, error in refusals:
        ticket.finish(error, here=True)


def _store_each(tickets: list[Ticket]) -> tuple[list[tuple[Ticket, Any]], list[Any]]:
    """The durable writes of ``tickets``, each in a savepoint of the caller's transaction:
    (ticket, record) for those stored, (ticket, error) for those refused."""
    made: list[tuple[Ticket, Any]] = []
    refusals: list[tuple[Ticket, Exception]] = []
    for ticket in tickets:
        assert ticket.store is not None
        try:
            with transaction.atomic():
                made.append((ticket, ticket.store()))
        except (InterfaceError, OperationalError):
            raise
        except Exception as error:  # a refusal or a constraint: this ticket only
            refusals.append((ticket, error))
    return made, refusals


def _grace(seconds: float | None = None) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=ORPHAN_GRACE_S if seconds is None else seconds)


def _apply_together(
    raws: list[Any], contacts: dict[int, Any], owners: Any, waiting: dict[int, Ticket]
) -> dict[int, Outcome]:
    """Receive new-case contacts with one statement per table (intake.receive_queued_batch).

    Should that fail (a reference drawn twice, a contact point a racing process added, a
    refusal in a ticket's ``on_applied``), its savepoint rolls back, the owners picked are
    put back in line, and the caller applies every contact one by one: each failure is then
    recorded on its own contact, as before batching.
    """
    from cherish.intake.actions import receive_queued_batch
    from cherish.intake.models import RawStatus

    line = list(owners.line)
    try:
        with transaction.atomic():
            results = receive_queued_batch([(contacts[raw.pk], raw) for raw in raws], owners=owners)
            for raw, result in zip(raws, results, strict=True):
                ticket = waiting.get(raw.pk)
                if ticket is not None and ticket.on_applied is not None:
                    ticket.on_applied(result)
    except (InterfaceError, OperationalError):
        raise
    except Exception:
        logger.info("intake applier: batch of %d applied one by one", len(raws), exc_info=True)
        owners.line = line
        for raw in raws:  # receive_queued_batch marked them; that rolled back
            raw.status, raw.case, raw.message = RawStatus.QUEUED, None, None
        return {}
    return {raw.pk: result for raw, result in zip(raws, results, strict=True)}


def _apply_one(
    raw: Any, contact: Any, owners: Any, receive: Callable[..., Any], ticket: Ticket | None
) -> Outcome:
    from cherish.intake.actions import describe_error, mark_raw_failed

    try:
        with transaction.atomic():
            result = receive(contact, raw, owners=owners)
            if ticket is not None and ticket.on_applied is not None:
                ticket.on_applied(result)
        return result
    except (InterfaceError, OperationalError):
        raise  # the connection, a lock or the disk: the whole batch waits for the next try
    except (CherishError, DatabaseError) as error:
        # A refusal, or a statement this contact's data broke (a constraint, a value too
        # long): its savepoint rolled back, the batch goes on without it.
        failure: Exception = error
    except Exception as error:
        logger.exception("queued contact %s could not be applied", raw.pk)
        failure = error
    mark_raw_failed(raw, describe_error(failure))
    if ticket is not None and ticket.on_applied is not None:
        ticket.on_applied(failure)
    return failure


def _finish_from_database(waiting: dict[int, Ticket]) -> None:
    """Tickets whose contact another applier took (or that is no longer queued)."""
    from cherish.intake.actions import result_of
    from cherish.intake.models import RawContact, RawStatus

    for raw in RawContact.objects.filter(pk__in=list(waiting)).exclude(status=RawStatus.QUEUED):
        waiting.pop(raw.pk).finish(result_of(raw), here=False)


class Applier:
    """This process's applier thread: requests hand it tickets and wait on them."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.tickets: list[Ticket] = []
        self.thread: threading.Thread | None = None
        self.stopping = False

    def submit(self, ticket: Ticket) -> None:
        with self.cond:
            self.tickets.append(ticket)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="cherish-intake-applier", daemon=True
                )
                self.thread.start()
            self.cond.notify()

    def _run(self) -> None:
        stored: list[Ticket] = []  # stored, still to apply (a retry's contact)
        while True:
            with self.cond:
                # Idle, it waits: orphans are taken by its next batch and by apply_intake.
                while not self.tickets and not stored and not self.stopping:
                    self.cond.wait()
                if self.stopping and not self.tickets and not stored:
                    connection.close()
                    return
                batch, self.tickets = self.tickets, []
            batch = [ticket for ticket in batch if ticket.take("applier")]
            fresh = [ticket for ticket in batch if ticket.raw_id is None]
            # Tickets handed over already stored (a retry waiting for its contact) are
            # applied in this turn with those it stores.
            stored += [ticket for ticket in batch if ticket.raw_id is not None]
            try:
                stored = run_cycle(fresh, stored)
            except Exception as error:
                logger.warning("intake applier: batch failed; retried later", exc_info=True)
                for ticket in [*stored, *fresh]:
                    if not ticket.done.is_set():
                        ticket.finish(error, here=False)
                stored = []
                try:
                    close_old_connections()
                except Exception:  # the thread must live on; its next batch reconnects
                    logger.warning("intake applier: could not reset its connection", exc_info=True)

    def stop(self, timeout: float = 30) -> None:
        """Finish the tickets in hand, close the database connection and end the thread."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
            thread = self.thread
        if thread is not None:
            thread.join(timeout)
        with self.cond:
            self.stopping = False


# The applier process looks for stored contacts by itself this often when nobody wakes it (a
# datagram lost, a web process on another machine).
IDLE_POLL_S = 0.25
# After a batch that was not full the applier process waits this long before the next.
APPLIER_PAUSE_S = float(os.environ.get("CHERISH_APPLIER_PAUSE_S", "0.04"))


def applier_address() -> bytes:
    """Where the applier process listens for wake-ups: a Unix datagram socket in Linux's
    abstract namespace (no file to leave behind, no path length limit), one per data
    directory, so the installations of one machine never wake each other's."""
    from django.conf import settings

    return _address_for(str(settings.DATA_DIR), "applier")


@functools.lru_cache(maxsize=8)
def _address_for(data_dir: str, role: str) -> bytes:
    digest = hashlib.sha256(data_dir.encode()).hexdigest()[:24]
    return f"\0cherish-intake-{role}-".encode() + digest.encode()


_waker: Any = None


def wake_applier() -> None:
    """Tell the applier process that contacts are stored (best effort: it also looks by
    itself every ``IDLE_POLL_S``)."""
    global _waker
    # No applier process listening, or its queue full: it looks by itself.
    with contextlib.suppress(OSError):
        if _waker is None or _waker[0] != os.getpid():
            _waker = (os.getpid(), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
            _waker[1].setblocking(False)
        _waker[1].sendto(b"!", applier_address())


def run_applier_loop(stop: threading.Event | None = None, *, limit: int = BATCH_LIMIT) -> None:
    """The applier process: apply every stored contact, in batches of up to ``limit``, until
    ``stop`` is set (forever in ``cherish apply_intake --loop``).

    One applier at a time among processes (intake.applier.apply_waiting's lock); a batch
    that fails on the database is retried at the next turn, its contacts still stored.
    """
    import select

    from django.db.backends.signals import connection_created

    # Each batch is one transaction with savepoints, and SQLite keeps a savepoint's journal
    # in a temporary file by default: created, written page by page and unlinked every
    # batch (about 280 writes a batch, seen with strace). In memory it is a few pages. And a
    # bigger page cache (APPLIER_CACHE_KIB).
    me = threading.get_ident()

    def this_threads(sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.get_ident() == me:  # not another thread's (the tests run this in one)
            _applier_connection(connection)

    connection_created.connect(this_threads, weak=False)
    connection.close()
    usual = connection.settings_dict
    if connection.vendor == "sqlite":
        # This thread's connection only (the settings' dict is every thread's).
        options = {**usual.get("OPTIONS", {}), "cached_statements": APPLIER_CACHED_STATEMENTS}
        connection.settings_dict = {**usual, "OPTIONS": options}
    listener: socket.socket | None = None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sock.bind(applier_address())
        sock.setblocking(False)
        listener = sock
    except OSError:
        # Another applier process of this data directory listens (it is woken; this one
        # looks by itself), or no abstract sockets here: look every IDLE_POLL_S.
        logger.info("intake applier process: not listening for wake-ups", exc_info=True)
        sock.close()
    # The journal's entries moved into the database, deleted from the journal a few batches
    # at a time (each deletion is a write transaction on the journal, with its fsync, that
    # the web processes' stores wait behind): when nothing waits, or these many, or this old.
    moved: list[tuple[int, str]] = []
    forget_by = 0.0
    try:
        while stop is None or not stop.is_set():
            woke: list[int] = []
            direct = _sent_directly(listener) if listener is not None else []
            try:
                applied = apply_waiting(
                    limit=limit, grace_s=0, woke=woke, forget_later=moved, direct=direct
                )
            except Exception:
                logger.warning("intake applier process: a batch failed; retried", exc_info=True)
                close_old_connections()
                applied = 0
                time.sleep(0.1)
            if moved and not forget_by:
                forget_by = time.monotonic() + FORGET_AFTER_S
            if moved and (
                not applied or len(moved) >= FORGET_COUNT or time.monotonic() >= forget_by
            ):
                forget_by = 0.0 if _forget_moved(moved) else forget_by
            if applied >= limit:
                continue  # a full batch: more are waiting
            if any(woke):
                # Requests wait for these (the API's): no gathering. The next ones stored
                # meanwhile have sent their wake-ups already: the select below returns at
                # once for them, without a look that finds nothing.
                if listener is None:
                    continue
            elif applied:
                # Gather the next batch for a few tens of milliseconds: bigger batches cost
                # less a complaint (0.6 against 1.5 ms of CPU on the benchmark machine), and
                # meanwhile the web processes' stores have the write lock to themselves (a
                # lock taken again at once starved them: their waits poll, this loop would not).
                time.sleep(APPLIER_PAUSE_S)
                continue
            if listener is None:
                time.sleep(IDLE_POLL_S)
                continue
            # Ready or not: the next turn reads what came (_sent_directly) and looks once.
            select.select([listener], [], [], IDLE_POLL_S)
    finally:
        if listener is not None:
            listener.close()
        _forget_moved(moved)
        connection.close()
        connection.settings_dict = usual
        connection_created.disconnect(this_threads)


def _sent_directly(listener: Any) -> list[journal.Entry]:
    """Read every datagram waiting on the applier process's socket (it is non-blocking: the
    first empty read ends this): the contacts the web processes sent directly
    (``send_to_applier``), as journal entries; the bare wake-ups only say "look". An
    abstract socket has no file permissions: a contact is taken only from a process of this
    user (the kernel's credentials of the sender), as the web processes take their answers."""
    import json

    sent = []
    for data in _trusted_datagrams(listener, 4096):
        if not data.startswith(b"{"):
            continue  # a wake-up
        try:
            sent.append(journal.Entry(**json.loads(data)))
        except (ValueError, TypeError):
            logger.warning("intake applier process: a malformed contact ignored")
    return sent


# The applier process deletes the entries it moved from the journal once this many wait for
# it, or once the first of them has waited this long, or when it finds nothing to apply.
FORGET_COUNT = 256
FORGET_AFTER_S = 0.5


def _forget_moved(moved: list[tuple[int, str]]) -> bool:
    """Delete ``moved`` from the intake journal and empty the list; False (the list kept,
    tried again later) when the journal cannot be written now. Entries left in the journal
    are harmless: their references are raw records, so a move skips and deletes them."""
    try:
        journal.forget(moved)
    except OperationalError:
        logger.warning("intake applier process: the journal's cleanup failed", exc_info=True)
        return False
    moved.clear()
    return True


# The applier process's page cache. A batch touches every index of every table it writes
# (about 90 pages for four complaints), and with SQLite's default 2 MiB the pages it needed
# again were read back from the write-ahead log and dirty ones spilled into it before the
# commit: 64 reads and 110 writes a complaint (/proc/PID/io, the API at 8 clients), against
# 20 and 90 with 32 MiB; the rate moved within the noise to +20 % (bench/README.md, 2026-12-03).
# 64 MiB measured no better on the 10k data.
APPLIER_CACHE_KIB = 32 * 1024


# The applier process's prepared statements: a batch runs about 25 statements, their texts
# differ with its number of complaints (one multi-row INSERT per table), and with the web's 32
# (settings: CHERISH_SQLITE_CACHED_STATEMENTS) every batch compiled most of them again; the
# INSERT into the cases, with its two dozen indexes, is the costliest to compile. Measured with
# the API at 8 clients, alternated: 1.36-1.40 against 1.50-1.52 ms of the applier's CPU a
# complaint (bench/README.md, 2026-12-03).
APPLIER_CACHED_STATEMENTS = 512


# The write-ahead log's pages the applier's commits let grow before one of them checkpoints
# (SQLite's default: 1,000). A checkpoint copies each page once however many frames of it the
# log holds, and a batch rewrites the same pages again and again (the last leaf of every index,
# the full-text indexes' structure, the staff's round-robin rows): with four times the log,
# far fewer copies a complaint. Measured with the API at 8 clients, alternated: 577-604 against
# 543-579 complaints a second (+4-6 %), 10,000 no better (bench/README.md, 2026-12-03). The log
# then holds up to 16 MiB; it is rewound, not grown, after each checkpoint.
APPLIER_WAL_AUTOCHECKPOINT = 4000


def _applier_connection(connection: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute(f"PRAGMA cache_size=-{APPLIER_CACHE_KIB}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={APPLIER_WAL_AUTOCHECKPOINT}")


# How long a woken reference is remembered for a request that starts waiting after its wake-up
# came (the applier process was faster than the request's own thread).
WOKEN_KEPT_S = 30.0


@dataclass(frozen=True)
class Applied:
    """What the applier process said of a contact it applied: the response it stored for
    the request (status, JSON text), when it sent it along."""

    answer: tuple[int, str] | None = None
    # A contact sent to it directly and not taken: "key" (its Idempotency-Key is taken),
    # "reference" (its reference is: sent again with another).
    refusal: str = ""
    # The intake store process's word on a complaint sent to it (``send_to_store``): JSON.
    told: str = ""


# A wake-up datagram's most bytes (the listener reads 64 KiB at a time).
WAKE_DATAGRAM_MAX = 60_000


class WakeBack:
    """Where a web process hears from the applier process that contacts it stored in the
    intake journal are on their cases (the API's requests wait for that): a datagram socket
    in Linux's abstract namespace, one per process, and a thread that reads it and wakes the
    requests waiting for those references.

    A wake-up line is a reference, or a reference with the response the applier stored for
    its request (``reference TAB status TAB json``): the request answers with it instead of
    reading it back from the database. An abstract socket has no file permissions, so a
    response is believed only from a process of this user (the kernel's credentials of the
    sender, ``SO_PASSCRED``); a bare wake-up from anyone else only ends a wait early, and
    the request then reads its answer from the database."""

    def __init__(self) -> None:
        digest = hashlib.sha256(str(_data_dir()).encode()).hexdigest()[:16]
        self.address = f"cherish-intake-web-{digest}-{os.getpid()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(b"\0" + self.address.encode())
        self.guard = threading.Lock()
        self.waiters: dict[str, tuple[threading.Event, list[Applied]]] = {}
        self.woken: dict[str, tuple[float, Applied]] = {}
        self.thread = threading.Thread(target=self._listen, name="cherish-intake-wake", daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        space = socket.CMSG_SPACE(_CREDENTIALS.size)
        uid = os.getuid()
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, space)
            except OSError:
                logger.warning("intake wake-back: the socket failed", exc_info=True)
                return
            trusted = from_user(ancillary, uid)
            at = time.monotonic()
            with self.guard:
                for line in data.decode("utf-8", "replace").split("\n"):
                    reference, _, rest = line.partition("\t")
                    applied = _applied_from(rest) if trusted and rest else Applied()
                    waiter = self.waiters.get(reference)
                    if waiter is not None:
                        waiter[1].append(applied)
                        waiter[0].set()
                    else:
                        self.woken[reference] = (at, applied)
                if len(self.woken) > 4096:
                    self.woken = {
                        ref: kept for ref, kept in self.woken.items() if at - kept[0] < WOKEN_KEPT_S
                    }

    def wait(self, reference: str, timeout: float) -> Applied | None:
        """Wait until the applier process says ``reference`` is applied; None after
        ``timeout`` (the caller then looks for itself)."""
        with self.guard:
            kept = self.woken.pop(reference, None)
            if kept is not None:
                return kept[1]
            waiter = self.waiters.setdefault(reference, (threading.Event(), []))
        try:
            if not waiter[0].wait(timeout):
                return None
            # A bare wake-up (anyone's) must not hide the applier's answer that came with it.
            return next(
                (said for said in waiter[1] if said.answer or said.refusal or said.told), Applied()
            )
        finally:
            with self.guard:
                self.waiters.pop(reference, None)


def _applied_from(text: str) -> Applied:
    if text.startswith("!"):
        return Applied(refusal=text[1:])
    if text.startswith("="):
        return Applied(told=text[1:])
    status, _, body = text.partition("\t")
    return Applied((int(status), body)) if status.isdigit() and body else Applied()


_wake_backs: dict[int, WakeBack] = {}


def wake_back() -> WakeBack:
    """This process's wake-back listener (one per process id: a forked child starts its own)."""
    return _this_process(_wake_backs, WakeBack)


def wait_applied(reference: str, timeout: float) -> Applied | None:
    """Wait for the contact stored in the journal with ``reference`` to be on its case."""
    return wake_back().wait(reference, timeout)


def _wake_web(wakes: dict[str, list[tuple[str, Any]]]) -> None:
    """After the commit of a batch: tell each web process which of its contacts are applied,
    each with the response stored for its request where there is one (best effort: a request
    not woken looks for itself when its wait ends)."""
    for address, woken in wakes.items():
        for datagram in _wake_datagrams(woken):
            _send(datagram, b"\0" + address.encode())  # False: that process is gone, or busy


def _wake_datagrams(woken: list[tuple[str, Any]]) -> Iterator[bytes]:
    """The wake-up lines, in datagrams of at most WAKE_DATAGRAM_MAX bytes, each with the
    response its ``answer`` holds (intake.api's: status and JSON text) where it has one; a
    response too big for one datagram is left out (that request reads it from the database)."""
    lines: list[bytes] = []
    size = 0
    for reference, answer in woken:
        line = reference.encode("ascii")
        if isinstance(answer, str):  # a refusal of a contact sent directly
            answer, line = None, b"%s\t!%s" % (line, answer.encode("ascii"))
        response = answer.response if answer is not None else None
        if response is not None:
            with_answer = b"%s\t%d\t%s" % (line, response[0], response[1].encode())
            if len(with_answer) < WAKE_DATAGRAM_MAX:
                line = with_answer
        if lines and size + len(line) + 1 > WAKE_DATAGRAM_MAX:
            yield b"\n".join(lines)
            lines, size = [], 0
        lines.append(line)
        size += len(line) + 1
    if lines:
        yield b"\n".join(lines)


def _data_dir() -> str:
    from django.conf import settings

    return str(settings.DATA_DIR)


_appliers: dict[int, Applier] = {}
_appliers_guard = threading.Lock()


def applier() -> Applier:
    """The applier of this process (one per process id: a forked child starts its own)."""
    return _this_process(_appliers, Applier)


def _this_process(made: dict[int, Any], make: Callable[[], Any]) -> Any:
    """The one ``make()`` of this process in ``made``, made on first use."""
    pid = os.getpid()
    with _appliers_guard:
        found = made.get(pid)
        if found is None:
            found = made[pid] = make()
        return found


def stop_appliers() -> None:
    """Stop this process's applier thread (tests: before the test database is dropped)."""
    found = _appliers.get(os.getpid())
    if found is not None:
        found.stop()
