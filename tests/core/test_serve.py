"""``cherish serve`` as a process: a child that dies is restarted, the rest keep serving,
and only SIGTERM stops the whole (before, killing the task worker stopped everything)."""

from __future__ import annotations

import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tests.core import processes
from tests.outbox.conftest import free_port

from cherish.core.supervisor import Supervisor

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, str]:
    """The direct children of ``pid`` and their command lines (Linux /proc)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            found[int(child)] = cmdline.decode()
    return found


def _pid_of(pid: int, word: str) -> int | None:
    return next((c for c, cmd in _children(pid).items() if word in cmd), None)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_serve_restarts_a_killed_child_and_stops_only_on_sigterm(
    transactional_db: Any, tmp_path: Path
) -> None:
    # given a running Cherish
    port = free_port()
    env = processes.cherish_env(tmp_path, SMTP_PORT=str(free_port()), LOG_LEVEL="INFO")
    log = tmp_path / "serve.log"
    serve = processes.start(
        ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-migrate"], env, log
    )
    try:
        processes.wait_for(lambda: _healthy(port), timeout=90, what="the web server")
        worker = processes.wait_for(lambda: _pid_of(serve.pid, " worker"), timeout=30, what="w")
        web = _pid_of(serve.pid, "gunicorn")
        smtpd = _pid_of(serve.pid, " smtpd")
        assert web and smtpd

        # when the task worker is killed outright
        os.kill(worker, signal.SIGKILL)

        # then a new worker starts, while the web server and mail listener never stopped
        new_worker = processes.wait_for(
            lambda: (p := _pid_of(serve.pid, " worker")) and p != worker and p,
            timeout=30,
            what="a new task worker",
        )
        assert new_worker != worker
        assert _healthy(port)
        assert (_pid_of(serve.pid, "gunicorn"), _pid_of(serve.pid, " smtpd")) == (web, smtpd)

        # and when the web server itself dies, it comes back too
        os.kill(web, signal.SIGKILL)
        processes.wait_for(
            lambda: (p := _pid_of(serve.pid, "gunicorn")) and p != web and _healthy(port),
            timeout=60,
            what="the web server to come back",
        )
        assert serve.poll() is None
    finally:
        code = processes.stop(serve, timeout=60)

    # and SIGTERM stops everything, cleanly
    assert code == 0
    text = log.read_text()
    assert "worker-1 exited with status -9" in text
    assert "worker-1 restarted (restart 1)" in text
    assert "web exited with status -9" in text
    assert not _healthy(port)


def test_backoff_doubles_while_a_child_keeps_dying_young() -> None:
    supervisor = Supervisor({}, first_backoff_s=1, max_backoff_s=30)
    assert [supervisor.backoff(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]


def test_a_child_that_dies_young_waits_and_one_that_lived_restarts_at_once(tmp_path: Path) -> None:
    # given a supervisor with a fake clock, over a child that exits at once
    clock = [100.0]
    supervisor = Supervisor(
        {"quick": ["true"]}, stable_after_s=30, first_backoff_s=1, clock=lambda: clock[0]
    )
    child = supervisor.children["quick"]
    supervisor.start(child)
    assert child.proc is not None
    child.proc.wait()
    # when it is noticed dead 1 s after it started
    clock[0] += 1
    supervisor.check()
    # then its restart waits for the backoff
    assert (child.proc, child.restart_at, child.quick_exits) == (None, 102.0, 1)
    clock[0] += 1
    supervisor.check()
    assert child.proc is not None and child.restarts == 1
    child.proc.wait()
    # and after a long, healthy run it is restarted at once
    clock[0] += 60
    supervisor.check()
    assert child.restarts == 2 and child.quick_exits == 0
    assert child.exits == [0, 0]
    child.proc.wait()
