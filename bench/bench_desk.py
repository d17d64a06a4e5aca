"""Desk latency at scale: inbox views, filters, the case page and every search path.

Builds (or reuses) a SQLite database with N cases under bench/out/desk-<N>/, then times real
requests through Django's test Client (URL routing, middleware, views, templates, panels)
and prints p50/p95 per scenario.

    .venv/bin/python bench/bench_desk.py --cases 100000
    .venv/bin/python bench/bench_desk.py                      # 1,000,000 cases (minutes)

Building is resumable: batches commit one at a time, and a rerun continues from the number
of cases already there. Customers are ~N/5; each case has 2-3 messages and 4-5 events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

FIRST = [
    "Priya",
    "James",
    "Aisha",
    "Tomasz",
    "Hannah",
    "Oliver",
    "Sofia",
    "Daniel",
    "Grace",
    "Lucas",
    "Margaret",
    "Noah",
    "Amelia",
    "Mohammed",
    "Chloe",
    "Wei",
    "Fatima",
    "Liam",
    "Olga",
    "Mateo",
    "Zara",
    "Ethan",
    "Ingrid",
    "Kwame",
    "Yuki",
    "Leila",
    "Connor",
    "Ana",
    "Ravi",
    "Eva",
    "Jonas",
    "Nia",
    "Samuel",
    "Mei",
    "Omar",
    "Clara",
    "Hugo",
    "Freya",
    "Arjun",
    "Lena",
]
LAST = [
    "Shah",
    "Whitfield",
    "Rahman",
    "Nowak",
    "Becker",
    "Grant",
    "Marino",
    "Kim",
    "Adeyemi",
    "Moreau",
    "Okafor",
    "Smith",
    "Jones",
    "Patel",
    "Wilson",
    "Chen",
    "Ali",
    "Murphy",
    "Ivanova",
    "Garcia",
    "Khan",
    "Brown",
    "Larsen",
    "Mensah",
    "Tanaka",
    "Haddad",
    "Byrne",
    "Silva",
    "Gupta",
    "Novak",
    "Weber",
    "Osei",
    "Taylor",
    "Wong",
    "Farah",
    "Dubois",
    "Martin",
    "Berg",
    "Singh",
    "Fischer",
]
PROBLEMS = [
    "my parcel arrived broken",
    "the delivery slot was missed again",
    "I was charged twice for the same order",
    "the refund you promised has not arrived",
    "the engineer did not turn up",
    "the heater stopped working after a week",
    "nobody answers the phone",
    "the replacement has the same fault",
    "the invoice total is wrong",
    "my account was locked without warning",
    "the courier left the box in the rain",
    "the app crashes when I pay",
    "the store staff were rude to my mother",
    "my subscription renewed after I cancelled",
    "the washing machine leaks",
    "the sofa cushion is torn",
    "the voucher code does not work",
    "the wrong size was sent",
]
EXTRAS = [
    "I have been a customer for years.",
    "This is the third time.",
    "Please call me after five.",
    "I would like a refund.",
    "Can someone explain what happened?",
    "The order number is on the receipt.",
    "I attached a photo.",
    "My neighbour had the same problem.",
    "I am very disappointed.",
    "Thank you for looking into it.",
]
REPLIES = [
    "I am sorry this happened. I have arranged a replacement.",
    "Thank you for telling us. Your refund is on its way.",
    "I have booked an engineer visit for tomorrow morning.",
    "I checked with the courier and will call you today.",
]
RARE_WORDS = ["zeppelin", "marmalade", "harpsichord", "kaleidoscope", "ombudsman", "quokka"]
BADGES = ["angry", "leaving", "vulnerable"]


def configure(n_cases: int) -> Path:
    out = ROOT / "bench" / "out" / f"desk-{n_cases}"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(out)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_ALLOWED_HOSTS"] = "testserver"
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    return out


def build(n_cases: int, batch: int, seed: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from cherish.cases.models import Case, CaseEvent, Message
    from cherish.cases.search import ensure_search_schema
    from cherish.core.references import new_reference
    from cherish.customers.models import ContactPoint, Customer
    from cherish.staff.actions import create_staff
    from cherish.staff.models import AssignmentRule, Staff, Team

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest pages need
    if not Staff.objects.exists():
        teams = [Team.objects.create(name="Care North"), Team.objects.create(name="Care South")]
        for i in range(20):
            create_staff(
                username=f"agent{i}",
                password="bench-password-123",
                display_name=f"{FIRST[i]} {LAST[-i - 1]}",
                team=teams[i % 2],
            )
        AssignmentRule.objects.create(kind="complaint", team=teams[0])
    staff = list(Staff.objects.select_related("team").order_by("id"))

    n_customers = max(n_cases // 5, 1)
    have_customers = Customer.objects.count()
    rng = random.Random(seed + have_customers)
    started = time.perf_counter()
    while have_customers < n_customers:
        size = min(batch, n_customers - have_customers)
        with transaction.atomic():
            first_id = have_customers + 1
            people = [
                Customer(
                    id=first_id + i,
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                )
                for i in range(size)
            ]
            Customer.objects.bulk_create(people)
            points = []
            for person in people:
                points.append(
                    ContactPoint(customer=person, kind="email", value=f"c{person.id}@example.com")
                )
                if person.id % 2 == 0:
                    points.append(
                        ContactPoint(
                            customer=person, kind="phone", value=f"+4477009{person.id:05d}"[:13]
                        )
                    )
            ContactPoint.objects.bulk_create(points, ignore_conflicts=True)
        have_customers += size
        print(f"\rcustomers {have_customers:,}/{n_customers:,}", end="", flush=True)
    print()

    have = Case.objects.count()
    references = set(Case.objects.values_list("reference", flat=True)) if have else set()
    rng = random.Random(seed * 7919 + have)
    base = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    span_s = 3 * 365 * 24 * 3600
    kinds = ["complaint"] * 55 + ["inquiry"] * 30 + ["compliment"] * 8 + ["suggestion"] * 7
    open_stages = ["received", "acknowledged", "listening", "responding", "recovering", "waiting"]
    severities = ["low"] * 10 + ["normal"] * 70 + ["high"] * 15 + ["critical"] * 5
    priority = {"low": 0, "normal": 10, "high": 20, "critical": 30}
    channels = ["web"] * 40 + ["email"] * 50 + ["api"] * 5 + ["phone"] * 5
    next_message_id = (
        Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ) + 1
    while have < n_cases:
        size = min(batch, n_cases - have)
        cases, messages, events = [], [], []
        for i in range(size):
            case_id = have + i + 1
            reference = new_reference()
            while reference in references:
                reference = new_reference()
            references.add(reference)
            created = base + dt.timedelta(seconds=int(span_s * case_id / n_cases))
            is_open = rng.random() < 0.3
            owner = None if (is_open and rng.random() < 0.02) else rng.choice(staff)
            severity = rng.choice(severities)
            badges = [b for b in BADGES if rng.random() < 0.03]
            kind = rng.choice(kinds)
            problem = rng.choice(PROBLEMS)
            updated = created + dt.timedelta(hours=rng.randint(1, 400))
            cases.append(
                Case(
                    id=case_id,
                    reference=reference,
                    customer_id=rng.randint(1, n_customers),
                    kind=kind,
                    stage=rng.choice(open_stages) if is_open else "closed",
                    is_open=is_open,
                    severity=severity,
                    priority=priority[severity] + (5 if badges else 0),
                    badges=badges,
                    at_risk=is_open and ("leaving" in badges or rng.random() < 0.02),
                    channel=rng.choice(channels),
                    subject=problem.capitalize()[:120],
                    owner=owner,
                    team=owner.team if owner else None,
                    created_at=created,
                    updated_at=updated,
                    last_inbound_at=created,
                    closed_at=None if is_open else updated,
                    message_count=0,
                )
            )
        for case in cases:
            words = f"Hello, {case.subject.lower()}. " + " ".join(rng.sample(EXTRAS, 2))
            if rng.random() < 0.001:
                words += f" It reminded me of a {rng.choice(RARE_WORDS)}."
            bodies = [("in", words, None)]
            bodies.append(("out", rng.choice(REPLIES), case.owner))
            if rng.random() < 0.5:
                bodies.append(
                    ("note", "Checked the order history and the courier log.", case.owner)
                )
            case.message_count = len(bodies)
            customer_id = case.customer_id
            events.append(
                CaseEvent(
                    case=case,
                    customer_id=customer_id,
                    type="case.opened",
                    data={"channel": case.channel, "kind": case.kind},
                    created_at=case.created_at,
                )
            )
            for n, (direction, body, author) in enumerate(bodies):
                at = case.created_at + dt.timedelta(minutes=30 * n)
                messages.append(
                    Message(
                        id=next_message_id,
                        case=case,
                        direction=direction,
                        channel=case.channel,
                        author=author,
                        body_text=body,
                        created_at=at,
                    )
                )
                events.append(
                    CaseEvent(
                        case=case,
                        customer_id=customer_id,
                        type="message.added",
                        actor=author,
                        data={
                            "message_id": next_message_id,
                            "direction": direction,
                            "channel": case.channel,
                            "excerpt": body[:160],
                        },
                        created_at=at,
                    )
                )
                next_message_id += 1
                if n == 0:
                    events.append(
                        CaseEvent(
                            case=case,
                            customer_id=customer_id,
                            type="case.owner_assigned",
                            data={
                                "owner_id": case.owner.pk if case.owner else None,
                                "owner_name": case.owner.display_name if case.owner else "",
                                "rule": "round_robin",
                            },
                            created_at=at,
                        )
                    )
        with transaction.atomic():
            Case.objects.bulk_create(cases)
            Message.objects.bulk_create(messages)
            CaseEvent.objects.bulk_create(events)
        have += size
        rate = have / max(time.perf_counter() - started, 1e-9)
        print(f"\rcases {have:,}/{n_cases:,} ({rate:,.0f}/s)", end="", flush=True)
    print()
    t = time.perf_counter()
    if ensure_search_schema():
        print(f"full-text index built in {time.perf_counter() - t:.1f}s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(requests: int, seed: int) -> list[tuple[str, float, float, float, float, float]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cherish.cases.models import Case
    from cherish.customers.models import ContactPoint, Customer
    from cherish.staff.models import Staff

    rng = random.Random(seed)
    agent = Staff.objects.select_related("user").order_by("id").first()
    assert agent is not None
    client = Client()
    client.force_login(agent.user)
    max_id = Case.objects.order_by("-id").values_list("id", flat=True).first() or 1
    sample_ids = [rng.randint(1, max_id) for _ in range(requests)]
    refs = list(Case.objects.filter(id__in=sample_ids).values_list("reference", flat=True))
    open_refs = list(
        Case.objects.filter(is_open=True, id__gte=rng.randint(1, max_id // 2)).values_list(
            "reference", flat=True
        )[:requests]
    )
    max_customer = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 1
    emails = list(
        ContactPoint.objects.filter(
            kind="email", customer_id__in=[rng.randint(1, max_customer) for _ in range(requests)]
        ).values_list("value", flat=True)
    )
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)[:3]}" for _ in range(requests)]
    words = [
        rng.choice(["courier", "heater", "invoice", "voucher", "sofa", *RARE_WORDS])
        for _ in range(requests)
    ]
    kinds = ["complaint", "inquiry", "compliment", "suggestion"]

    def cycle(items: list[str], i: int) -> str:
        return items[i % len(items)]

    scenarios = [
        ("inbox: mine", lambda i: "/desk/"),
        ("inbox: all open", lambda i: "/desk/?view=open"),
        ("inbox: unassigned / at risk", lambda i: "/desk/?view=attention"),
        ("inbox: my team", lambda i: "/desk/?view=team"),
        ("inbox: all open, filter kind", lambda i: f"/desk/?view=open&kind={cycle(kinds, i)}"),
        ("inbox: all open, page 20", lambda i: "/desk/?view=open&page=20"),
        ("case page", lambda i: f"/desk/cases/{cycle(open_refs, i)}/"),
        ("search: reference", lambda i: f"/desk/?q={cycle(refs, i)[3:].lower()}"),
        ("search: email", lambda i: f"/desk/?q={cycle(emails, i)}"),
        ("search: customer name", lambda i: f"/desk/?q={cycle(names, i).replace(' ', '+')}"),
        ("search: word in messages", lambda i: f"/desk/?q={cycle(words, i)}"),
    ]
    results = []
    for label, url_for in scenarios:
        for i in range(10):  # warm caches and the FTS tables
            client.get(url_for(i))
        timings = []
        sql_ms = []
        queries = 0
        for i in range(requests):
            url = url_for(i)
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - t) * 1000)
            queries += len(ctx.captured_queries)
            sql_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {url} answered {response.status_code}")
        results.append(
            (
                label,
                statistics.median(timings),
                percentile(timings, 95),
                max(timings),
                percentile(sql_ms, 95),
                queries / requests,
            )
        )
        print(f"  {label:32} done", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()

    out = configure(args.cases)
    t = time.perf_counter()
    build(args.cases, args.batch, args.seed)
    print(f"database ready in {time.perf_counter() - t:.0f}s: {out / 'cherish.sqlite3'}")
    if args.build_only:
        return

    from cherish.cases.models import Case, CaseEvent, Message
    from cherish.customers.models import Customer

    print(
        f"{Case.objects.count():,} cases ({Case.objects.filter(is_open=True).count():,} open), "
        f"{Customer.objects.count():,} customers, {Message.objects.count():,} messages, "
        f"{CaseEvent.objects.count():,} events; {args.requests} requests per row\n"
    )
    rows = measure(args.requests, args.seed)
    print(
        f"{'scenario':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 SQL':>8} {'queries':>8}"
    )
    for label, p50, p95, worst, sql95, queries in rows:
        print(f"{label:34} {p50:8.1f} {p95:8.1f} {worst:8.1f} {sql95:8.1f} {queries:8.1f}")
    print("\n(p95 SQL: the 95th percentile of the time spent in the database per request;")
    print(" the rest is Python: middleware, view, templates, panels.)")


if __name__ == "__main__":
    main()
