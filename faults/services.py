"""A private PostgreSQL and a private Redis for the scale-out profile.

The fault runs restart them, so they must not be anyone else's: each lives in its own
directory on its own port (8300-8399) and is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from faults.harness import PORTS, log, wait_for

PG_BIN_DIRS = [
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
]


def _pg_bin(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if Path(directory, name).exists():
            return str(Path(directory, name))
    return shutil.which(name)


def unavailable() -> str | None:
    """Why the scale-out profile cannot run here, or None."""
    if not _pg_bin("initdb") or not _pg_bin("pg_ctl"):
        return "PostgreSQL's initdb/pg_ctl are not installed"
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    if os.geteuid() == 0:
        try:
            subprocess.run(["su", "postgres", "-c", "true"], check=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return "running as root without a 'postgres' user to run PostgreSQL as"
    return None


class Postgres:
    def __init__(self, base: Path) -> None:
        self.port = PORTS.take()
        self.dir = base / "pg"
        self.data = self.dir / "data"

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["su", "postgres", "-c", " ".join(f"'{a}'" for a in argv)]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def url(self, database: str = "cherish") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        createdb = _pg_bin("createdb") or "createdb"
        copy = ["-T", template] if template else []
        self._as_postgres(
            createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *copy, name
        )
        return self.url(name)

    def copy_database(self, url: str, name: str) -> None:
        """A new database ``name`` copied from the one at ``url`` (nobody may be connected)."""
        self.create_database(name, template=url.rsplit("/", 1)[1])

    def create(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            # The run's scratch directory is private (mkdtemp, 0700): let postgres through.
            base = self.dir.parent
            base.chmod(base.stat().st_mode | 0o011)
        initdb = _pg_bin("initdb")
        assert initdb
        self._as_postgres(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def start(self) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200"
        )
        self._as_postgres(
            pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl
        self._as_postgres(pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def crash_and_restart(self, down_s: float) -> None:
        """An immediate stop (no checkpoint, as after a crash), then recovery on start."""
        self.stop("immediate")
        time.sleep(down_s)
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self, base: Path) -> None:
        self.port = PORTS.take()
        self.dir = base / "redis"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # No persistence: a restart loses every queued wake-up, the worst case for Cherish.
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, 30, "redis to answer")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except redis.exceptions.RedisError:
            return False

    def kill_and_restart(self, down_s: float) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_scale_out(base: Path) -> tuple[Postgres, Redis]:
    pg, redis = Postgres(base), Redis(base)
    log(f"private PostgreSQL on :{pg.port}, Redis on :{redis.port}")
    pg.create()
    redis.start()
    return pg, redis
