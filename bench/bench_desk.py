"""Desk latency at scale: inbox views, filters, the case page and every search path.

Builds (or reuses) a SQLite database with N cases under bench/out/desk-<N>/, then times real
requests through Django's test Client (URL routing, middleware, views, templates, panels)
and prints p50/p95 per scenario, then the case page part by part (each partial and each
other app's panel rendered alone, with its queries).

    .venv/bin/python bench/bench_desk.py --cases 100000
    .venv/bin/python bench/bench_desk.py                      # 1,000,000 cases (~3.5 min build)
    .venv/bin/python bench/bench_desk.py --cases 1000000 --build-only

The data set is deterministic for --cases/--seed and written with the sqlite3 module
(executemany, synchronous=OFF, secondary indexes rebuilt after the load). Customers are N/5;
each case has 2-3 messages and 4-5 events. A finished build is marked by built.json and
reused; an unfinished one is rebuilt from scratch. See bench/README.md for figures.
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
from typing import Any

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
# A page whose warm-up takes longer than this twice running is timed over SLOW_REQUESTS
# requests only.
SLOW_S = 2.0
SLOW_REQUESTS = 3


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


class Table:
    """Raw INSERTs for one model: the listed columns vary per row, every other column gets
    the model field's default as an SQL literal (so a new column with a default needs no
    change here)."""

    def __init__(self, model: Any, varying: list[str]) -> None:
        from django.db import connection

        # Generated columns (Customer.since_md) are the database's to write.
        fields = {f.attname: f for f in model._meta.concrete_fields if not f.generated}
        unknown = set(varying) - set(fields)
        if unknown:
            raise SystemExit(f"{model.__name__}: no such columns {unknown}")
        columns, values = [], []
        for attname, field in fields.items():
            columns.append(f'"{field.column}"')
            if attname in varying:
                values.append("?")
                continue
            default = field.get_default()
            if default is None and not field.null:
                raise SystemExit(f"{model.__name__}.{attname} needs a value in the bench builder")
            values.append(_literal(field.get_db_prep_save(default, connection)))
        order = [a for a in fields if a in varying]
        if order != varying:
            raise SystemExit(f"{model.__name__}: list varying columns in model order: {order}")
        self.sql = (
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
            f"VALUES ({', '.join(values)})"
        )


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if not isinstance(value, str):
        value = str(value)
    return "'" + value.replace("'", "''") + "'"


def _ts(moment: dt.datetime) -> str:
    """A datetime as Django's SQLite backend stores it (naive UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _reference(case_id: int) -> str:
    """A unique, random-looking reference for each id (a bijection on 30^6 values)."""
    from cherish.core.references import ALPHABET, LENGTH, PREFIX

    space = len(ALPHABET) ** LENGTH
    value = (case_id * 40_353_607 + 12_345_678) % space  # 7^9, coprime with 2, 3 and 5
    symbols = []
    for _ in range(LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return PREFIX + "".join(symbols)


def build(out: Path, n_cases: int, seed: int) -> None:
    """Write the data set with the sqlite3 module directly (executemany, synchronous=OFF,
    secondary indexes dropped during the load and recreated after), then rebuild the
    full-text tables. Deterministic for a given --cases and --seed. A finished build writes
    built.json; an unfinished one is thrown away and started again."""
    import json
    import sqlite3

    from django.core.management import call_command
    from django.db import connection

    from cherish.cases.models import Case, CaseEvent, Message
    from cherish.cases.search import SQLITE_SCHEMA, ensure_search_schema
    from cherish.customers.models import ContactPoint, Customer
    from cherish.staff.actions import create_staff
    from cherish.staff.models import AssignmentRule, Staff, Team

    db = out / "cherish.sqlite3"
    marker = out / "built.json"
    wanted = {"cases": n_cases, "seed": seed, "builder": 3}
    if db.exists() and marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"reusing {db}")
        # The code may be newer than the data: its migrations and static files (the pages
        # read the manifest) are brought up to date; the rows stay.
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        return
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest pages need
    teams = [Team.objects.create(name="Care North"), Team.objects.create(name="Care South")]
    for i in range(20):
        create_staff(
            username=f"agent{i}",
            password="bench-password-123",
            display_name=f"{FIRST[i]} {LAST[-i - 1]}",
            team=teams[i % 2],
        )
    AssignmentRule.objects.create(kind="complaint", team=teams[0])
    staff = [(s.pk, s.team_id, s.display_name) for s in Staff.objects.order_by("id")]
    customers_t = Table(Customer, ["id", "name", "created_at", "updated_at"])
    points_t = Table(ContactPoint, ["id", "customer_id", "kind", "value", "created_at"])
    cases_t = Table(
        Case,
        [
            "id", "reference", "customer_id", "kind", "stage", "is_open", "severity",
            "priority", "badges", "at_risk", "signals", "channel", "subject", "owner_id",
            "team_id", "created_at", "updated_at", "last_inbound_at", "closed_at",
            "message_count",
        ],
    )  # fmt: skip
    messages_t = Table(
        Message, ["id", "case_id", "direction", "channel", "author_id", "body_text", "created_at"]
    )
    events_t = Table(
        CaseEvent, ["id", "case_id", "customer_id", "type", "actor_id", "data", "created_at"]
    )
    connection.close()

    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA journal_mode=DELETE")
    for pragma in (
        "journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
        "cache_size=-1000000", "temp_store=MEMORY", "foreign_keys=OFF",
    ):  # fmt: skip
        raw.execute(f"PRAGMA {pragma}")
    tables = ("customers_customer", "customers_contactpoint", "cases_case", "cases_message",
              "cases_caseevent")  # fmt: skip
    marks = ",".join("?" * len(tables))
    indexes = raw.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    triggers = raw.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    for name, _ in triggers:
        raw.execute(f'DROP TRIGGER "{name}"')

    base = dt.datetime(2023, 1, 1)
    n_customers = max(n_cases // 5, 1)
    rng = random.Random(seed)
    raw.execute("BEGIN")
    point_id = 0
    for chunk in range(0, n_customers, 50_000):
        people, points = [], []
        for cid in range(chunk + 1, min(chunk + 50_000, n_customers) + 1):
            joined = _ts(base + dt.timedelta(minutes=cid))
            people.append((cid, f"{rng.choice(FIRST)} {rng.choice(LAST)}", joined, joined))
            point_id += 1
            points.append((point_id, cid, "email", f"c{cid}@example.com", joined))
            if cid % 2 == 0:
                point_id += 1
                points.append((point_id, cid, "phone", f"+447{cid:09d}", joined))
        raw.executemany(customers_t.sql, people)
        raw.executemany(points_t.sql, points)
    raw.execute("COMMIT")
    print(f"customers {n_customers:,} in {time.perf_counter() - started:.0f}s", flush=True)

    span_s = 3 * 365 * 24 * 3600
    kinds = ["complaint"] * 55 + ["inquiry"] * 30 + ["compliment"] * 8 + ["suggestion"] * 7
    open_stages = ["received", "acknowledged", "listening", "responding", "recovering", "waiting"]
    severities = ["low"] * 10 + ["normal"] * 70 + ["high"] * 15 + ["critical"] * 5
    priority = {"low": 0, "normal": 10, "high": 20, "critical": 30}
    channels = ["web"] * 40 + ["email"] * 50 + ["api"] * 5 + ["phone"] * 5
    opened_data = {(c, k): json.dumps({"channel": c, "kind": k}) for c in set(channels)
                   for k in set(kinds)}  # fmt: skip
    message_id = event_id = 0
    chunk_size = 20_000
    cases_started = time.perf_counter()
    for chunk in range(0, n_cases, chunk_size):
        cases, messages, events = [], [], []
        for case_id in range(chunk + 1, min(chunk + chunk_size, n_cases) + 1):
            created = base + dt.timedelta(seconds=int(span_s * case_id / n_cases))
            is_open = rng.random() < 0.3
            owner = None if (is_open and rng.random() < 0.02) else rng.choice(staff)
            severity = rng.choice(severities)
            badges = [b for b in BADGES if rng.random() < 0.03]
            kind = rng.choice(kinds)
            channel = rng.choice(channels)
            problem = rng.choice(PROBLEMS)
            updated = created + dt.timedelta(hours=rng.randint(1, 400))
            customer_id = rng.randint(1, n_customers)
            subject = problem.capitalize()[:120]
            words = f"Hello, {subject.lower()}. " + " ".join(rng.sample(EXTRAS, 2))
            if rng.random() < 0.001:
                words += f" It reminded me of a {rng.choice(RARE_WORDS)}."
            author = owner[0] if owner else None
            bodies = [("in", words, None), ("out", rng.choice(REPLIES), author)]
            if rng.random() < 0.5:
                bodies.append(("note", "Checked the order history and the courier log.", author))
            created_s = _ts(created)
            cases.append(
                (
                    case_id, _reference(case_id), customer_id, kind,
                    rng.choice(open_stages) if is_open else "closed", is_open, severity,
                    priority[severity] + (5 if badges else 0), json.dumps(badges),
                    is_open and ("leaving" in badges or rng.random() < 0.02),
                    json.dumps({"flags": {b: {"at": created_s, "source": "message"}
                                          for b in badges}}), channel, subject,
                    author, owner[1] if owner else None, created_s, _ts(updated), created_s,
                    None if is_open else _ts(updated), len(bodies),
                )
            )  # fmt: skip
            event_id += 1
            events.append((event_id, case_id, customer_id, "case.opened", None,
                           opened_data[channel, kind], created_s))  # fmt: skip
            for n, (direction, body, by) in enumerate(bodies):
                at = _ts(created + dt.timedelta(minutes=30 * n))
                message_id += 1
                messages.append((message_id, case_id, direction, channel, by, body, at))
                event_id += 1
                data = {"message_id": message_id, "direction": direction, "channel": channel,
                        "excerpt": body[:160]}  # fmt: skip
                events.append((event_id, case_id, customer_id, "message.added", by,
                               json.dumps(data), at))  # fmt: skip
                if n == 0:
                    event_id += 1
                    data = {"owner_id": author, "owner_name": owner[2] if owner else "",
                            "rule": "round_robin"}  # fmt: skip
                    events.append((event_id, case_id, customer_id, "case.owner_assigned", None,
                                   json.dumps(data), at))  # fmt: skip
        raw.execute("BEGIN")
        raw.executemany(cases_t.sql, cases)
        raw.executemany(messages_t.sql, messages)
        raw.executemany(events_t.sql, events)
        raw.execute("COMMIT")
        done = min(chunk + chunk_size, n_cases)
        rate = done / max(time.perf_counter() - cases_started, 1e-9)
        print(f"\rcases {done:,}/{n_cases:,} ({rate:,.0f}/s)", end="", flush=True)
    print()
    t = time.perf_counter()
    for _, sql in indexes:
        raw.execute(sql)
    print(f"indexes rebuilt in {time.perf_counter() - t:.0f}s", flush=True)
    for name, sql in triggers:
        if name not in SQLITE_SCHEMA:  # the full-text triggers come back with the rebuild below
            raw.execute(sql)
    raw.execute("PRAGMA locking_mode=NORMAL")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    t = time.perf_counter()
    ensure_search_schema()
    print(f"full-text tables built in {time.perf_counter() - t:.0f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    marker.write_text(json.dumps(wanted))
    print(f"built in {time.perf_counter() - started:.0f}s")


def add_moment_dates(out: Path, seed: int) -> None:
    """``--moment-dates``: give every customer a date they became one (2010-2024) and one in
    three a birthday, so the moments page has this week's to find (about 3 % of customers
    each week), as a real customer base would. Once per data set (``moment-dates.json``);
    the base data set stays as built without it."""
    import json
    import sqlite3

    from django.db import connection

    from cherish.customers.models import ImportantDate

    marker = out / "moment-dates.json"
    if marker.exists():
        return
    started = time.perf_counter()
    dates_t = Table(ImportantDate, ["id", "customer_id", "kind", "date", "created_at"])
    connection.close()
    rng = random.Random(seed + 1)
    raw = sqlite3.connect(out / "cherish.sqlite3", isolation_level=None)
    (n_customers,) = raw.execute("SELECT max(id) FROM customers_customer").fetchone()
    (first_id,) = raw.execute("SELECT coalesce(max(id), 0) FROM customers_importantdate").fetchone()
    since_days = (dt.date(2024, 12, 31) - dt.date(2010, 1, 1)).days
    birth_days = (dt.date(2005, 12, 31) - dt.date(1940, 1, 1)).days
    created = _ts(dt.datetime(2025, 1, 1))
    since, births = [], []
    for cid in range(1, n_customers + 1):
        day = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(since_days))
        since.append((day.isoformat(), cid))
        if rng.random() < 1 / 3:
            birthday = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(birth_days))
            births.append(
                (first_id + len(births) + 1, cid, "birthday", birthday.isoformat(), created)
            )
    raw.execute("BEGIN")
    raw.executemany("UPDATE customers_customer SET customer_since = ? WHERE id = ?", since)
    raw.executemany(dates_t.sql, births)
    raw.execute("COMMIT")
    raw.execute("ANALYZE customers_customer")
    raw.execute("ANALYZE customers_importantdate")
    raw.close()
    marker.write_text(
        json.dumps({"seed": seed, "customers": n_customers, "birthdays": len(births)})
    )
    print(f"moment dates added in {time.perf_counter() - started:.0f}s: {len(births):,} birthdays")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class SqlTimer:
    """Adds up the time spent executing SQL (microsecond clock; Django's own query log
    rounds each query to a whole millisecond)."""

    def __init__(self) -> None:
        self.ms = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - t) * 1000


