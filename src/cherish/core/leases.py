"""Leases with a heartbeat: how a worker says "I still have this row" while it works.

A claim writes ``locked_until`` a short lease ahead; while the work runs, a daemon thread
pushes it ahead again every third of the lease. A worker killed by a signal, the OOM killer
or a power cut stops beating with it, the lease runs out within one lease, and the row is
free to be claimed again. The lease can therefore be short (seconds, not the length of the
longest job), which is what lets a lost job be picked up within a minute.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import connections

from cherish.core.clock import now

logger = logging.getLogger(__name__)


def lease_seconds() -> int:
    """How long a claim holds without a heartbeat (CHERISH_TASK_LEASE_S, 60 s by default)."""
    return int(settings.CHERISH_TASK_LEASE_S)


def worker_name() -> str:
    """Who holds a lease: the host and process, as an operator would look for it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class KeepAlive:
    """Extend the lease on ``model`` row ``pk`` until the block ends.

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
                held = self.model.objects.filter(pk=self.pk, **self.holder).update(
                    locked_until=now() + timedelta(seconds=self.lease_s)
                )
                if not held:
                    return
        except Exception:
            # The holder's own writes will fail the same way and be reported there.
            logger.warning("could not extend the lease on %s %s", self.model.__name__, self.pk)
        finally:
            connections.close_all()
