"""Durable complaints per second through the intake path, and through real SMTP.

Each complaint is committed (raw material first, then customer, case, message, events and the
queued follow-on task row) before it counts, exactly as in production: SQLite in WAL mode, the
database task backend, a fresh data directory under bench/out/intake-<pid>/.

    .venv/bin/python bench/bench_intake.py                  # 300 complaints x 5 runs per path
    .venv/bin/python bench/bench_intake.py --n 1000 --runs 3 --clients 4

Paths:
- ``direct``: intake.actions.store_raw + receive_contact (what the web form and API call);
- ``smtp``: smtplib → Cherish's aiosmtpd listener → store raw bytes → parse → receive_contact,
  each message answered 250 only after its commit; ``--clients`` senders in parallel.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import statistics
import sys
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TEXT = (
    "My parcel (order {n}) arrived with the lid smashed, the contents were soaked and nobody "
    "answers the phone. I have been a customer for six years and I expect better than this."
)


def setup(out: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(out)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cherish.staff.actions import create_staff
    from cherish.staff.models import Team

    team = Team.objects.create(name="Care")
    for i in range(5):
        create_staff(username=f"agent{i}", password="x" * 20, display_name=f"Agent {i}", team=team)


def run_direct(n: int, offset: int) -> float:
    from cherish.intake.actions import Contact, receive_contact, store_raw

    started = time.perf_counter()
    for i in range(n):
        k = offset + i
        payload = {"name": f"Customer {k}", "email": f"c{k}@example.com", "text": TEXT.format(n=k)}
        raw = store_raw("web", payload=payload)
        receive_contact(
            Contact(
                channel="web",
                text=payload["text"],
                name=payload["name"],
                email=payload["email"],
            ),
            raw=raw,
        )
    return n / (time.perf_counter() - started)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="complaints per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1, help="parallel SMTP senders")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    out = ROOT / "bench" / "out" / f"intake-{os.getpid()}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        setup(out)
        from django.db import connection

        from cherish.cases.models import Case
        from cherish.intake.email.smtp import make_controller

        direct = [run_direct(args.n, r * args.n) for r in range(args.runs)]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        controller = make_controller("127.0.0.1", port)
        controller.start()
        try:
            base = args.runs * args.n
            smtp = [
                run_smtp(port, args.n, base + r * args.n, args.clients) for r in range(args.runs)
            ]
        finally:
            controller.stop()
        total = Case.objects.count()
        print(f"database: {connection.vendor}; cases written: {total}")
        print(
            f"direct intake (store_raw + receive_contact): median {statistics.median(direct):.0f}"
            f" complaints/s over {args.runs} runs of {args.n} (min {min(direct):.0f},"
            f" max {max(direct):.0f})"
        )
        print(
            f"SMTP ({args.clients} client(s), 250 after commit): median "
            f"{statistics.median(smtp):.0f} complaints/s over {args.runs} runs of {args.n}"
            f" (min {min(smtp):.0f}, max {max(smtp):.0f})"
        )
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
