"""SQLite with a writer queue: write transactions wait in line instead of in SQLite's busy handler.

SQLite lets one writer in at a time. A second writer that finds the lock taken sleeps in the
busy handler in steps of 1 to 100 ms and is not woken when the lock frees, so under load most
threads sleep while the database idles (issue #14: 8 gunicorn threads, one core working).
Here every transaction (``BEGIN IMMEDIATE``, which Django issues for each outermost
``atomic``) first takes, in order: a lock shared by the threads of this process, which wakes
the next thread the moment it is released, then an advisory ``flock`` on a file beside the
database, shared by every process on the machine. Waiting for the file lock polls in steps of
at most 4 ms. Both give up after the connection's ``timeout`` with SQLite's own "database is
locked" error, so callers see what they always saw (a 503 at the edge).

Writes outside a transaction (rare: a single ``UPDATE`` in autocommit) still use SQLite's
busy timeout. ``CHERISH_SQLITE_WRITER_QUEUE=0`` turns the queue off.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

from cherish.core import planner

MAX_POLL_S = 0.004


class WriterLock:
    """The writer queue for one database file in this process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.Lock()
        self.fd: int | None = None

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=timeout):
            raise OperationalError("database is locked (writer queue)")
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = 0.0002
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OperationalError("database is locked (writer queue)") from None
                    time.sleep(pause)
                    pause = min(pause * 2, MAX_POLL_S)
        except BaseException:
            self.threads.release()
            raise

    def release(self) -> None:
        try:
            if self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


_locks: dict[tuple[int, str], WriterLock] = {}
_locks_guard = threading.Lock()


def writer_lock(path: str) -> WriterLock:
    # Keyed by process id too: a forked child must not share its parent's open file, or the
    # two would hold one flock between them.
    key = (os.getpid(), path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = WriterLock(path)
        return lock


# Statements already turned from Django's "%s" style into SQLite's "?" style, by text: the
# regular expression that does it ran over every statement again (3 % of a web worker's
# Python time under intake load, the long multi-row INSERTs of the intake applier above
# all). Bounded: once full, further statements are converted as before, not remembered.
_QMARK_LIMIT_CHARS = 1024 * 1024  # of statement text: about 2 MiB with the converted copies
_qmark: dict[str, str] = {}
_qmark_chars = 0


def _to_qmark(query: str, convert: Any) -> str:
    global _qmark_chars
    found = _qmark.get(query)
    if found is None:
        found = convert(query)
        if _qmark_chars + len(query) <= _QMARK_LIMIT_CHARS:
            _qmark[query] = found
            _qmark_chars += len(query)  # under the GIL; an off count only moves the bound
    return found


def qmark(query: str) -> str:
    """A statement with Django's "%s" placeholders in SQLite's "?" style ("%%" as "%"), as
    Django's SQLite cursor converts it; remembered by text (bounded, as above)."""
    return _to_qmark(query, _convert)


def _convert(query: str) -> str:
    return str(base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%"))


class CursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is not None:
            return str(super().convert_query(query, param_names=param_names))
        return _to_qmark(query, super().convert_query)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer: WriterLock | None = None

    def create_cursor(self, name: Any = None) -> Any:
        return self.connection.cursor(factory=CursorWrapper)

    def _queue(self) -> WriterLock | None:
        if self.is_in_memory_db() or os.environ.get("CHERISH_SQLITE_WRITER_QUEUE", "1") == "0":
            return None
        return writer_lock(f"{self.settings_dict['NAME']}-writer.lock")

    def _start_transaction_under_autocommit(self) -> None:
        queue = self._queue()
        if queue is not None and self._writer is None:
            queue.acquire(float(self.settings_dict.get("OPTIONS", {}).get("timeout", 20)))
            self._writer = queue
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            if not self.in_transaction_or_none():
                self._release_writer()

    def in_transaction_or_none(self) -> bool:
        return self.connection is not None and self.connection.in_transaction

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer()

    def close(self) -> None:
        # SQLite's advice: PRAGMA optimize as each connection closes (core.planner).
        if (
            self.connection is not None
            and not self.in_atomic_block
            and not self.connection.in_transaction
            and not self.is_in_memory_db()
        ):
            planner.optimize_on_close(self.connection)
        try:
            super().close()
        finally:
            self._release_writer()
