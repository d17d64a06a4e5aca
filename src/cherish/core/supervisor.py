"""Keep a set of child processes running until a real shutdown signal arrives.

``cherish serve`` runs the web server, task workers, the ticker and the mail listener as
children. Any of them can die (the OOM killer, a bug, an operator's ``kill``); the others
must go on serving, and the dead one must come back. So a child that exits is started again
after a pause that doubles while it keeps dying young (1 s, 2 s, 4 s … 30 s) and resets once
it has stayed up; every exit and restart is logged. Only SIGTERM or SIGINT stops the whole:
each child gets SIGTERM and a grace period, then SIGKILL. Children are asked (Linux
``PR_SET_PDEATHSIG``) to receive SIGTERM if the supervisor itself is killed outright, so
nothing is left holding the port.

A child is either a command line (started with ``subprocess.Popen``) or a function, run in a
child *forked* from the supervisor. ``cherish serve`` forks: it imports Django and the whole
project once, and each child starts from that copy instead of importing it all again. A
command line cost 1.1-2.7 s of CPU a start (a fresh interpreter importing Django and the
project); a fork costs milliseconds, and every restart after a crash costs the same. Forking
asks three things of the parent: no thread alive (a fork copies only the calling thread, and
a lock another thread held stays locked for ever in the child), no open database connection
or socket the child could share (``before_fork`` closes them), and nothing of the parent's
signal handling left in the child (reset in ``_become``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import NoReturn, Protocol

logger = logging.getLogger("cherish.serve")

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
# The kernel keeps 15 bytes of a process's name (/proc/<pid>/comm, what top and ps -e show).
NAME_BYTES = 15
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

# What a child runs: a command line, or a function called in a forked child (its return
# value is ignored; SystemExit's code is the child's exit status).
Target = list[str] | Callable[[], object]


class Process(Protocol):
    """What the supervisor uses of a child process (subprocess.Popen has it all)."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


class Forked:
    """A child forked from this process, with the part of Popen's interface the supervisor
    uses; its status reads as Popen's does (the exit code, or minus the killing signal)."""

    def __init__(self, pid: int, args: str) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self.returncode = 255
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@dataclass
class Child:
    name: str
    target: Target
    proc: Process | None = None
    started_at: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


def _prctl(option: int, value: int | bytes) -> None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def process_name(name: str) -> bytes:
    """The kernel's name for the child ``name``: ``cherish-worker1`` for ``worker-1``, so
    that ``top``, ``ps -e`` and /proc/<pid>/comm tell forked children apart (their command
    line is the parent's, ``cherish serve``)."""
    return ("cherish-" + name.replace("-", "")).encode()[:NAME_BYTES]


def _become(name: str, parent: int) -> None:
    """Turn a freshly forked copy of the supervisor into the child ``name``."""
    # The supervisor's handlers must not run here: a SIGTERM meant for this child would
    # only set the copied supervisor's flag. SIGINT raises KeyboardInterrupt, as in any
    # fresh interpreter; each command installs what it needs.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _die_with_parent()
    if os.getppid() != parent:  # the supervisor died before the request above was made
        os._exit(1)
    _prctl(PR_SET_NAME, process_name(name))
    # random reseeds itself in a forked child (os.register_at_fork), so children do not
    # draw the same numbers; secrets and uuid read the kernel's random source.


def _run_forked(
    name: str, parent: int, main: Callable[[], object], mask: set[int | signal.Signals]
) -> NoReturn:
    code = 1
    try:
        _become(name, parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:
        logger.exception("%s failed", name)
    finally:
        # No atexit handlers, no interpreter teardown: those are the parent's.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


class Supervisor:
    def __init__(
        self,
        children: dict[str, Target],
        *,
        before_fork: Callable[[], None] | None = None,
        stable_after_s: float = 30.0,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        grace_s: float = 25.0,
        poll_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = {name: Child(name, target) for name, target in children.items()}
        self.before_fork = before_fork
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
        if isinstance(child.target, list):
            child.proc = subprocess.Popen(child.target, preexec_fn=_die_with_parent)
        else:
            child.proc = self._fork(child.name, child.target)
        child.started_at = self.clock()
        child.restart_at = None

    def _fork(self, name: str, main: Callable[[], object]) -> Forked:
        if self.before_fork is not None:
            self.before_fork()
        others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        if others:
            # What a thread holds (a lock, a half-written buffer) would stay held in the
            # child for ever; say which thread, the child may hang on it.
            logger.warning("forking %s while threads run: %s", name, ", ".join(others))
        for stream in (sys.stdout, sys.stderr):  # or the child writes the parent's buffer too
            stream.flush()
        parent = os.getpid()
        # A stop signal arriving between the fork and the child's own handlers would run
        # the supervisor's handler in the child: held back until the child has reset them.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                _run_forked(name, parent, main, held)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return Forked(pid, name)

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
        previous = {sig: signal.signal(sig, self.handle_signal) for sig in STOP_SIGNALS}
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