def measure(
    requests: int, seed: int, only: str = "", sweep: bool = False, pages: bool = False
) -> list[tuple[str, float, float, float, float, float, float, float]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils.http import urlencode

    from cherish.cases.access import visible_cases
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
    # The agent's own boundary (their team's cases and the unrouted ones): another team's
    # case page is a 404.
    open_refs = list(
        visible_cases(agent)
        .filter(is_open=True, id__gte=rng.randint(1, max_id // 2))
        .values_list("reference", flat=True)[:requests]
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
    owners = [str(pk) for pk in Staff.objects.order_by("id").values_list("pk", flat=True)]
    newest = Case.objects.order_by("-id").values_list("created_at", flat=True).first()
    assert newest is not None
    months = [
        f"opened_from={(newest - dt.timedelta(days=30 * (k + 1))).date()}"
        f"&opened_to={(newest - dt.timedelta(days=30 * k)).date()}"
        for k in range(6)
    ]

    def cycle(items: list[str], i: int) -> str:
        return items[i % len(items)]

    # Saved views (issue #13): the agent keeps a few; opening one is its address.
    from cherish.desk.actions_inbox import save_inbox_view
    from cherish.desk.models import SavedView
    from cherish.staff.access import staff_for_user

    saved = {
        "Angry in my team": {"view": "team", "flag": "angry"},
        "Unassigned billing": {"view": "unassigned", "topic": "billing"},
        "Team by customer": {"view": "team", "sort": "customer"},
        "Oldest open": {"view": "open", "sort": "opened"},
        "Waiting, newest": {"view": "waiting", "sort": "-updated"},
    }
    for name, params in saved.items():
        if not SavedView.objects.filter(staff=agent, name=name).exists():
            save_inbox_view(agent, name=name, params=params)
    saved_urls = [f"/desk/?{urlencode(params)}" for params in saved.values()]
    other_team = (
        Staff.objects.exclude(team_id=agent.team_id).values_list("team_id", flat=True).first()
    )
    mine_by_team = staff_for_user(agent.user)
    assert mine_by_team is not None
    views = ["mine", "unassigned", "at_risk", "team", "open", "waiting", "closed"]
    sorts = ["priority", "reference", "customer", "subject", "owner", "stage", "opened", "updated"]
    every = [
        (f"inbox sort: {view}, {way}{key}", _url(f"/desk/?view={view}&sort={way}{key}"))
        for view in ("team", "open", "mine")
        for key in sorts
        for way in ("", "-")
    ]
    every += [
        (f"inbox filter: {view}, {name}", _url(f"/desk/?view={view}&{query}"))
        for view in views
        for name, query in (
            ("owner", f"owner={owners[3]}"),
            ("unassigned", "owner=none"),
            ("own team", f"team={agent.team_id}"),
            ("other team", f"team={other_team}"),
            ("topic", "topic=billing"),
            ("flag leaving", "flag=leaving"),
            ("flag legal (none)", "flag=legal"),
            ("a month", months[2]),
            ("kind", "kind=inquiry"),
            ("channel", "channel=phone"),
        )
    ]
    scenarios = [
        ("inbox: mine", lambda i: "/desk/"),
        ("inbox: all open", lambda i: "/desk/?view=open"),
        ("inbox: unassigned", lambda i: "/desk/?view=unassigned"),
        ("inbox: at risk", lambda i: "/desk/?view=at_risk"),
        ("inbox: my team", lambda i: "/desk/?view=team"),
        ("inbox: waiting on customer", lambda i: "/desk/?view=waiting"),
        ("inbox: recently closed", lambda i: "/desk/?view=closed"),
        ("inbox: all open, filter kind", lambda i: f"/desk/?view=open&kind={cycle(kinds, i)}"),
        ("inbox: all open, filter owner", lambda i: f"/desk/?view=open&owner={cycle(owners, i)}"),
        ("inbox: all open, flag leaving", lambda i: "/desk/?view=open&flag=leaving"),
        ("inbox: all open, opened in a month", lambda i: f"/desk/?view=open&{cycle(months, i)}"),
        ("inbox: mine, sort by customer", lambda i: "/desk/?sort=customer"),
        ("inbox: team, sort by updated", lambda i: "/desk/?view=team&sort=-updated"),
        ("inbox: all open, page 20", lambda i: "/desk/?view=open&page=20"),
        ("inbox: saved views", lambda i: cycle(saved_urls, i)),
        *(every if sweep else []),
        ("case page", lambda i: f"/desk/cases/{cycle(open_refs, i)}/"),
        ("search: reference", lambda i: f"/desk/?q={cycle(refs, i)[3:].lower()}"),
        ("search: email", lambda i: f"/desk/?q={cycle(emails, i)}"),
        ("search: customer name", lambda i: f"/desk/?q={cycle(names, i).replace(' ', '+')}"),
        ("search: word in messages", lambda i: f"/desk/?q={cycle(words, i)}"),
        *(other_pages(agent, rng, requests) if pages else []),
    ]
    manager_client = Client()
    manager_client.force_login(_a_manager().user)
    results = []
    for label, url_for in scenarios:
        if only and not any(part in label for part in only.split(",")):
            continue
        # The scorecard, the outbox and the audit log are a manager's.
        as_whom = manager_client if label.startswith("(manager)") else client
        warm_ups = 3 if label.startswith(("inbox sort", "inbox filter")) else 10
        n = requests
        slow = 0
        for i in range(warm_ups):
            t = time.perf_counter()
            as_whom.get(url_for(i))  # warm caches and the FTS tables
            # Twice over SLOW_S (the first may be a cold cache): a page of seconds, which a
            # few requests tell enough about.
            slow = slow + 1 if time.perf_counter() - t > SLOW_S else 0
            if slow == 2:
                n = min(requests, SLOW_REQUESTS)
                break
        timings = []
        cpu_ms = []
        sql_ms = []
        timer = SqlTimer()
        queries = 0
        for i in range(n):
            url = url_for(i)
            timer.ms = 0.0
            with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
                t = time.perf_counter()
                cpu = time.process_time()
                response = as_whom.get(url)
                cpu_ms.append((time.process_time() - cpu) * 1000)
                timings.append((time.perf_counter() - t) * 1000)
            queries += len(ctx.captured_queries)
            sql_ms.append(timer.ms)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {url} answered {response.status_code}")
        results.append(
            (
                label,
                statistics.median(timings),
                percentile(timings, 95),
                max(timings),
                percentile(sql_ms, 95),
                queries / n,
                statistics.median(cpu_ms),
                percentile(cpu_ms, 95),
            )
        )
        print(
            f"  {label:32} done" + (f" ({n} requests: slow)" if n < requests else ""),
            file=sys.stderr,
        )
    return results


def _url(url: str) -> Any:
    return lambda i: url


def _a_manager() -> Any:
    """The first manager, or the last staff member made one (in this data directory)."""
    from cherish.staff.actions import set_role
    from cherish.staff.models import Role, Staff

    manager = Staff.objects.select_related("user").filter(role=Role.MANAGER).first()
    if manager is None:
        manager = Staff.objects.select_related("user").order_by("-id").first()
        assert manager is not None
        set_role(manager, role=Role.MANAGER, by=None, data_protection=True)
    return manager


def other_pages(agent: Any, rng: random.Random, requests: int) -> list[tuple[str, Any]]:
    """The desk's other pages (``--pages``): customers, moments, radar, care, notifications,
    scorecard, people and learning; "(manager)" ones are asked as a manager."""
    from django.db.models import Count

    from cherish.cases.models import Case
    from cherish.customers.access import visible_customers
    from cherish.customers.models import Customer

    max_customer = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 1
    # Customers the agent may see (another team's customer page is a 404).
    customer_ids = list(
        visible_customers(agent)
        .filter(pk__in=[rng.randint(1, max_customer) for _ in range(requests * 3)])
        .values_list("pk", flat=True)[:requests]
    )
    # The customer with the most cases among a sample: the heaviest customer page.
    busiest = (
        Case.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("customer_id", flat=True)
        .first()
    )
    return [
        ("customer list", _url("/desk/customers/")),
        ("customer page", lambda i: f"/desk/customers/{customer_ids[i % len(customer_ids)]}/"),
        ("customer page, busiest", _url(f"/desk/customers/{busiest}/")),
        ("duplicates", _url("/desk/customers/duplicates/")),
        ("leave reasons", _url("/desk/customers/leave-reasons/")),
        ("moments: mine", _url("/desk/moments/")),
        ("moments: everyone's", _url("/desk/moments/?who=all")),
        ("radar", _url("/desk/radar/")),
        ("care due", _url("/desk/care/")),
        ("notifications", _url("/desk/notifications/")),
        ("unreadable", _url("/desk/unreadable/")),
        ("log a contact", _url("/desk/log-contact/")),
        ("surveys", _url("/desk/surveys/")),
        ("scorecard people", _url("/desk/scorecard/people/")),
        ("people wall", _url("/desk/people/")),
        ("learning", _url("/desk/learning/")),
        ("learning: actions", _url("/desk/learning/actions/")),
        ("(manager) scorecard", _url("/desk/scorecard/")),
        ("(manager) outbox", _url("/desk/outbox/")),
        ("(manager) audit log", _url("/desk/audit/")),
        ("(manager) inbox: all open", _url("/desk/?view=open")),
    ]


def case_page_parts(requests: int, seed: int) -> list[tuple[str, float, float, float]]:
    """Where the case page's time goes: the view's context (its queries) and each part of
    the page rendered on its own (the included partials and the other apps' panels, each
    with the queries it runs), over the same open cases. (label, p50, p95, queries)."""
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection
    from django.template import Template
    from django.template.loader import get_template
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from cherish.cases.access import access_case, visible_cases
    from cherish.cases.models import Case
    from cherish.desk.views import _case_context
    from cherish.staff.models import Staff

    rng = random.Random(seed + 1)
    agent = Staff.objects.select_related("user").order_by("id").first()
    assert agent is not None
    max_id = Case.objects.order_by("-id").values_list("id", flat=True).first() or 1
    refs = list(
        visible_cases(agent)
        .filter(is_open=True, id__gte=rng.randint(1, max_id // 2))
        .values_list("reference", flat=True)[:requests]
    )
    factory = RequestFactory()

    def fresh(ref: str) -> tuple[Any, dict[str, Any]]:
        request = factory.get(f"/desk/cases/{ref}/")
        request.user = agent.user if agent else AnonymousUser()
        case = access_case(agent, ref)
        context = _case_context(case, agent)
        context["show_handoff"] = False
        return request, context

    def jinja(name: str) -> Any:
        return get_template(name, using="jinja2")

    # The page and its parts are Jinja2 templates (cherish.core.jinja); the panels of other
    # apps get their part of the view's context (as the page's {% with %} gives it them).
    class Part:
        def __init__(self, name: str, key: str = "") -> None:
            self.template, self.key = jinja(name), key

        def render(self, context: dict[str, Any], request: Any) -> str:
            local = {**context, **context[self.key]} if self.key else context
            return self.template.render(local, request)

    parts: list[tuple[str, Any]] = [
        ("page template, all of it", Part("desk/case_detail.html")),
        ("  partial: case header", Part("desk/partials/case_header.html")),
        ("  partial: conversation + forms", Part("desk/partials/case_work.html")),
        ("  partial: customer timeline", Part("desk/partials/customer_timeline.html")),
        ("  panel: key facts", Part("customers/partials/customer_key_facts.html", "key_facts")),
        ("  panel: triage", Part("triage/partials/triage_panel.html", "triage")),
        ("  panel: care summary", Part("care/partials/care_summary.html")),
    ]
    # The full care panel ("Work on the care workflow" loads it over HTMX), a Django tag.
    source = "{% load care_panels %}{% care_panel case %}"
    parts.append(("  (on demand) care panel", _template(Template(source))))
    rows = []
    timings: list[float] = []
    queries = 0
    for ref in refs:
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            fresh(ref)
            timings.append((time.perf_counter() - t) * 1000)
        queries += len(ctx.captured_queries)
    rows.append(
        ("view: access + context (queries)", statistics.median(timings),
         percentile(timings, 95), queries / len(refs))
    )  # fmt: skip
    for label, template in parts:
        timings, queries = [], 0
        for i, ref in enumerate(refs):
            request, context = fresh(ref)
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                template.render(context, request)
                elapsed = (time.perf_counter() - t) * 1000
            if i >= 5:  # the first few warm the template cache
                timings.append(elapsed)
                queries += len(ctx.captured_queries)
        rows.append(
            (label, statistics.median(timings), percentile(timings, 95),
             queries / max(len(timings), 1))
        )  # fmt: skip
    return rows


def _template(template: Any) -> Any:
    """A django.template.Template that renders like a backend template (dict + request)."""

    class Wrapped:
        def render(self, context: dict[str, Any], request: Any) -> str:
            from django.template import RequestContext

            return template.render(RequestContext(request, context))

    return Wrapped()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--only", default="", help="only scenarios whose label contains this (a,b: either)"
    )
    parser.add_argument("--no-parts", action="store_true", help="skip the case page's parts")
    parser.add_argument(
        "--pages",
        action="store_true",
        help="also the desk's other pages (customers, moments, radar, scorecard, ...)",
    )
    parser.add_argument(
        "--moment-dates",
        action="store_true",
        help="first give customers the dates the moments page looks for (once per data set)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also every sort (both ways) of three views and every filter of every view",
    )
    args = parser.parse_args()

    out = configure(args.cases)
    t = time.perf_counter()
    build(out, args.cases, args.seed)
    print(f"database ready in {time.perf_counter() - t:.0f}s: {out / 'cherish.sqlite3'}")
    if args.moment_dates:
        add_moment_dates(out, args.seed)
    if args.pages:
        from django.core.management import call_command, get_commands

        # What the ticker keeps for the moments page (since issue #14), as it would be.
        if "refresh_usual_contacts" in get_commands():
            t, cpu = time.perf_counter(), time.process_time()
            call_command("refresh_usual_contacts")
            print(
                f"usual contacts refreshed in {time.perf_counter() - t:.1f}s"
                f" ({time.process_time() - cpu:.1f}s CPU in this process)"
            )
    if args.build_only:
        return

    from cherish.cases.models import Case, CaseEvent, Message
    from cherish.customers.models import Customer

    print(
        f"{Case.objects.count():,} cases ({Case.objects.filter(is_open=True).count():,} open), "
        f"{Customer.objects.count():,} customers, {Message.objects.count():,} messages, "
        f"{CaseEvent.objects.count():,} events; {args.requests} requests per row\n"
    )
    rows = measure(args.requests, args.seed, args.only, args.sweep, args.pages)
    print(
        f"{'scenario':44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 SQL':>8} {'queries':>8}"
        f" {'CPU p50':>8} {'CPU p95':>8}"
    )
    for label, p50, p95, worst, sql95, queries, cpu50, cpu95 in rows:
        print(
            f"{label:44} {p50:8.1f} {p95:8.1f} {worst:8.1f} {sql95:8.1f} {queries:8.1f}"
            f" {cpu50:8.1f} {cpu95:8.1f}"
        )
    print("\n(p95 SQL: the 95th percentile of the time spent in the database per request;")
    print(" the rest is Python: middleware, view, templates, panels. CPU p50: the median")
    print(" CPU time of this process per request, which a loaded machine inflates less.)")
    print(f"(uptime at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} load average)")
    if args.no_parts:
        return
    print(f"\ncase page, part by part ({args.requests} open cases; each part rendered alone):")
    print(f"{'part':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, p50, p95, queries in case_page_parts(args.requests, args.seed):
        print(f"{label:40} {p50:8.1f} {p95:8.1f} {queries:8.1f}")


if __name__ == "__main__":
    main()
