"""The intake journal: where the public form's and the API's complaints are made durable on
SQLite.

With an applier process (``cherish serve``: ``CHERISH_INTAKE_APPLIER=process``) the web
process only stores each form complaint and answers; the applier process adds it to a case.
On SQLite both used to write the one database file, and SQLite has one write lock per file:
while the applier process held it for a batch (tens of milliseconds), every form request
waited for its store, the web process's interpreter idled, and the other core did the
applying alone. Measured on the 2-core benchmark machine: with the applier process stopped
the web process took 370-440 complaints a second, with it running 210-340 (bench/README.md).

So the form's durable write goes to a file of its own, ``intake-journal.sqlite3`` in the data
directory (WAL, ``synchronous=FULL``: a commit is fsynced before the request is answered),
with its own write lock. A group of complaints is stored in one journal transaction: each
sender's rate-limit count (kept here, where the complaints are counted), the check that
the same form was not sent before (in the journal, then in the database), the entry with the
complaint already shaped and the reference its case will have. The applier process moves
entries into the database as queued raw records inside the transaction of the batch that
applies them, and deletes them from the journal after that commit: a crash in between leaves
an entry whose reference is already a raw record, which the next move skips and deletes,
so each complaint becomes exactly one raw record and one case.

The API's new cases are stored here too, with their Idempotency-Key (one entry per key; a
key the database holds already is refused as taken, and the request replays that one's
answer). The API answers with the case, so its request waits: the batch that applies an
entry claims its key in the database, stores the request's response with it, and after its
commit wakes the web process that stored the entry (a datagram to the address the entry
names, ``intake.applier.WakeBack``), which answers from that response (201, as before).

PostgreSQL has no single write lock (rows are locked): there the form stores into the
database as before, and this journal is not used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection

from cherish.core.backup import JOURNAL_NAME

FILE_NAME = JOURNAL_NAME
# How long a store may wait for the journal's write lock (another web process's group).
LOCK_TIMEOUT_S = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    sender TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    payload TEXT NOT NULL,
    contact TEXT NOT NULL,
    api_key INTEGER,
    idem_key TEXT,
    request_hash TEXT NOT NULL DEFAULT '',
    waker TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS entry_fingerprint ON entry (fingerprint);
CREATE TABLE IF NOT EXISTS rate (
    key TEXT PRIMARY KEY,
    period INTEGER NOT NULL,
    hits INTEGER NOT NULL
);
"""
# Columns a journal made before the API's complaints were journaled lacks: added on opening.
ADDED_COLUMNS = {
    "api_key": "INTEGER",
    "idem_key": "TEXT",
    "request_hash": "TEXT NOT NULL DEFAULT ''",
    "waker": "TEXT NOT NULL DEFAULT ''",
}
KEY_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS entry_idempotency_key ON entry (api_key, idem_key)"
    " WHERE idem_key IS NOT NULL"
)


def in_use() -> bool:
    """Whether the public form's complaints are stored in the journal here."""
    return (
        settings.CHERISH_INTAKE_JOURNAL
        and settings.CHERISH_INTAKE_APPLIER == "process"
        and connection.vendor == "sqlite"
    )


def path() -> Path:
    return Path(_where())


def _where() -> str:
    """The journal file's path as a string, made once per data directory: every read and
    write of the journal asks for it, and pathlib's making of it cost more than a read."""
    data_dir = settings.DATA_DIR
    found = _WHERE.get(data_dir)
    if found is None:
        found = _WHERE[data_dir] = str(Path(data_dir) / FILE_NAME)
    return found


_WHERE: dict[Any, str] = {}


@dataclass(frozen=True)
class Entry:
    id: int
    received_at: float
    reference: str
    channel: str
    sender: str
    fingerprint: str
    payload: Any
    contact: dict[str, Any]
    # The API's Idempotency-Key: its API key's id, the key, the request's fingerprint.
    api_key: int | None = None
    idem_key: str | None = None
    request_hash: str = ""
    # Where the web process that waits for this complaint's case listens (the API's), or "".
    waker: str = ""

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.received_at, tz=dt.UTC)


