"""Leases with a heartbeat: how a worker says "I still have this row" while it works.

A claim writes ``locked_until`` a short lease ahead; while the work runs, a daemon thread
pushes it ahead again every third of the lease. A worker killed by a signal, the OOM killer
or a power cut stops beating with it, the lease runs out within one lease, and the row is
free to be claimed again. The lease can therefore be short (seconds, not the length of the
longest job), which is what lets a lost job be picked up within a minute.

A lease held by a process of this very machine that is no longer running needs no waiting
at all: ``worker_name`` says which machine (host, boot and process namespace) and process
holds it, and ``is_dead`` tells, for a holder on this machine, whether its process is gone.
That is what makes recovery after a killed worker or a restarted ``cherish serve`` prompt.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import connections

from cherish.core.clock import now

logger = logging.getLogger(__name__)


def lease_seconds() -> int:
    """How long a claim holds without a heartbeat (CHERISH_TASK_LEASE_S, 60 s by default)."""
    return int(settings.CHERISH_TASK_LEASE_S)


@functools.cache
def _machine() -> tuple[str, str]:
    """(host name, a short token for this boot and process namespace).

    Two containers may share a host name and a kernel; their process ids are comparable
    only within one boot and one process namespace, so the token names both.
    """
    parts = []
    for path in ("/proc/sys/kernel/random/boot_id",):
        try:
            parts.append(Path(path).read_text().strip())
        except OSError:
            parts.append("")
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        parts.append("")
    token = hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]
    return socket.gethostname(), token


def worker_name() -> str:
    """Who holds a lease: ``host:machine-token:pid``, the host and process an operator would
    look for, and the token that lets ``is_dead`` trust the process id."""
    host, token = _machine()
    return f"{host}:{token}:{os.getpid()}"[:100]


def is_dead(worker: str) -> bool:
    """True when ``worker`` (a ``worker_name``) ran on this machine and its process is gone.

    False when it may still be running, or ran elsewhere (only its lease can tell then). A
    process id taken again by another process reads as alive: the lease still ends that.
    """
    host, token, pid = [*worker.rsplit(":", 2), "", ""][:3]
    if (host, token) != _machine() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    # A killed child its parent has not reaped yet is a zombie: dead for our purposes.
    state = stat.rpartition(")")[2].split()[:1]
    return state in (["Z"], ["X"])


def dead_workers(workers: Iterable[str]) -> list[str]:
    return sorted({w for w in workers if w and is_dead(w)})


class KeepAlive:
    """Extend the lease on ``model`` row ``pk`` (or every row of a list of pks, or every row
    ``holder`` matches when ``pk`` is None) until the block ends.

    ``holder`` are the column values that identify this claim (the worker's name, or the
    attempt number it claimed): a worker that lost its lease (paused longer than the lease
    while another claimed the row) finds nothing to extend and stops, instead of stealing it.
    """

    def __init__(
        self, model: Any, pk: object, *, holder: dict[str, Any], lease_s: int | None = None
    ) -> None:
        self.model = model
        self.pk = pk
        self.holder = holder
        self.lease_s = lease_s or lease_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-{model.__name__}-{pk}", daemon=True
        )

    def __enter__(self) -> KeepAlive:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        # A beat blocked on a busy database finishes on its own; never hold the worker for it.
        self._thread.join(timeout=1)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.lease_s / 3):
                try:
                    held = self._rows().update(locked_until=now() + timedelta(seconds=self.lease_s))
                except Exception:
                    # The holder's own writes will fail the same way and be reported there.
                    logger.warning(
                        "could not extend the lease on %s %s", self.model.__name__, self.pk
                    )
                    if self.pk is not None:
                        return
                    continue  # a worker's beat over all it holds tries again next time
                # A worker's beat over whatever it holds (pk None) goes on while it is idle.
                if not held and self.pk is not None:
                    return
        finally:
            connections.close_all()

    def _rows(self) -> Any:
        if self.pk is None:
            return self.model.objects.filter(**self.holder)
        if isinstance(self.pk, list | tuple | set | frozenset):
            return self.model.objects.filter(pk__in=list(self.pk), **self.holder)
        return self.model.objects.filter(pk=self.pk, **self.holder)
