"""The fault scenarios: each starts its own Cherish, sends complaints, breaks something real
while they arrive, then measures what the customers were told against what was kept.

Targets (issue #10): 0 missing, 0 duplicated, 0 acknowledged-but-never-answered, every
customer answered within 5 minutes of the last fault, never a 2xx/250 for something not
stored (a refusal is 503/507/451 instead).
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import secrets
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faults import services
from faults.harness import (
    PORTS,
    Cherish,
    Load,
    Outcome,
    Sink,
    descendants,
    kill,
    log,
    wait_for,
    wait_until_answered,
)

ANSWER_WITHIN_S = 300


@dataclass
class Row:
    name: str
    title: str
    profile: str
    complaints: int
    faults: str
    outcome: Outcome | None = None
    answered_within_s: float | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    skipped: str = ""
    # The scenario itself broke (an exception in the harness or in Cherish's set-up): unlike
    # a skip for a missing service, this fails the suite.
    failed: str = ""

    @property
    def met(self) -> bool:
        o = self.outcome
        return bool(
            not self.skipped
            and not self.failed
            and o is not None
            and o.missing == 0
            and o.duplicated == 0
            and o.unanswered == 0
            and o.stored == o.triaged
            and self.answered_within_s is not None
            and self.answered_within_s <= ANSWER_WITHIN_S
        )


PG_TEMPLATE = "cherish_template"


@dataclass
class Suite:
    base: Path
    short: bool = False
    # CI: the short runs made small enough to finish in about three minutes on two loaded
    # cores (fewer complaints, 5 tree kills in R3), still killing real processes.
    ci: bool = False
    scale_out: tuple[services.Postgres, services.Redis] | None = None
    size: int | None = None  # complaints per run, overriding the defaults (development)
    # Per profile, the API key of the first installation, whose freshly set-up database the
    # later ones copy: migrating costs a minute or more on a loaded machine, copying a second.
    api_keys: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # One set-up at a time per profile: the SQLite lanes wait for the SQLite template, the
    # scale-out lane for its PostgreSQL template, neither for the other's (each took minutes
    # on the loaded machine, and one lock for both put the two in a row).
    setting_up: dict[str, threading.Lock] = field(
        default_factory=lambda: {"sqlite": threading.Lock(), "scale-out": threading.Lock()}
    )
    # The first installation set up (its collected static files are copied to the others).
    first: dict[str, Cherish] = field(default_factory=dict)

    # Sizes: issue #10 fixes R1 (10,000), R3 (20 kills), R4 (100/s for 5 min) and R8 (10 min
    # outage). The others are sized so that their one fault falls mid-intake, with complaints
    # before, during and after it, and the whole suite fits 15 minutes on two cores: at
    # 2,000 / 1,500 it took 15.3 min (2026-12-02 04:31, load average 1.0 at the start), the
    # R1 lane last, every lane competing for the same CPU (about 52 ms a complaint in all);
    # at 1,000-1,500 with R7 running again (it had failed at once) 16.7 min (06:17, R1 last
    # again, every other lane done by 14.1 min), hence 800-1,000 and R4 at niceness 10.
    def n(self, full: int, short: int) -> int:
        return self.size or (short if self.short else full)

    @property
    def sqlite_template(self) -> Path:
        return self.base / "template.sqlite3"

    def set_up(self, target: Cherish, profile: str) -> None:
        """Schema, team, agents and API key: made for the first installation of a profile,
        copied for the others (``env`` already created a scale-out one from the template)."""
        with self.setting_up[profile]:
            with self.lock:
                key = self.api_keys.get(profile)
            if key is None:
                target.setup()
                if profile == "scale-out":
                    assert self.scale_out is not None
                    self.scale_out[0].copy_database(target.db.url, PG_TEMPLATE)
                else:
                    copy_sqlite(target.db.path, self.sqlite_template)
                with self.lock:
                    self.first.setdefault("static", target)
                    self.api_keys[profile] = target.api_key
                return
        if profile != "scale-out":
            copy_sqlite(self.sqlite_template, target.db.path)
        with self.lock:
            first = self.first["static"]
        target.copy_static_from(first)
        target.api_key = key

    def env(self, profile: str, name: str) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.short:
            # A killed worker's jobs go back at once (its process is seen gone); the emails it
            # had claimed wait for their lease: 15 s here, not 60.
            env["CHERISH_TASK_LEASE_S"] = "15"
        if profile == "scale-out":
            assert self.scale_out is not None
            pg, redis = self.scale_out
            redis_db = {"r9": "1"}.get(name, "0")
            with self.lock:
                template = PG_TEMPLATE if "scale-out" in self.api_keys else None
            env.update(
                CHERISH_DATABASE_URL=pg.create_database(name, template=template),
                CHERISH_REDIS_URL=redis.url.rsplit("/", 1)[0] + "/" + redis_db,
                CHERISH_TASK_BACKEND="rq",
            )
        return env


def copy_sqlite(source: Path | str, destination: Path | str) -> None:
    """A consistent copy of an SQLite database that no process is writing."""
    Path(destination).parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(destination)) as dst,
    ):
        src.backup(dst)


def _run_id(name: str) -> str:
    return f"{name}{secrets.token_hex(2)}"


def _settle(row: Row, target: Cherish, loads: list[Load], sink: Sink, last_fault: float) -> None:
    deadline = last_fault + ANSWER_WITHIN_S + 60
    outcome = wait_until_answered(
        target, loads, sink, within_s=max(60.0, deadline - time.monotonic())
    )
    row.outcome = outcome
    if outcome.settled() and outcome.last_answer_at is not None:
        row.answered_within_s = max(0.0, outcome.last_answer_at - last_fault)
    integrity = target.db.integrity()
    if integrity != "ok":
        row.notes.append(f"integrity_check: {integrity[:200]}")


def _every_fraction(load: Load, k: int, parts: int) -> None:
    n = len(load.complaints)
    wait_for(
        lambda: (
            load.acknowledged() >= k * n // parts or all(not t.is_alive() for t in load.threads)
        ),
        1800,
        f"{k}/{parts} of the complaints",
    )


@contextlib.contextmanager
def _installation(
    suite: Suite,
    name: str,
    profile: str,
    *,
    web: int | None = None,
    workers: int = 1,
    sink_up: bool = True,
    nice: int = 0,
):
    sink = Sink(PORTS.take())
    if sink_up:
        sink.start()
    target = Cherish(
        name,
        suite.base,
        sink,
        web_workers=web,
        task_workers=workers,
        env_extra=suite.env(profile, name),
        nice=nice,
    )
    layout = "serve's own web layout" if web is None else f"{web} web workers"
    log(f"{name}: setting up ({profile}, {layout}, {workers} task workers)")
    try:
        suite.set_up(target, profile)
        target.start(migrate=False)
        yield target, sink
    finally:
        target.stop()
        sink.stop()


def _kill_web_workers(target: Cherish, load: Load, times: int, row: Row) -> float:
    """Kill a web worker ``times`` times during the load, and with it the intake applier
    process (the form's complaints are answered once stored and applied there: those it had
    not applied yet must still become cases)."""
    last = time.monotonic()
    appliers = 0
    for k in range(1, times + 1):
        _every_fraction(load, k, times + 1)
        pids = target.web_worker_pids()
        applier = target.applier_pids()
        if pids or applier:
            kill(([random.choice(pids)] if pids else []) + applier)
            appliers += len(applier)
            last = time.monotonic()
    row.notes.append(
        f"{times} web workers and {appliers} intake applier processes killed (SIGKILL); "
        "the web server and cherish serve started new ones"
    )
    return last


def _kill_task_workers_mid_job(target: Cherish, load: Load, times: int, row: Row) -> float:
    last = time.monotonic()
    mid_job = 0
    for k in range(1, times + 1):
        _every_fraction(load, k, times + 1)
        deadline = time.monotonic() + 20
        killed = False
        while time.monotonic() < deadline and not killed:
            for pid in target.task_worker_pids():
                family = [pid, *descendants(pid)]
                running = target.db.rows(
                    "SELECT count(*) FROM core_job WHERE status = 'running' AND ("
                    + " OR ".join("worker LIKE ?" for _ in family)
                    + ")",
                    tuple(f"%:{p}" for p in family),
                )[0][0]
                if running:
                    kill(family)
                    mid_job += 1
                    killed = True
                    break
            # A batch holds its jobs "running" for a quarter of a second or more: 50 ms finds
            # one without a busy loop that takes CPU from the installation under test.
            time.sleep(0.05)
        if not killed and target.task_worker_pids():
            kill([pid for p in target.task_worker_pids() for pid in [p, *descendants(p)]])
        last = time.monotonic()
    row.notes.append(
        f"{times} task workers killed (SIGKILL), {mid_job} of them while running a job; "
        "cherish serve restarted each"
    )
    return last


# ----------------------------------------------------------------------------- scenarios


def r1(suite: Suite, profile: str = "sqlite") -> Row:
    name = "r1" if profile == "sqlite" else "r1s"
    n = suite.n(10_000, 1_000) if profile == "sqlite" else suite.n(1_000, 500)
    row = Row(name.upper(), "web workers killed during intake", profile, n, "5 web worker kills")
    with _installation(suite, name, profile, web=None if profile == "sqlite" else 4, workers=2) as (
        target,
        sink,
    ):
        load = Load(target, _run_id(name), n, threads=8).start()
        last = _kill_web_workers(target, load, 5, row)
        load.join()
        _settle(row, target, [load], sink, last)
    return row


def r2(suite: Suite, profile: str = "sqlite") -> Row:
    name = "r2" if profile == "sqlite" else "r2s"
    n = suite.n(1_500, 1_000) if profile == "sqlite" else suite.n(1_000, 500)
    row = Row(name.upper(), "task worker killed mid-job", profile, n, "5 task worker kills")
    with _installation(suite, name, profile, workers=1) as (target, sink):
        load = Load(target, _run_id(name), n, threads=8).start()
        last = _kill_task_workers_mid_job(target, load, 5, row)
        load.join()
        restarts = target.log_text().count("restarted (restart")
        row.notes.append(f"supervisor restarts logged: {restarts}")
        _settle(row, target, [load], sink, last)
    return row


def r3(suite: Suite, profile: str = "sqlite") -> Row:
    n = suite.n(2_000, 1_000)
    kills = 5 if suite.ci else 20
    row = Row("R3", "whole process tree killed and restarted", profile, n, f"{kills} tree kills")
    with _installation(suite, "r3", profile) as (target, sink):
        load = Load(target, _run_id("r3"), n, threads=8).start()
        checks: list[str] = []
        restarts: list[float] = []
        last = time.monotonic()
        for k in range(1, kills + 1):
            _every_fraction(load, k, kills + 1)
            killed_at = time.monotonic()
            target.kill_tree()
            checks.append(target.db.integrity())
            target.start(migrate=True)
            last = time.monotonic()
            restarts.append(last - killed_at)
            log(f"r3: tree kill {k}/{kills}, answering again after {restarts[-1]:.0f} s")
        load.join()
        bad = [c for c in checks if c != "ok"]
        row.notes.append(
            f"PRAGMA integrity_check after each of {kills} kills: {kills - len(bad)} ok"
            + (f", failures: {bad[:3]}" if bad else "")
            + f"; down {sum(restarts):.0f} s in all (each {min(restarts, default=0):.0f}-"
            f"{max(restarts, default=0):.0f} s)"
        )
        _settle(row, target, [load], sink, last)
    return row


def r4(suite: Suite, profile: str = "sqlite") -> Row:
    duration = 60 if suite.short else 300
    rate = 100.0
    n = int(rate * duration)
    row = Row("R4", f"{int(rate)} complaints/s offered for {duration} s", profile, n, "load only")
    # R4 overloads the machine by design (100/s with the follow-on work is more than two
    # cores do): it takes every cycle the other lanes leave, and beside them it slowed R1,
    # the longest lane, by minutes. At niceness 10 it is still overloaded (0 lost and 0
    # duplicated is its target, not a rate) and the lanes with a deadline keep their CPU.
    nice = 10 if not suite.short else 0
    with _installation(suite, "r4", profile, web=4, workers=2, nice=nice) as (target, sink):
        # Offered for `duration`: complaints still unstarted then (the server slower than
        # the offer) are not sent; every one started is retried until acknowledged.
        load = Load(
            target, _run_id("r4"), n, threads=48, rate=rate, until_s=duration, nice=nice
        ).start()
        load.join()
        took = load.finished - load.started
        row.complaints = load.sent()
        row.notes.append(
            f"4 web + 2 task workers{f' at niceness {nice}' if nice else ''}; "
            f"offered {rate:.0f}/s for {duration} s, "
            f"{load.sent()} complaints sent, acknowledged {load.acknowledged() / took:.1f}/s "
            f"over {took:.0f} s"
        )
        _settle(row, target, [load], sink, load.finished)
    return row


def r6(suite: Suite, profile: str = "sqlite") -> Row:
    n = suite.n(800, 600)
    row = Row("R6", "a writer holds the database for 10 s", profile, n, "10 s write lock")
    with _installation(suite, "r6", profile) as (target, sink):
        load = Load(target, _run_id("r6"), n, threads=8).start()
        _every_fraction(load, 1, 3)
        held_at = time.monotonic()
        if target.db.is_sqlite:
            holder = sqlite3.connect(target.db.path, timeout=60, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            time.sleep(10)
            holder.execute("ROLLBACK")
            holder.close()
        else:
            import psycopg

            with psycopg.connect(target.db.url) as holder:
                holder.execute("LOCK TABLE cases_case, intake_rawcontact IN EXCLUSIVE MODE")
                time.sleep(10)
                holder.rollback()
        released = time.monotonic()
        waited = [
            a.seconds
            for c in load.complaints
            for a in c.attempts
            if c.acknowledged_at and held_at <= c.acknowledged_at <= released + 15
        ]
        load.join()
        row.notes.append(
            f"lock held {released - held_at:.1f} s; longest answer meanwhile "
            f"{max(waited, default=0):.1f} s"
        )
        _settle(row, target, [load], sink, released)
    return row


def _small_filesystem(mount_point: Path, size_mb: int) -> Callable[[], None] | str:
    """A real filesystem of ``size_mb``: a tmpfs, else an ext4 loop device; or why not."""
    mount_point.mkdir(parents=True, exist_ok=True)
    tried = []
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return lambda: subprocess.run(["umount", "-l", str(mount_point)], check=False)
    tried.append(f"tmpfs: {done.stderr.strip()}")
    image = mount_point.with_suffix(".img")
    with open(image, "wb") as fh:
        fh.truncate(size_mb * 1024 * 1024)
    mkfs = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    done = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount_point)], capture_output=True, text=True
    )
    if mkfs.returncode == 0 and done.returncode == 0:
        return lambda: subprocess.run(["umount", "-l", str(mount_point)], check=False)
    tried.append(f"loop device: {done.stderr.strip() or mkfs.stderr.strip()}")
    return "; ".join(tried)


def _fill(path: Path) -> int:
    written = 0
    # Unbuffered: a buffered file keeps the block that did not fit and raises ENOSPC again
    # when it is closed, outside the loop that expects it.
    with open(path, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 14, 1 << 10, 64):
            block = b"\0" * chunk
            while True:
                try:
                    written += fh.write(block) or 0
                    os.fsync(fh.fileno())
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return written


def r7(suite: Suite, profile: str = "sqlite") -> Row:
    n = suite.n(800, 600)
    row = Row("R7", "the data directory's filesystem is full", profile, n, "disk full for 20 s")
    mount_point = suite.base / "r7-data"
    unmount = _small_filesystem(mount_point, 96)
    if isinstance(unmount, str):
        row.skipped = f"no small filesystem could be mounted ({unmount})"
        return row
    sink = Sink(PORTS.take())
    sink.start()
    target = Cherish(
        "r7", suite.base, sink, data_dir=mount_point, env_extra=suite.env(profile, "r7")
    )
    try:
        suite.set_up(target, profile)
        target.start(migrate=False)
        load = Load(target, _run_id("r7"), n, threads=8).start()
        _every_fraction(load, 1, 3)
        filler = mount_point / "filler"
        full_at = time.monotonic()
        filled = _fill(filler)
        time.sleep(20)
        freed_at = time.monotonic()
        filler.unlink()
        during = [
            a.status
            for c in load.complaints
            for a in c.attempts
            if c.acknowledged_at and full_at + 1 <= c.acknowledged_at <= freed_at
        ]
        refused = sum(1 for c in load.complaints for a in c.attempts if a.status in (503, 507, 451))
        load.join()
        row.notes.append(
            f"filled {filled / 1e6:.0f} MB; while full: {len(during)} acknowledged "
            f"(each checked stored below), {refused} refusals with 503/507/451"
        )
        _settle(row, target, [load], sink, freed_at)
    finally:
        target.stop()
        sink.stop()
        unmount()
    return row


def r8(suite: Suite, profile: str = "sqlite") -> Row:
    down_s = 120 if suite.short else 600
    n = suite.n(300, 100)
    row = Row(
        "R8", f"outgoing mail server down {down_s // 60} min", profile, n, "SMTP sink stopped"
    )
    with _installation(suite, "r8", profile, sink_up=False) as (target, sink):
        stopped_at = time.monotonic()
        load = Load(target, _run_id("r8"), n, threads=2, rate=n / 60).start()
        load.join()
        time.sleep(max(0.0, stopped_at + down_s - time.monotonic()))
        sink.start()
        restored = time.monotonic()
        row.notes.append(f"mail server back after {restored - stopped_at:.0f} s")
        _settle(row, target, [load], sink, restored)
    return row


def r9(suite: Suite, profile: str = "scale-out") -> Row:
    n = suite.n(800, 500)
    row = Row(
        "R9", "Redis killed and restarted empty", profile, n, "Redis down 5 s, no persistence"
    )
    assert suite.scale_out is not None
    _, redis = suite.scale_out
    with _installation(suite, "r9", profile, web=4, workers=2) as (target, sink):
        load = Load(target, _run_id("r9"), n, threads=8).start()
        _every_fraction(load, 1, 3)
        redis.kill_and_restart(5)
        restarted = time.monotonic()
        load.join()
        _settle(row, target, [load], sink, restarted)
    return row


def r10(suite: Suite, profile: str = "scale-out") -> Row:
    n = suite.n(800, 500)
    row = Row("R10", "PostgreSQL crashed and restarted", profile, n, "immediate stop, 5 s down")
    assert suite.scale_out is not None
    pg, _ = suite.scale_out
    with _installation(suite, "r10", profile, web=4, workers=2) as (target, sink):
        load = Load(target, _run_id("r10"), n, threads=8).start()
        _every_fraction(load, 1, 3)
        pg.crash_and_restart(5)
        restarted = time.monotonic()
        load.join()
        _settle(row, target, [load], sink, restarted)
    return row


SCENARIOS: dict[str, tuple[Callable[..., Row], str]] = {
    "R1": (r1, "sqlite"),
    "R2": (r2, "sqlite"),
    "R3": (r3, "sqlite"),
    "R4": (r4, "sqlite"),
    "R6": (r6, "sqlite"),
    "R7": (r7, "sqlite"),
    "R8": (r8, "sqlite"),
    "R1S": (r1, "scale-out"),
    "R2S": (r2, "scale-out"),
    "R9": (r9, "scale-out"),
    "R10": (r10, "scale-out"),
}


def run_in_background(fn: Callable[[], Row]) -> tuple[threading.Thread, list[Row]]:
    result: list[Row] = []
    thread = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    thread.start()
    return thread, result