_COLUMNS = (
    "id, received_at, reference, channel, sender, fingerprint, payload, contact,"
    " api_key, idem_key, request_hash, waker"
)


def _entry(row: tuple[Any, ...]) -> Entry:
    return Entry(
        *row[:6],
        payload=json.loads(row[6]),
        contact=json.loads(row[7]),
        api_key=row[8],
        idem_key=row[9],
        request_hash=row[10],
        waker=row[11],
    )


_local = threading.local()


def _connect() -> sqlite3.Connection:
    """This thread's connection to the journal (made, with its tables, on first use)."""
    where = _where()
    held = getattr(_local, "conn", None)
    if held is not None and held[0] == (os.getpid(), where):
        return held[1]
    if held is not None and held[0][0] == os.getpid():
        held[1].close()  # another data directory (tests)
    try:
        Path(where).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(where, isolation_level=None, timeout=LOCK_TIMEOUT_S)
        # The web process answers "received" after the commit: it must be on the disk.
        conn.execute("PRAGMA synchronous=FULL")
        # The switch to WAL in the writer queue too: a new file's first openers (a web
        # process's threads, the applier process) make it together, and a connection that
        # waits for the exclusive lock the switch needs makes another's schema write fail
        # at once with "database is locked" (SQLite's deadlock rule: no busy wait).
        with _writing(where):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            present = {row[1] for row in conn.execute("PRAGMA table_info(entry)")}
            for name, kind in ADDED_COLUMNS.items():
                if name not in present:
                    conn.execute(f"ALTER TABLE entry ADD COLUMN {name} {kind}")
            conn.execute(KEY_INDEX)
    except (OSError, sqlite3.Error) as error:
        # As django's, so a request falls back to the database and a page says 503/507.
        raise OperationalError(f"the intake journal could not be opened: {error}") from error
    _local.conn = ((os.getpid(), where), conn)
    _local.durable = True
    return conn


