"""The sent-journal: a delivery the server accepted, written down the moment it said yes.

A delivery is recorded ``sent`` in the main database, and on SQLite every write there waits
for the one write lock, which intake holds most of the time under load: the worker's
"sent" UPDATE waited up to seconds after the mail server's ``250``, several emails at a
time. A worker killed in that window left its rows ``sending``; their lease ran out and the
sweeper sent them again (the same Message-ID, but the customer got two copies).

So the acceptance is first written here, right after the ``250`` (or a webhook's 2xx): a
small SQLite file of its own beside the database (``DATA_DIR/outbox-sent.sqlite3``) that
only delivering processes write, so recording waits behind nobody (about 0.1 ms). Before a
row is delivered again, by the sweeper (``sweep_outbox``) or by whichever worker claims it
after a lapsed lease, the journal is asked, and a row it names is recorded ``sent`` instead
of being delivered twice. The window left is the few microseconds between reading the
``250`` and this write.

Never at the cost of an email: the journal is written only after the server accepted,
and when it cannot be written or read (the disk full, the file damaged) delivery goes on
as it did without it; at worst an email goes out twice, never not at all. It runs with
``synchronous=NORMAL``: a commit has reached the operating system when ``record`` returns,
which survives any killed process; a power cut may lose its last entries, and those emails
are then sent again (an fsync per email cost 8.7 ms here against 0.1 ms).

One machine: processes that share the data directory share the journal. Workers on several
machines (the PostgreSQL profile) see only their own machine's acceptances, and there the
main database's "sent" waits for no global write lock.

Keys are ``<app_label.model>:<pk>:<Message-ID>`` for an email, ``…:<pk>:<created_at>`` for
a webhook (``Deliverable.journal_key``), so a row that took another's id after a restore
from a backup never matches. Entries are kept ``KEEP_DAYS`` days (a row is retried for
hours, not weeks) and pruned by the sweeper.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from cherish.outbox.models import Deliverable

logger = logging.getLogger(__name__)

FILE_NAME = "outbox-sent.sqlite3"
KEEP_DAYS = 14
_local = threading.local()
_inherited: list[sqlite3.Connection] = []


def path() -> Path:
    return Path(settings.DATA_DIR) / FILE_NAME


def key(row: Deliverable) -> str:
    """The journal's name for a delivery row (an OutgoingEmail, a WebhookDelivery)."""
    return row.journal_key()


def _connection() -> sqlite3.Connection:
    """This thread's connection (a forked child or another data directory opens its own)."""
    where = (os.getpid(), str(path()))
    held = getattr(_local, "held", None)
    if held is not None and held[0] == where:
        return held[1]  # type: ignore[no-any-return]
    if held is not None and held[0][0] != where[0]:
        # A connection inherited across fork() is never used nor closed in the child
        # (closing it could upset the parent's locks): it is kept as it is.
        _inherited.append(held[1])
    connection = sqlite3.connect(where[1], timeout=5, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID"
        )
        connection.execute("CREATE INDEX IF NOT EXISTS sent_at ON sent (at)")
    except BaseException:
        connection.close()
        raise
    _local.held = (where, connection)
    return connection


def _forget_connection() -> None:
    held = getattr(_local, "held", None)
    _local.held = None
    if held is not None:
        with contextlib.suppress(sqlite3.Error):
            held[1].close()


def record(keys: Iterable[str]) -> bool:
    """Write down that the server accepted these deliveries; False (and a warning) when the
    journal could not take them, which only leaves them to the main database's record."""
    rows = [(k, time.time()) for k in keys]
    if not rows:
        return True
    try:
        _connection().executemany("INSERT OR IGNORE INTO sent (key, at) VALUES (?, ?)", rows)
    except (sqlite3.Error, OSError):
        _forget_connection()
        logger.warning("could not write the outbox's sent-journal %s", path(), exc_info=True)
        return False
    return True


def accepted(keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` the journal holds (none when it cannot be read: send again)."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    try:
        connection = _connection()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key FROM sent WHERE key IN ({marks})"
            found.update(k for (k,) in connection.execute(query, chunk))
    except (sqlite3.Error, OSError):
        _forget_connection()
        logger.warning("could not read the outbox's sent-journal %s", path(), exc_info=True)
        return set()
    return found


def prune(*, keep_days: float = KEEP_DAYS) -> int:
    """Forget acceptances older than ``keep_days``; how many were forgotten."""
    try:
        cursor = _connection().execute(
            "DELETE FROM sent WHERE at < ?", (time.time() - keep_days * 86400,)
        )
    except (sqlite3.Error, OSError):
        _forget_connection()
        logger.warning("could not prune the outbox's sent-journal %s", path(), exc_info=True)
        return 0
    return int(cursor.rowcount)
