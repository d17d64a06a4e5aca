"""Where a public-form complaint's CPU goes: the request thread and the intake applier apart.

Runs the production settings in process (SQLite WAL, ``synchronous=FULL``, the writer queue,
the database task backend) against a data directory (a copy of one made by
``../shared/bench-peer/side-by-side/cherish_seed.py`` or an empty one, migrated here), posts
the public form through ``django.test.Client`` (routing, every middleware, CSRF enforced,
the view, the redirect) and profiles with a per-thread CPU clock:

- the request thread: everything a gunicorn thread does for one POST except the socket;
- the applier thread: the group commit of the durable writes and the batch that applies them.

    .venv/bin/python bench/profile_intake.py --data-dir /tmp/prof --n 300 [--top 30] [--sql]
        [--api] [--threads 8 --no-profile] [--senders 5000] [--batch 4]

Prints CPU ms per complaint for each thread and the top functions by cumulative time;
``--sql`` also lists the statements of one request and of one applied batch.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TEXT = (
    "My parcel (order {n}) arrived with the lid smashed, the contents were soaked and nobody "
    "answers the phone. I have been a customer for six years and I expect better than this."
)


def configure(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    os.environ["CHERISH_PUBLIC_RATE_LIMIT"] = str(10**9)
    os.environ["CHERISH_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from cherish.staff.models import Staff, Team

    if not Staff.objects.exists():
        from cherish.staff.actions import create_staff

        team = Team.objects.create(name="Care")
        for i in range(5):
            create_staff(
                username=f"agent{i}", password="x" * 20, display_name=f"Agent {i}", team=team
            )


class ThreadProfile:
    """A cProfile of the CPU time one kind of thread spends in the wrapped calls."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.profile = cProfile.Profile(time.thread_time)
        self.cpu = 0.0
        self.calls = 0
        self.guard = threading.Lock()

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def profiled(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            if self.enabled:
                self.profile.enable()
            try:
                return func(*args, **kwargs)
            finally:
                if self.enabled:
                    self.profile.disable()
                with self.guard:
                    self.cpu += time.thread_time() - started
                    self.calls += 1

        return profiled

    def report(self, top: int) -> str:
        out = io.StringIO()
        stats = pstats.Stats(self.profile, stream=out)
        stats.sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(top)
        return out.getvalue()


def profile_batches(n: int, size: int, top: int, *, sql: bool = False) -> None:
    """The applier alone: turns that store and apply batches of ``size`` form complaints
    (each turn applies the batch the turn before stored, as the applier thread does)."""
    from cherish.intake.actions import Contact, RateLimit, RawMaterial, _store_queued, resend_claim
    from cherish.intake.applier import Ticket, run_cycle

    def ticket(k: int) -> Ticket:
        contact = Contact(
            channel="web", text=TEXT.format(n=k), name=f"Customer {k}", email=f"b{k}@example.com"
        )
        material = RawMaterial(payload={"text": contact.text, "name": contact.name})
        limit = RateLimit("public-complaint", "127.0.0.1", 10**9, 3600)
        claim = resend_claim("web", sender=contact.email, text=contact.text)
        return Ticket(
            None,
            store=lambda: _store_queued(contact, material, limit, claim),
            queued=(contact, material, limit, claim),
        )

    batches = [
        [ticket(k) for k in range(first, min(n, first + size))] for first in range(0, n, size)
    ]

    def turns(group: list[list[Ticket]]) -> None:
        stored: list[Ticket] = []
        for tickets in group:
            stored = run_cycle(tickets, stored)
        run_cycle([], stored)

    if sql:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        warm, batches = batches[:2], batches[2:]
        stored = run_cycle(warm[0], [])
        with CaptureQueriesContext(connection) as queries:
            stored = run_cycle(warm[1], stored)
        run_cycle([], stored)
        print(f"one turn (apply {size}, store {size}): {len(queries)} statements")
        for query in queries.captured_queries:
            print("  ", query["sql"][:200])
    started = time.thread_time()
    turns(batches[: len(batches) // 2])
    cpu = time.thread_time() - started
    print(f"applier CPU per complaint in batches of {size}: {cpu * 2000 / n:.2f} ms (no profiler)")
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    turns(batches[len(batches) // 2 :])
    profile.disable()
    out = io.StringIO()
    order = os.environ.get("PROFILE_SORT", "cumulative")
    pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="CPU times only (no cProfile)")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="profile only the applier: store and apply --n complaints in batches of this size",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="posting threads (more than 1: CPU times only)"
    )
    parser.add_argument(
        "--api",
        action="store_true",
        help="POST /api/v1/cases (Bearer key, Idempotency-Key) instead of the public form",
    )
    parser.add_argument(
        "--senders",
        type=int,
        default=0,
        help="draw each sender's email from this many (0: every complaint a new sender); the"
        " peer harness draws from 5,000, so most of its senders on seeded data are known",
    )
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    configure(args.data_dir)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cherish.intake import applier as applier_module

    if args.batch:
        profile_batches(args.n, args.batch, args.top, sql=args.sql)
        return
    enabled = not args.no_profile and args.threads == 1
    request_profile = ThreadProfile(enabled=enabled)
    applier_profile = ThreadProfile(enabled=enabled)
    applier_module.run_cycle = applier_profile.wrap(applier_module.run_cycle)

    def email(k: int) -> str:
        return f"p{k % args.senders if args.senders else k}@example.com"

    client = Client(enforce_csrf_checks=True)
    if args.api:
        import json
        import uuid

        from cherish.intake.apikeys import create_api_key

        _, key = create_api_key("profile", scopes=["cases:create", "cases:read"])
        auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

        def post(k: int) -> None:
            body = {
                "customer": {"name": f"Api customer {k}", "email": email(k)},
                "text": TEXT.format(n=k),
                "subject": f"Refund for order {k}",
                "channel": "api",
            }
            response = client.post(
                "/api/v1/cases",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                **auth,
            )
            assert response.status_code == 201, (response.status_code, response.content[:300])

    else:
        page = client.get("/complain/").content.decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match is not None, "no CSRF token on /complain/"
        token = match.group(1)

        def post(k: int) -> None:
            # Encoded as a browser (and the benches' client) sends it, not as multipart.
            body = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": token,
                    "text": TEXT.format(n=k),
                    "name": f"Web customer {k}",
                    "email": email(k),
                    "kind": "complaint",
                    "website": "",
                }
            )
            response = client.post(
                "/complain/", body, content_type="application/x-www-form-urlencoded"
            )
            assert response.status_code == 302, response.status_code

    for k in range(20):  # warm: imports, caches, the applier thread
        post(-k - 1)
    if args.sql:
        with CaptureQueriesContext(connection) as queries:
            post(10**6)
        print(f"request thread: {len(queries)} statements")
        for query in queries.captured_queries:
            print("  ", query["sql"][:160])
    timed = request_profile.wrap(post)
    if args.threads == 1:
        for k in range(args.n):
            timed(k)
    else:
        from concurrent.futures import ThreadPoolExecutor

        from django.db import connections

        def post_many(first: int) -> None:
            try:
                for k in range(first, args.n, args.threads):
                    timed(k)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(post_many, range(args.threads)))
    print(
        f"CPU per complaint: request thread {request_profile.cpu * 1000 / args.n:.2f} ms, "
        f"applier thread {applier_profile.cpu * 1000 / args.n:.2f} ms"
        f" ({applier_profile.calls} turns of the applier)"
    )
    if not enabled:
        return
    print("== request thread ==")
    print(request_profile.report(args.top))
    print("== applier thread ==")
    print(applier_profile.report(args.top))
    applier_module.stop_appliers()


if __name__ == "__main__":
    main()
