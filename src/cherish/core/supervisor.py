"""Keep a set of child processes running until a real shutdown signal arrives.

``cherish serve`` runs the web server, task workers, the ticker and the mail listener as
children. Any of them can die (the OOM killer, a bug, an operator's ``kill``); the others
must go on serving, and the dead one must come back. So a child that exits is started again
after a pause that doubles while it keeps dying young (1 s, 2 s, 4 s … 30 s) and resets once
it has stayed up; every exit and restart is logged. Only SIGTERM or SIGINT stops the whole:
each child gets SIGTERM and a grace period, then SIGKILL. Children are asked (Linux
``PR_SET_PDEATHSIG``) to receive SIGTERM if the supervisor itself is killed outright, so
nothing is left holding the port.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger("cherish.serve")

PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


def _die_with_parent() -> None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(
        self,
        children: dict[str, list[str]],
        *,
        stable_after_s: float = 30.0,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        grace_s: float = 25.0,
        poll_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = {name: Child(name, argv) for name, argv in children.items()}
        self.stable_after_s = stable_after_s
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.grace_s = grace_s
        self.poll_s = poll_s
        self.clock = clock
        self.stop_signal: int | None = None

    def backoff(self, quick_exits: int) -> float:
        """Pause before the next start after ``quick_exits`` early deaths in a row."""
        if quick_exits <= 0:
            return 0.0
        return min(self.max_backoff_s, self.first_backoff_s * 2.0 ** (quick_exits - 1))

    def start(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, preexec_fn=_die_with_parent)
        child.started_at = self.clock()
        child.restart_at = None

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is not None:
            logger.warning("second %s: stopping at once", signal.Signals(signum).name)
            self._kill_all(signal.SIGKILL)
            return
        logger.info("%s received: stopping Cherish", signal.Signals(signum).name)
        self.stop_signal = signum

    def check(self) -> None:
        """One round: notice exits, schedule restarts, start what is due."""
        at = self.clock()
        for child in self.children.values():
            if child.proc is not None:
                code = child.proc.poll()
                if code is None:
                    continue
                uptime = at - child.started_at
                child.exits.append(code)
                child.proc = None
                child.quick_exits = 0 if uptime >= self.stable_after_s else child.quick_exits + 1
                delay = self.backoff(child.quick_exits)
                child.restart_at = at + delay
                logger.warning(
                    "%s exited with status %s after %.1f s; restarting in %.0f s",
                    child.name,
                    code,
                    uptime,
                    delay,
                )
            if child.restart_at is not None and at >= child.restart_at:
                child.restarts += 1
                self.start(child)
                logger.warning("%s restarted (restart %d)", child.name, child.restarts)

    def run(self) -> int:
        """Start every child and keep them running until SIGTERM or SIGINT; returns 0."""
        previous = {
            sig: signal.signal(sig, self.handle_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for child in self.children.values():
                self.start(child)
            while self.stop_signal is None:
                self.check()
                time.sleep(self.poll_s)
            self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def stop(self) -> None:
        self._kill_all(signal.SIGTERM)
        deadline = self.clock() + self.grace_s
        for child in self.children.values():
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %.0f s; killing it", child.name, self.grace_s)
                child.proc.kill()
                child.proc.wait()

    def _kill_all(self, sig: int) -> None:
        for child in self.children.values():
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(sig)
