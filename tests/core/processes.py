"""Run real ``cherish`` commands as processes against the test database.

The test and the processes share one database (the test's file on SQLite, its database on
PostgreSQL), so tests using these helpers need ``transactional_db``: a process cannot see
rows a test transaction has not committed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def cherish_env(data_dir: Path, **values: str) -> dict[str, str]:
    """The environment of a production process, pointed at the test database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CHERISH_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cherish.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        CHERISH_DATA_DIR=str(data_dir),
        CHERISH_DATABASE_URL=database_url(),
        CHERISH_SECRET_KEY="test-secret-key-not-for-production-use-0123456789",
        CHERISH_LOG_LEVEL="WARNING",
    )
    env.update({f"CHERISH_{key}": value for key, value in values.items()})
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cherish", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group, so stop() also ends whatever it started (a worker's
            # child that outlived it would take jobs from the next test's queue).
            start_new_session=True,
        )
    proc.cherish_data_dir = env.get("CHERISH_DATA_DIR", "")  # type: ignore[attr-defined]
    return proc


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cherish", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _kill_strays(getattr(proc, "cherish_data_dir", ""))
    return status


def _kill_strays(data_dir: str) -> None:
    """End every process still working on this test's data directory, whatever started it:
    an RQ worker's leftover (seen outliving its worker and its process group) would take
    jobs from the next test's queue."""
    if not data_dir:
        return
    mark = f"CHERISH_DATA_DIR={data_dir}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def wait_for(
    condition: Callable[[], Any], *, timeout: float, every: float = 0.2, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