def make_durable() -> None:
    """Flush the journal's files to the disk: what ``store(durable=False)`` committed is
    then as durable as a FULL commit. Its frames are in the write-ahead log, or in the
    database file if a checkpoint (which syncs) moved them there; fsync of both covers
    either. Raises django's OperationalError when the disk refuses."""
    where = _where()
    try:
        for name in (f"{where}-wal", where):
            try:
                fd = os.open(name, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as error:
        raise OperationalError(f"the intake journal could not be flushed: {error}") from error


def _read(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a read on the journal; [] when it does not exist yet."""
    if not os.path.exists(_where()):
        return []
    try:
        return _connect().execute(sql, params).fetchall()
    except sqlite3.Error as error:
        raise OperationalError(f"the intake journal could not be read: {error}") from error


class _writing:
    """The journal's writer queue: one writer at a time among this machine's processes,
    woken in turn (core.backends.sqlite3's WriterLock), so no thread sleeps in SQLite's busy
    handler."""

    def __init__(self, where: str | None = None) -> None:
        from cherish.core.backends.sqlite3.base import writer_lock

        self.lock = writer_lock(f"{where or _where()}-writer.lock")

    def __enter__(self) -> None:
        self.lock.acquire(LOCK_TIMEOUT_S)

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@contextlib.contextmanager
def _written(*, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """One write transaction on the journal, in its writer queue: committed when the block
    ends, rolled back when it raises; SQLite's errors raised as django's OperationalError
    (the caller's request then stores its contact in the database)."""
    conn = _connect()
    try:
        with _writing():
            if _local.durable != durable:  # set with the connection (_connect)
                conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                _local.durable = durable
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    except sqlite3.Error as error:
        raise OperationalError(f"the intake journal could not be written: {error}") from error


@dataclass
class Item:
    """One complaint to store: what ``store`` needs of it."""

    channel: str
    sender: str
    fingerprint: str
    payload: Any
    contact: dict[str, Any]
    # The rate limit's counter key, its window and its limit; None: not counted.
    rate_key: str | None = None
    rate_window_s: int = 0
    rate_limit: int = 0
    # The API's Idempotency-Key (its API key's id, the key, the request's fingerprint): one
    # entry per key, and none for a key the database holds already (KeyTaken).
    key: tuple[int, str, str] | None = None
    waker: str = ""


@dataclass(frozen=True)
class Stored:
    """Stored (committed with the group): the entry, with its id and reference."""

    entry: Entry


@dataclass(frozen=True)
class OverLimit:
    """The sender is over the rate limit: not stored."""


@dataclass(frozen=True)
class SentBefore:
    """The same form was received before: its reference, and its raw record if moved."""

    reference: str
    raw_id: int | None
    entry: Entry | None


@dataclass(frozen=True)
class KeyTaken:
    """The Idempotency-Key was taken by an earlier request (in the journal or the database):
    not stored; the request answers what that one answers."""


Outcome = Stored | OverLimit | SentBefore | KeyTaken


def store(items: list[Item], *, seal: Any = None, durable: bool = True) -> list[Outcome | None]:
    """Store ``items`` in one journal transaction (one fsync); their outcomes, in order.
    ``durable=False``: no fsync at the commit (``synchronous=NORMAL``), for contacts whose
    requests are answered only once the database holds them (``make_durable`` before any
    other answer).

    Each sender is counted against its limit (OverLimit: not stored), each form checked
    against those received before (SentBefore: not stored), then the others are inserted
    together. ``seal(i)`` is asked just before the commit for every item about to be stored:
    False (its request gave up) leaves it out (None). Raises django's OperationalError when
    the journal cannot be written (nothing of this call is stored).
    """
    from cherish.core.references import new_reference
    from cherish.intake.actions import RESEND_WINDOW_S, keys_taken, taken_fingerprints

    outcomes: list[Outcome | None] = [None] * len(items)
    with _written(durable=durable) as conn:
        at = time.time()
        for i, item in enumerate(items):
            if item.rate_key is None:
                continue
            if _count(conn, item.rate_key, item.rate_window_s, at) > item.rate_limit:
                outcomes[i] = OverLimit()
        keyed = [item.key for item in items if item.key is not None]
        if keyed:
            held = _journal_keys(conn, keyed) | keys_taken(keyed)
            for i, item in enumerate(items):
                if item.key is not None and item.key[:2] in held:
                    outcomes[i] = KeyTaken()
                elif item.key is not None:
                    held.add(item.key[:2])  # a twin later in this group: taken by this one
        fingerprints = [
            item.fingerprint
            for i, item in enumerate(items)
            if item.fingerprint and outcomes[i] is None
        ]
        earlier = _journal_fingerprints(conn, fingerprints, at - RESEND_WINDOW_S)
        missing = [f for f in fingerprints if f not in earlier]
        in_database = taken_fingerprints(missing) if missing else {}
        rows = []
        group_first: dict[str, int] = {}
        copies: list[tuple[int, int]] = []
        for i, item in enumerate(items):
            if outcomes[i] is not None:
                continue
            if item.fingerprint in group_first:
                # A second copy in this very group: the first one's resend.
                copies.append((i, group_first[item.fingerprint]))
                continue
            if item.fingerprint in earlier:
                found = earlier[item.fingerprint]
                outcomes[i] = SentBefore(found.reference, None, found)
                continue
            if item.fingerprint in in_database:
                reference, raw_id = in_database[item.fingerprint]
                outcomes[i] = SentBefore(reference, raw_id, None)
                continue
            if seal is not None and not seal(i):
                continue
            entry = Entry(
                0,
                at,
                new_reference(),
                item.channel,
                item.sender,
                item.fingerprint,
                item.payload,
                item.contact,
                api_key=item.key[0] if item.key else None,
                idem_key=item.key[1] if item.key else None,
                request_hash=item.key[2] if item.key else "",
                waker=item.waker,
            )
            if item.fingerprint:
                group_first[item.fingerprint] = i
            rows.append((i, entry))
        rows = _fresh_references(conn, rows)
        for i, entry in rows:
            cursor = conn.execute(
                "INSERT INTO entry (received_at, reference, channel, sender, fingerprint,"
                " payload, contact, api_key, idem_key, request_hash, waker)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.received_at,
                    entry.reference,
                    entry.channel,
                    entry.sender,
                    entry.fingerprint,
                    json.dumps(entry.payload),
                    json.dumps(entry.contact),
                    entry.api_key,
                    entry.idem_key,
                    entry.request_hash,
                    entry.waker,
                ),
            )
            outcomes[i] = Stored(dataclasses.replace(entry, id=int(cursor.lastrowid or 0)))
        for i, first in copies:
            stored = outcomes[first]
            if isinstance(stored, Stored):
                outcomes[i] = SentBefore(stored.entry.reference, None, stored.entry)
    return outcomes


def _fresh_references(
    conn: sqlite3.Connection, rows: list[tuple[int, Entry]]
) -> list[tuple[int, Entry]]:
    """``rows`` with a new reference drawn for each one a raw record or another entry
    already holds: the customer is told this reference at once, and the raw record made
    from the entry keeps it (six characters of 30: among a million records, one draw in
    about 700 is taken)."""
    from cherish.core.references import new_reference
    from cherish.intake.actions import references_taken

    for _ in range(8):
        wanted = [entry.reference for _, entry in rows]
        marks = ", ".join("?" * len(wanted))
        taken = {
            row[0]
            for row in conn.execute(
                f"SELECT reference FROM entry WHERE reference IN ({marks})", wanted
            )
        }
        taken |= references_taken(wanted)
        if len(set(wanted)) == len(wanted) and not taken:
            return rows
        seen: set[str] = set()
        again = []
        for i, entry in rows:
            reference = entry.reference
            if reference in taken or reference in seen:
                reference = new_reference()
            seen.add(reference)
            again.append((i, dataclasses.replace(entry, reference=reference)))
        rows = again
    raise sqlite3.IntegrityError("no free case reference drawn in 8 tries")


def _count(conn: sqlite3.Connection, key: str, window_s: int, at: float) -> int:
    period = int(at) // window_s * window_s
    row = conn.execute(
        "INSERT INTO rate (key, period, hits) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE SET"
        " hits = CASE WHEN rate.period = excluded.period THEN rate.hits + 1 ELSE 1 END,"
        " period = excluded.period RETURNING hits",
        (key, period),
    ).fetchone()
    return int(row[0])


def count(key: str, *, window_s: int) -> int:
    """Count one event for ``key`` in the journal's rate counters (a robot's post: counted
    with the complaints of its address); the count in the current window."""
    with _written() as conn:
        return _count(conn, key, window_s, time.time())


def _journal_fingerprints(
    conn: sqlite3.Connection, fingerprints: list[str], since: float
) -> dict[str, Entry]:
    if not fingerprints:
        return {}
    marks = ", ".join("?" * len(fingerprints))
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM entry WHERE fingerprint IN ({marks}) AND received_at >= ?"
        " ORDER BY id",
        (*fingerprints, since),
    ).fetchall()
    found: dict[str, Entry] = {}
    for row in rows:
        found.setdefault(row[5], _entry(row))
    return found


def _journal_keys(
    conn: sqlite3.Connection, keys: list[tuple[int, str, str]]
) -> set[tuple[int, str]]:
    found = set()
    for api_key, key, _ in keys:
        if conn.execute(
            "SELECT 1 FROM entry WHERE api_key = ? AND idem_key = ?", (api_key, key)
        ).fetchone():
            found.add((api_key, key))
    return found


def holding(
    references: list[str], keys: list[tuple[int, str]]
) -> tuple[set[str], set[tuple[int, str]]]:
    """Which of ``references`` and of the Idempotency-Keys ``keys`` (API key id, key)
    entries still in the journal hold: for the applier process to refuse a complaint sent to
    it directly whose reference or key the journal holds (``intake.applier``)."""
    if not references and not keys:
        return set(), set()
    held_references = {
        row[0]
        for row in _read(
            "SELECT reference FROM entry WHERE reference IN (SELECT value FROM json_each(?))",
            (json.dumps(references),),
        )
    }
    held_keys = (
        {
            (row[0], row[1])
            for row in _read(
                "SELECT entry.api_key, entry.idem_key FROM json_each(?) AS wanted JOIN entry"
                " ON entry.api_key = json_extract(wanted.value, '$[0]')"
                " AND entry.idem_key = json_extract(wanted.value, '$[1]')"
                " WHERE entry.idem_key IS NOT NULL",
                (json.dumps([list(key) for key in keys]),),
            )
        }
        if keys
        else set()
    )
    return held_references, held_keys


def writes_held() -> _writing:
    """The journal's writer queue, held (``with``): no complaint is stored in the journal
    meanwhile. The applier process holds it from its check of the journal's keys until the
    commit of the batch that applies the complaints sent to it directly."""
    return _writing()


def find_key(api_key: int, key: str) -> Entry | None:
    """The entry still in the journal that holds this Idempotency-Key, if any."""
    rows = _read(f"SELECT {_COLUMNS} FROM entry WHERE api_key = ? AND idem_key = ?", (api_key, key))
    return _entry(rows[0]) if rows else None


def waiting(
    *, before: float | None = None, limit: int = 64, skip: Collection[int] = ()
) -> list[Entry]:
    """The oldest entries still in the journal (received before ``before``), at most
    ``limit``, leaving out the ids in ``skip`` (entries already moved into the database
    whose deletion the applier process has put off). Should another applier have deleted
    such an entry and a new one taken its id, the new one is left out only until that
    deletion runs (``intake.applier.FORGET_AFTER_S``, or at once when nothing else waits)."""
    # The ids left out as one JSON parameter: one statement text whatever their number (up
    # to the applier's FORGET_COUNT), compiled once per connection, where a placeholder each
    # made a new statement to compile at every look (issue #14).
    rows = _read(
        f"SELECT {_COLUMNS} FROM entry WHERE received_at < ?"
        " AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
        (time.time() + 1 if before is None else before, json.dumps(list(skip)), limit),
    )
    return [_entry(row) for row in rows]


def find(reference: str) -> Entry | None:
    """The entry still in the journal with this reference, if any."""
    rows = _read(f"SELECT {_COLUMNS} FROM entry WHERE reference = ?", (reference,))
    return _entry(rows[0]) if rows else None


def size() -> int:
    """How many complaints wait in the journal."""
    rows = _read("SELECT count(*) FROM entry")
    return int(rows[0][0]) if rows else 0


def forget(moved: list[tuple[int, str]]) -> None:
    """Delete entries now in the database (after the commit that put them there), each by
    its id and its reference: an id alone could by then name a newer entry (SQLite gives
    a new row the highest id plus one, so the ids of entries another applier deleted meanwhile
    come round again), a reference cannot (a new entry never gets one a raw record holds)."""
    if not moved:
        return
    with _written() as conn:
        conn.executemany("DELETE FROM entry WHERE id = ? AND reference = ?", moved)


def forget_senders(senders: list[str]) -> int:
    """Delete the entries these senders (email addresses, phone numbers) sent: the erasure
    of a customer (intake.privacy). How many were deleted."""
    with _written() as conn:
        marks = ", ".join("?" * len(senders))
        cursor = conn.execute(
            f"DELETE FROM entry WHERE lower(sender) IN ({marks})",
            [sender.lower() for sender in senders],
        )
        return int(cursor.rowcount)


def purge_old_rates(*, older_than_s: int = 24 * 3600) -> None:
    if not path().exists():
        return
    with _written() as conn:
        conn.execute("DELETE FROM rate WHERE period < ?", (int(time.time()) - older_than_s,))


def close() -> None:
    held = getattr(_local, "conn", None)
    if held is not None:
        held[1].close()
        _local.conn = None
