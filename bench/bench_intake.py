"""Durable complaints per second through the intake path: direct, concurrent, SMTP and HTTP.

Each complaint is committed (raw material first, then customer, case, message, events and the
queued follow-on task row) before it counts, exactly as in production: SQLite in WAL mode
(or PostgreSQL with CHERISH_DATABASE_URL), the database task backend, a fresh data directory
under bench/out/intake-<pid>/.

    .venv/bin/python bench/bench_intake.py                         # every path, 300 x 5 runs
    .venv/bin/python bench/bench_intake.py --paths direct --n 500 --runs 5
    .venv/bin/python bench/bench_intake.py --paths concurrent,http --procs 4
    CHERISH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cherish_bench \\
        .venv/bin/python bench/bench_intake.py                     # the same on PostgreSQL

Paths:
- ``direct``: intake.actions.accept_contact (raw record, then the case) in one process, one
  after another (what the web form and the API call). Also reports CPU milliseconds per complaint, a
  figure that does not depend on how loaded the machine is.
- ``concurrent``: the same from ``--procs`` processes at once (SQLite serialises writers:
  IMMEDIATE transactions queue on busy_timeout; PostgreSQL locks the team row).
- ``smtp``: smtplib → Cherish's aiosmtpd listener → store raw bytes (fsynced file) → parse →
  accept_contact, each message answered 250 only after its commit; ``--clients`` senders.
- ``http``: a real ``cherish serve --no-worker --no-smtp`` (granian; serve's own layout, on
  SQLite one process of 8 threads, or ``--workers``/``--threads``) and ``--procs`` client
  processes each POSTing the public form /complain/ (CSRF token, rate limit counted in the
  transaction that stores the complaint, 302 to the thanks page) over keep-alive HTTP/1.1
  (``--close``: a connection per request, as the peer harness's client), or the API
  (``--api``: POST /api/v1/cases with a Bearer key and an Idempotency-Key, 201). ``--senders``
  draws the senders from that many addresses; ``--data-dir`` copies a seeded data directory.
  The end-to-end figure a customer-facing site would see. The public rate limit is raised
  for the bench through CHERISH_PUBLIC_RATE_LIMIT. Also reports the web workers' CPU
  per complaint (utime+stime from /proc, the intake applier thread included) and their
  memory: anonymous (RssAnon: Python objects, caches) apart from file-backed pages (RssFile:
  code and the memory-mapped SQLite database, shared with every process and given back by
  the kernel under pressure), and the peak (VmHWM).

SQLite runs with ``synchronous=FULL`` (the default, durable on power loss); compare with
``CHERISH_SQLITE_SYNCHRONOUS=NORMAL`` to see what durability costs (bench/README.md).

Every figure is a median over ``--runs`` runs, with min and max; print ``uptime`` next to it.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import re
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TEXT = (
    "My parcel (order {n}) arrived with the lid smashed, the contents were soaked and nobody "
    "answers the phone. I have been a customer for six years and I expect better than this."
)


def environment(out: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(out)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    os.environ["CHERISH_PUBLIC_RATE_LIMIT"] = str(10**9)


def setup(out: Path) -> None:
    environment(out)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from django.db import connection

    if connection.vendor != "sqlite":  # a named bench database: start from empty tables
        call_command("flush", interactive=False, verbosity=0)
    from cherish.staff.actions import create_staff
    from cherish.staff.models import Staff, Team

    if Staff.objects.exists():  # a seeded data directory (--data-dir) has its team
        return
    team = Team.objects.create(name="Care")
    for i in range(5):
        create_staff(username=f"agent{i}", password="x" * 20, display_name=f"Agent {i}", team=team)


def submit(k: int) -> None:
    from cherish.intake.actions import Contact, RawMaterial, accept_contact

    payload = {"name": f"Customer {k}", "email": f"c{k}@example.com", "text": TEXT.format(n=k)}
    accept_contact(
        Contact(channel="web", text=payload["text"], name=payload["name"], email=payload["email"]),
        raw=RawMaterial(payload=payload),
    )


def run_direct(n: int, offset: int) -> tuple[float, float]:
    """(complaints per second, CPU milliseconds per complaint)."""
    cpu = time.process_time()
    started = time.perf_counter()
    for i in range(n):
        submit(offset + i)
    elapsed = time.perf_counter() - started
    return n / elapsed, (time.process_time() - cpu) * 1000 / n


def _concurrent_child(offset: int, n: int, barrier: object, done: object) -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection across fork
    barrier.wait()  # type: ignore[attr-defined]
    for i in range(n):
        submit(offset + i)
    connections.close_all()
    done.put(time.perf_counter())  # type: ignore[attr-defined]


def run_concurrent(n: int, offset: int, procs: int) -> float:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    done = ctx.Queue()
    per = n // procs
    children = [
        ctx.Process(target=_concurrent_child, args=(offset + p * per, per, barrier, done))
        for p in range(procs)
    ]
    for child in children:
        child.start()
    barrier.wait()
    started = time.perf_counter()
    finished = [done.get() for _ in children]
    for child in children:
        child.join()
        if child.exitcode:
            raise RuntimeError(f"a submitting process failed (exit {child.exitcode})")
    return per * procs / (max(finished) - started)


def email_bytes(k: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {k} <m{k}@example.com>"
    message["To"] = "care@cherish.example.com"
    message["Subject"] = f"Broken parcel {k}"
    message["Message-ID"] = f"<bench-{k}-{time.time_ns()}@example.com>"
    message.set_content(TEXT.format(n=k) + "\n\n-- \nSent from my phone")
    return message.as_bytes(policy=SMTP)


def run_smtp(port: int, n: int, offset: int, clients: int) -> float:
    per_client = n // clients
    errors: list[BaseException] = []

    def sender(c: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for i in range(per_client):
                    k = offset + c * per_client + i
                    smtp.sendmail(f"m{k}@example.com", ["care@cherish.example.com"], email_bytes(k))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return per_client * clients / elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_child(
    port: int, offset: int, n: int, barrier: object, done: object, shape: HttpShape
) -> None:
    if shape.api_key:
        _api_child(port, offset, n, barrier, done, shape)
        return
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/complain/")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "")
    csrf_cookie = re.search(r"csrftoken=([^;]+)", cookie)
    csrf_field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not csrf_cookie or not csrf_field:
        raise RuntimeError("no CSRF token on /complain/")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf_cookie.group(1)}",
        "Referer": f"http://127.0.0.1:{port}/complain/",
        **({"Connection": "close"} if shape.close else {}),
    }
    barrier.wait()  # type: ignore[attr-defined]
    # A fresh connection: gunicorn closes one idle for 2 s (keep-alive), and waiting at the
    # barrier for the other clients can take longer than that on a loaded machine.
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    failures = 0
    latencies = []
    for i in range(n):
        k = offset + i
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": csrf_field.group(1),
                "text": TEXT.format(n=k),
                "name": f"Web customer {k}",
                "email": shape.email(k),
                "kind": "complaint",
                "website": "",
            }
        )
        sent = time.perf_counter()
        if shape.close:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/complain/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if shape.close:
            conn.close()
        latencies.append(time.perf_counter() - sent)
        if response.status != 302:
            failures += 1
    done.put((time.perf_counter(), failures, latencies))  # type: ignore[attr-defined]


def _api_child(
    port: int, offset: int, n: int, barrier: object, done: object, shape: HttpShape
) -> None:
    import json
    import uuid

    barrier.wait()  # type: ignore[attr-defined]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    failures = 0
    latencies = []
    for i in range(n):
        k = offset + i
        body = json.dumps(
            {
                "customer": {"name": f"Api customer {k}", "email": shape.email(k)},
                "text": TEXT.format(n=k),
                "subject": f"Refund for order {k}",
                "channel": "api",
            }
        )
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {shape.api_key}",
            "Idempotency-Key": str(uuid.uuid4()),
            **({"Connection": "close"} if shape.close else {}),
        }
        sent = time.perf_counter()
        if shape.close:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/api/v1/cases", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if shape.close:
            conn.close()
        latencies.append(time.perf_counter() - sent)
        if response.status != 201:
            failures += 1
    done.put((time.perf_counter(), failures, latencies))  # type: ignore[attr-defined]


class HttpShape:
    """What the HTTP clients post: the form, or the API with ``api_key``; each sender's
    address drawn from ``senders`` (0: every complaint a new sender; the peer harness draws
    from 5,000); ``close``: one connection per request, as the peer harness's client sends
    them (``Connection: close``), instead of keep-alive."""

    def __init__(self, *, api_key: str = "", senders: int = 0, close: bool = False) -> None:
        self.api_key = api_key
        self.senders = senders
        self.close = close

    def email(self, k: int) -> str:
        return f"w{k % self.senders if self.senders else k}@example.com"


def run_http(
    port: int, n: int, offset: int, procs: int, shape: HttpShape | None = None
) -> tuple[float, list[float]]:
    """(complaints per second, every request's latency in seconds)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    done = ctx.Queue()
    per = n // procs
    children = [
        ctx.Process(
            target=_http_child,
            args=(port, offset + p * per, per, barrier, done, shape or HttpShape()),
        )
        for p in range(procs)
    ]
    for child in children:
        child.start()
    barrier.wait()
    started = time.perf_counter()
    results = [done.get() for _ in children]
    for child in children:
        child.join()
    failures = sum(f for _, f, _ in results)
    if failures:
        raise RuntimeError(f"{failures} POSTs were not answered 302")
    latencies = [latency for _, _, some in results for latency in some]
    return per * procs / (max(t for t, _, _ in results) - started), latencies


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found.append(child)
        found.extend(_descendants(child))
    return found


def server_workers(server_pid: int) -> list[int]:
    """The web workers under ``cherish serve``: the leaves of its process tree, but for
    the intake applier and store processes (``server_applier``)."""
    tree = _descendants(server_pid)
    return [pid for pid in tree if not _descendants(pid) and _name(pid) not in _INTAKE]


def server_applier(server_pid: int) -> list[int]:
    """The intake applier process under ``cherish serve`` (the public form's complaints are
    added to their cases there) and, on SQLite, the intake store process (they are stored in
    the journal there): their CPU is part of each complaint's."""
    return [pid for pid in _descendants(server_pid) if _name(pid) in _INTAKE]


_INTAKE = ("cherish-applier", "cherish-store")


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def worker_cpu_s(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def worker_memory_mib(pid: int) -> dict[str, float]:
    """RssAnon, RssFile, RssShmem and VmHWM of one process, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("RssAnon", "RssFile", "RssShmem", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values


def start_server(port: int, workers: int = 0, threads: int = 0) -> subprocess.Popen[bytes]:
    """``cherish serve`` with ``workers`` x ``threads`` (0: serve's own default)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cherish",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-worker",
            "--no-smtp",
            "--no-migrate",
            *(["--workers", str(workers)] if workers else []),
            *(["--threads", str(threads)] if threads else []),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/complain/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("cherish serve did not answer within 60 s")


def summary(label: str, figures: list[float], runs: int, n: int, unit: str = "complaints/s") -> str:
    return (
        f"{label}: median {statistics.median(figures):.0f} {unit} over {runs} runs of {n}"
        f" (min {min(figures):.0f}, max {max(figures):.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="complaints per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--paths", default="direct,concurrent,smtp,http")
    parser.add_argument("--clients", type=int, default=1, help="parallel SMTP senders")
    parser.add_argument("--procs", type=int, default=4, help="processes for concurrent/http")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--port", type=int, default=0, help="HTTP port (default: any free)")
    parser.add_argument(
        "--workers", type=int, default=0, help="http: web processes (default: cherish serve's)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="http: threads per web process (default: serve's)"
    )
    parser.add_argument("--api", action="store_true", help="http: POST /api/v1/cases instead")
    parser.add_argument(
        "--senders", type=int, default=0, help="http: draw senders from this many (0: all new)"
    )
    parser.add_argument(
        "--close", action="store_true", help="http: one connection per request (Connection: close)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="copy this data directory (e.g. one seeded by the peer harness) instead of an"
        " empty one",
    )
    args = parser.parse_args()
    paths = set(args.paths.split(","))
    out = ROOT / "bench" / "out" / f"intake-{os.getpid()}"
    if args.data_dir is not None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(args.data_dir, out, symlinks=True)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    offset = 0
    try:
        setup(out)
        from django.db import connection

        from cherish.cases.models import Case

        load = os.getloadavg()
        if "direct" in paths:
            results = [run_direct(args.n, offset + r * args.n) for r in range(args.runs)]
            offset += args.runs * args.n
            lines.append(
                summary(
                    "direct (accept_contact)",
                    [r[0] for r in results],
                    args.runs,
                    args.n,
                )
                + f"; CPU {statistics.median(r[1] for r in results):.1f} ms/complaint (median)"
            )
        if "concurrent" in paths:
            rates = [
                run_concurrent(args.n, offset + r * args.n, args.procs) for r in range(args.runs)
            ]
            offset += args.runs * args.n
            lines.append(
                summary(f"direct, {args.procs} processes at once", rates, args.runs, args.n)
            )
        if "smtp" in paths:
            from cherish.intake.email.smtp import make_controller

            port = free_port()
            controller = make_controller("127.0.0.1", port)
            controller.start()
            try:
                rates = [
                    run_smtp(port, args.n, offset + r * args.n, args.clients)
                    for r in range(args.runs)
                ]
            finally:
                controller.stop()
            offset += args.runs * args.n
            lines.append(
                summary(
                    f"SMTP ({args.clients} client(s), 250 after commit)", rates, args.runs, args.n
                )
            )
        if "http" in paths:
            connection.close()
            port = args.port or free_port()
            shape = HttpShape(senders=args.senders, close=args.close)
            if args.api:
                from cherish.intake.apikeys import create_api_key

                shape.api_key = create_api_key("bench", scopes=["cases:create", "cases:read"])[1]
                connection.close()
            from cherish.core.management.commands.serve import web_layout

            layout = web_layout(connection.vendor, args.workers or None, args.threads or None)
            server = start_server(port, args.workers, args.threads)
            try:
                # The first answer comes from the first worker up: wait for all of them, or
                # the CPU of one started a moment later is never counted.
                deadline = time.monotonic() + 30
                workers = server_workers(server.pid)
                while len(workers) < layout[0] and time.monotonic() < deadline:
                    time.sleep(0.2)
                    workers = server_workers(server.pid)
                if len(workers) != layout[0]:
                    raise RuntimeError(f"{len(workers)} web workers, not {layout[0]}")
                applier = server_applier(server.pid)
                cpu_before = worker_cpu_s(workers + applier)
                runs = [
                    run_http(port, args.n, offset + r * args.n, args.procs, shape)
                    for r in range(args.runs)
                ]
                rates = [rate for rate, _ in runs]
                latencies = sorted(latency for _, some in runs for latency in some)
                cpu_ms = (
                    (worker_cpu_s(workers + applier) - cpu_before) * 1000 / (args.n * args.runs)
                )
                if sorted(server_workers(server.pid)) != sorted(workers):
                    lines.append("WARNING: a web worker was replaced: its CPU is not counted")
                memory = [worker_memory_mib(pid) for pid in workers]
            finally:
                server.terminate()
                server.wait(30)
            offset += args.runs * args.n
            lines.append(
                summary(
                    f"HTTP POST {'/api/v1/cases' if args.api else '/complain/'} (web server"
                    f" {layout[0]}x{layout[1]}, {args.procs} client processes)",
                    rates,
                    args.runs,
                    args.n,
                )
                + f"; CPU {cpu_ms:.1f} ms/complaint (web workers"
                + (" and the applier process" if applier else "")
                + "); latency p50 / p95 / p99 "
                + " / ".join(
                    f"{latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000:.0f}"
                    for q in (0.50, 0.95, 0.99)
                )
                + " ms"
            )
            for number, figures in enumerate(memory, 1):
                lines.append(
                    f"  web worker {number} memory: anonymous (RssAnon) "
                    f"{figures.get('RssAnon', 0):.0f} MiB; file-backed (RssFile: code, the "
                    f"mapped database and its WAL index) {figures.get('RssFile', 0):.0f} MiB; "
                    f"RssShmem {figures.get('RssShmem', 0):.0f} MiB; "
                    f"peak (VmHWM) {figures.get('VmHWM', 0):.0f} MiB"
                )
        total = Case.objects.count()
        end_load = os.getloadavg()
        sync = ""
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous")
                sync = {0: " OFF", 1: " NORMAL", 2: " FULL", 3: " EXTRA"}[cursor.fetchone()[0]]
        print(
            f"database: {connection.vendor}{sync}; cases written: {total}; CPUs: {os.cpu_count()};"
            f" load average at start {load[0]:.2f}, at end {end_load[0]:.2f}"
        )
        for line in lines:
            print(line)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
