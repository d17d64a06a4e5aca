"""How fast one task worker drains the intake follow-on jobs (triage, respond, theme).

Builds a fresh data directory under bench/out/worker-<pid>/ with ``--n`` complaints already
accepted (their jobs pending), starts a real SMTP sink (the fault suite's), then runs one
``cherish worker --burst`` and reports jobs per second between the first and the last job
finished (the worker's start-up apart), the worker's CPU per job, and how many commits a job
cost. Every acknowledgement must reach the sink once.

    .venv/bin/python bench/bench_worker.py                 # 300 complaints, 3 runs
    .venv/bin/python bench/bench_worker.py --n 1000 --runs 1
    .venv/bin/python bench/bench_worker.py --profile       # in-process, cProfile top 30

Print ``uptime`` next to any figure you quote: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

TEXT = (
    "My parcel (order {n}) arrived with the lid smashed, the contents were soaked and nobody "
    "answers the phone. I have been a customer for six years and I expect better than this."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(out: Path, sink_url: str) -> dict[str, str]:
    values = {
        "DJANGO_SETTINGS_MODULE": "cherish.settings",
        "CHERISH_DATA_DIR": str(out),
        "CHERISH_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "CHERISH_LOG_LEVEL": "WARNING",
        "CHERISH_EMAIL_URL": sink_url,
        "CHERISH_FROM_EMAIL": "care@cherish.example.com",
    }
    os.environ.update(values)
    return {**os.environ, **values}


def build(n: int) -> None:
    """Schema, a team whose agents take cases, and ``n`` accepted complaints (jobs pending)."""
    from django.core.management import call_command
    from faults.harness import SETUP_SITE

    from cherish.intake.actions import Contact, accept_contact

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    exec(SETUP_SITE, {})
    for k in range(n):
        accept_contact(
            Contact(
                channel="web",
                text=TEXT.format(n=k),
                name=f"Customer {k}",
                email=f"c{k}@example.com",
            )
        )


def figures(n: int) -> tuple[float, int]:
    """(jobs per second from the first to the last finished, jobs not done)."""
    from cherish.core.models import Job, JobStatus

    done = sorted(Job.objects.filter(status=JobStatus.DONE).values_list("finished_at", flat=True))
    left = Job.objects.exclude(status=JobStatus.DONE).count()
    if len(done) < 2:
        return 0.0, left
    span = (done[-1] - done[0]).total_seconds()
    return (len(done) - 1) / span if span else float("inf"), left


def run_worker(env: dict[str, str]) -> tuple[float, float]:
    """Run one ``cherish worker --burst``; (wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cherish", "worker", "--burst", "--interval", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, cpu


def profile() -> None:
    """The worker in this process under cProfile, counting commits."""
    import cProfile
    import pstats

    from django.core.management import call_command
    from django.db import connection

    # A commit is an outermost atomic block's COMMIT, or a write outside any block (SQLite
    # commits it on its own).
    commits = 0
    real_commit = connection._commit

    def counting_commit() -> None:
        nonlocal commits
        commits += 1
        real_commit()

    def count_lone_writes(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal commits
        if not connection.in_atomic_block and sql.lstrip()[:6].upper() in (
            "INSERT",
            "UPDATE",
            "DELETE",
        ):
            commits += 1
        return execute(sql, params, many, context)

    connection._commit = counting_commit  # type: ignore[method-assign]
    connection.execute_wrappers.append(count_lone_writes)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    call_command("worker", burst=True, interval=0)
    profiler.disable()
    took = time.perf_counter() - started
    from cherish.core.models import Job

    jobs = Job.objects.count()
    print(f"{jobs} jobs in {took:.1f} s in-process; {commits} commits ({commits / jobs:.1f}/job)")
    order, top = os.environ.get("SORT", "cumulative"), int(os.environ.get("TOP", "30"))
    pstats.Stats(profiler).sort_stats(order).print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from faults.harness import Sink

    rates, cpus = [], []
    out = ROOT / "bench" / "out" / f"worker-{os.getpid()}"
    seed = out.with_name(out.name + ".seed")
    out.mkdir(parents=True)
    sink = Sink(free_port())
    sink.start()
    env = environment(out, sink.url)
    import django

    django.setup()
    from django.db import connections

    try:
        for run in range(1 if args.profile else args.runs):
            if run == 0:
                build(args.n)
                connections.close_all()
                shutil.copytree(out, seed)
            else:
                connections.close_all()
                shutil.rmtree(out)
                shutil.copytree(seed, out)
            if args.profile:
                profile()
                continue
            sink.received.clear()
            wall, cpu = run_worker(env)
            rate, left = figures(args.n)
            acks = len({m for m, _, _ in sink.snapshot()})
            rates.append(rate)
            cpus.append(cpu * 1000 / args.n)
            print(
                f"run {run + 1}: {args.n} jobs, worker {wall:.1f} s wall, {rate:.1f} jobs/s "
                f"(first to last done), {cpu * 1000 / args.n:.1f} ms CPU/job (start-up "
                f"included); not done {left}; emails at the sink {acks}",
                flush=True,
            )
    finally:
        sink.stop()
        connections.close_all()
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(seed, ignore_errors=True)
    if rates:
        print(
            f"median {statistics.median(rates):.1f} jobs/s (min {min(rates):.1f}, max "
            f"{max(rates):.1f}); {statistics.median(cpus):.1f} ms CPU/job; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
