"""Customer 360 page latency: one customer with 500 cases and 5,000 transactions.

Builds a SQLite database under bench/out/customer-page/ (reused on reruns), then times real
requests to /desk/customers/<id>/ through Django's test Client (routing, middleware, the
view, the queries, templates) and prints p50/p95 and the query count. Target: p95 < 300 ms.

    .venv/bin/python bench/bench_customer_page.py [--requests 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def configure() -> Path:
    out = ROOT / "bench" / "out" / "customer-page"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(out)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_ALLOWED_HOSTS"] = "testserver"
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    return out


def build(seed: int) -> int:
    from django.core.management import call_command
    from django.db import transaction

    from cherish.cases.models import Case, CaseEvent, Message
    from cherish.core.references import new_reference
    from cherish.customers.actions import (
        TransactionRow,
        find_or_create_customer,
        upsert_transactions,
    )
    from cherish.customers.models import Customer
    from cherish.staff.actions import create_staff
    from cherish.staff.models import Staff, Team

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    existing = Customer.objects.filter(external_id="BENCH-360").first()
    if existing is not None:
        return existing.pk
    rng = random.Random(seed)
    team = Team.objects.create(name="Care")
    agent = create_staff(
        username="bench", password="bench-password-123", display_name="Bench Agent", team=team
    )
    customer, _ = find_or_create_customer(
        name="Busy Customer", email="busy@example.com", external_id="BENCH-360"
    )
    now = dt.datetime.now(dt.UTC)
    with transaction.atomic():
        for i in range(500):
            at = now - dt.timedelta(days=rng.randint(0, 3000))
            case = Case.objects.create(
                reference=new_reference(),
                customer=customer,
                kind=rng.choice(["complaint", "inquiry"]),
                is_open=i < 12,
                stage="received" if i < 12 else "closed",
                subject=f"Case {i}",
                owner=agent,
                team=team,
                created_at=at,
                updated_at=at,
                last_inbound_at=at,
                message_count=3,
            )
            for j in range(3):
                Message.objects.create(
                    case=case,
                    direction="in" if j != 1 else "out",
                    channel="email",
                    body_text=f"Message {j} about case {i}",
                    created_at=at + dt.timedelta(hours=j),
                )
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case=case,
                        customer=customer,
                        type=t,
                        data={"excerpt": "…"},
                        created_at=at + dt.timedelta(minutes=k),
                    )
                    for k, t in enumerate(
                        [
                            "case.opened",
                            "message.added",
                            "case.owner_assigned",
                            "message.added",
                            "message.added",
                            "case.closed",
                        ]
                    )
                ]
            )
    upsert_transactions(
        TransactionRow(
            customer_id=customer.pk,
            external_id=f"B-{i}",
            kind="order",
            occurred_at=now - dt.timedelta(days=i * 0.6),
            amount=Decimal("42.50"),
            currency="GBP",
        )
        for i in range(5000)
    )
    from cherish.outreach.radar import compute_churn_scores

    compute_churn_scores(customer_ids=[customer.pk])
    del Staff
    return customer.pk


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    configure()
    started = time.perf_counter()
    pk = build(args.seed)
    print(f"data ready in {time.perf_counter() - started:.1f} s")

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cherish.staff.models import Staff

    client = Client()
    client.force_login(Staff.objects.select_related("user").get(user__username="bench").user)
    url = f"/desk/customers/{pk}/"
    for scenario, params in (
        ("360 page", {}),
        ("timeline: transactions only", {"type": "transactions"}),
        ("timeline: messages only", {"type": "messages"}),
    ):
        client.get(url, params)  # warm caches
        timings = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            client.get(url, params)
        print(
            f"{scenario:32s} p50 {statistics.median(timings):6.1f} ms  "
            f"p95 {pct(timings, 95):6.1f} ms  queries {len(queries)}"
        )


if __name__ == "__main__":
    main()
