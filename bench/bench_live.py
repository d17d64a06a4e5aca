"""The desk's live parts at scale: notification sync, the badge, presence, the inbox marks.

Runs against a database that ``bench/bench_desk.py`` built (copy it first: this adds the
desk's tables and writes notifications, read marks and presence rows), then times real
requests through Django's test Client and prints p50/p95 and queries per request.

    .venv/bin/python bench/bench_desk.py --cases 1000000 --build-only
    cp -r bench/out/desk-1000000 /tmp/live-1m
    .venv/bin/python bench/bench_live.py --data-dir /tmp/live-1m
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def configure(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_ALLOWED_HOSTS"] = "testserver"
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def timed(label: str, call: Any, runs: int) -> tuple[str, float, float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            call()
            timings.append((time.perf_counter() - started) * 1000)
        queries += len(ctx.captured_queries)
    return label, statistics.median(timings), percentile(timings, 95), queries / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    configure(args.data_dir)

    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from cherish.cases import actions as case_actions
    from cherish.cases.access import visible_cases
    from cherish.cases.models import Case, CaseEvent
    from cherish.desk import actions
    from cherish.desk.queries_live import last_message_id

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from cherish.staff.models import Staff

    agent = Staff.objects.select_related("user").order_by("id").first()
    assert agent is not None
    client = Client()
    client.force_login(agent.user)
    print(f"{Case.objects.count():,} cases, {CaseEvent.objects.count():,} events")
    # Alice's first look starts from now; then the customers of her 50 newest cases write.
    actions.sync_notifications(agent)
    own = list(Case.objects.filter(owner=agent, is_open=True).order_by("-id")[:50])
    for case in own:
        case_actions.add_inbound_message(case, text="Any news on this?", channel="email")
    case = own[0]
    seen = str(last_message_id(case))
    inbox_refs = "&".join(
        f"case={ref}"
        for ref in visible_cases(agent)
        .filter(is_open=True)
        .order_by("-priority", "-updated_at")
        .values_list("reference", flat=True)[:50]
    )
    rows = [
        timed("sync (nothing new)", lambda: actions.sync_notifications(agent), args.runs),
        timed("badge poll", lambda: client.get(reverse("desk:notification-badge")), args.runs),
        timed("notifications page", lambda: client.get(reverse("desk:notifications")), args.runs),
        timed(
            "inbox news poll (50 rows)",
            lambda: client.get(reverse("desk:inbox-news") + "?" + inbox_refs),
            args.runs,
        ),
        timed(
            "case presence beat",
            lambda: client.post(
                reverse("desk:presence", args=[case.reference]),
                {"seen_message": seen, "text": ""},
            ),
            args.runs,
        ),
        timed("inbox page", lambda: client.get("/desk/"), args.runs),
        timed("case page", lambda: client.get(f"/desk/cases/{case.reference}/"), args.runs),
    ]
    print(f"\n{'request':32} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, p50, p95, queries in rows:
        print(f"{label:32} {p50:8.1f} {p95:8.1f} {queries:8.1f}")
    print(f"\nload: {os.getloadavg()[0]:.1f} (1-minute load average while measuring)")


if __name__ == "__main__":
    main()
