"""The scorecard at scale, and a survey answer from the email link.

Builds (or reuses) a database with N cases (default 1,000,000) over two years, N/5 customers
and 0.3·N survey answers, builds the roll-ups with the real code, then times:

- the scorecard page (/desk/scorecard/) through Django's test Client (routing, middleware,
  view, templates, 28 SVG charts) for every period, without and with filters: p50/p95;
- the same figures through the API (/api/v1/scorecard);
- recording a survey answer by one click on the email link (GET /s/<token>/a/<n>/): p50/p95,
  and the number of write transactions per answer (must be one).

    .venv/bin/python bench/bench_scorecard.py                         # 1M cases, SQLite
    .venv/bin/python bench/bench_scorecard.py --cases 100000          # smaller
    CHERISH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cherish_bench_scorecard \\
        .venv/bin/python bench/bench_scorecard.py                     # the same on PostgreSQL

Cases, customers, invitations and answers are written with executemany in batches. The
per-case facts are generated alongside the cases (what compute_facts would find in their
messages, events and commitments, which the bench does not write); the weekly cube is then
built from facts, answers and invitations by the real roll-up code (rollups.cube_cells).
``compute_facts`` itself is timed on a 5,000-case sample of real rows. Print ``uptime`` next
to any figure you quote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TOPICS = ["delivery", "billing", "quality", "staff", "returns", "website", "repairs", "other"]
CHANNELS = ["web"] * 4 + ["email"] * 4 + ["phone", "api", "social"]
KINDS = ["complaint"] * 6 + ["inquiry"] * 3 + ["compliment", "suggestion"]
BATCH = 5000


def configure(n_cases: int) -> Path:
    url = os.environ.get("CHERISH_DATABASE_URL", "")
    tag = "pg" if url.startswith("postgres") else "sqlite"
    out = ROOT / "bench" / "out" / f"scorecard-{tag}-{n_cases}"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(out)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_ALLOWED_HOSTS"] = "testserver"
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("CHERISH_SITE_URL", "http://testserver")
    import django

    django.setup()
    return out


def _defaults(table: str, columns: list[str]) -> tuple[list[str], tuple[Any, ...]]:
    """The table's other columns and their model defaults, so a column added later with a
    default needs no change here (as bench_desk.Table does)."""
    from django.apps import apps
    from django.db import connection

    [model] = [m for m in apps.get_models() if m._meta.db_table == table]
    names, values = [], []
    for field in model._meta.concrete_fields:
        # A generated column (Customer.since_md) is the database's to write.
        if field.column in columns or field.primary_key or field.generated:
            continue
        default = field.get_default()
        if default is None and not field.null:
            raise SystemExit(f"{table}.{field.column} needs a value in the bench builder")
        names.append(field.column)
        values.append(field.get_db_prep_save(default, connection))
    return names, tuple(values)


def _insert(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    extra, defaults = _defaults(table, columns)
    names = ", ".join('"' + c + '"' for c in [*columns, *extra])
    marks = ", ".join(["%s"] * (len(columns) + len(extra)))
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    ops = connection.ops

    def adapt(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return ops.adapt_datefield_value(value)
        if isinstance(value, Decimal) and connection.vendor == "sqlite":
            return str(value)
        return value

    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(
                sql, [(*map(adapt, r), *defaults) for r in rows[start : start + BATCH]]
            )


def _flush() -> None:
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)


def build(out: Path, n_cases: int, seed: int) -> None:
    from bench_desk import _reference  # a bijection: a million references, no collision
    from django.core.management import call_command
    from django.db import connection, transaction

    from cherish.cases.models import Case
    from cherish.feedback.demo import seed_builtin_surveys
    from cherish.feedback.models import Survey
    from cherish.scorecard import rollups
    from cherish.scorecard.models import CaseFact, WeeklyCube
    from cherish.staff.actions import create_staff
    from cherish.staff.models import Role, Staff, Team

    marker = out / "built.json"
    wanted = {"cases": n_cases, "seed": seed, "builder": 1, "vendor": connection.vendor}
    call_command("migrate", verbosity=0)
    if marker.exists() and json.loads(marker.read_text()) == wanted and Case.objects.exists():
        print(f"reusing the {connection.vendor} data set in {out}")
        return
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    _flush()
    if connection.vendor == "sqlite":
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{out / 'cherish.sqlite3'}{suffix}").unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    seed_builtin_surveys()
    rng = random.Random(seed)
    teams = [Team.objects.create(name=f"Care {n}") for n in ("North", "South", "East", "West")]
    for i in range(40):
        create_staff(
            username=f"agent{i}",
            password="bench-password-123",
            display_name=f"Agent {i}",
            team=teams[i % 4],
            role=Role.MANAGER if i == 0 else Role.AGENT,
        )
    staff = [(s.pk, s.team_id) for s in Staff.objects.order_by("pk")]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span_s = 730 * 86400
    n_customers = n_cases // 5

    print(f"writing {n_customers:,} customers …", flush=True)
    customers = [
        (
            pk,
            f"Customer {pk}",
            "left" if rng.random() < 0.05 else "active",
            now - dt.timedelta(days=800),
            now,
        )
        for pk in range(1, n_customers + 1)
    ]
    with transaction.atomic():
        _insert_customers(customers)
    del customers

    print(f"writing {n_cases:,} cases and their facts …", flush=True)
    case_rows: list[tuple[Any, ...]] = []
    fact_rows: list[tuple[Any, ...]] = []
    closed_cases: list[tuple[int, int, int | None, int, str, str, str, dt.datetime]] = []
    for pk in range(1, n_cases + 1):
        customer = rng.randint(1, n_customers)
        created = now - dt.timedelta(seconds=rng.randint(0, span_s))
        kind = rng.choice(KINDS)
        channel = rng.choice(CHANNELS)
        topic = rng.choice(TOPICS)
        owner, team = rng.choice(staff)
        age_days = (now - created).days
        closed = None
        if age_days > 14 or rng.random() < 0.5:
            closed = created + dt.timedelta(hours=rng.randint(2, 24 * 20))
            if closed > now:
                closed = None
        first_response_s = rng.randint(600, 3 * 86400)
        case_rows.append(
            (
                pk,
                _reference(pk),
                customer,
                kind,
                "closed" if closed else "listening",
                closed is None,
                channel,
                json.dumps({"topic": topic}),
                owner,
                team,
                created,
                closed or created,
                closed,
                created + dt.timedelta(seconds=first_response_s),
            )
        )
        owners = 1 if rng.random() < 0.8 else 2
        commitments = rng.choice([0, 0, 1, 1, 2])
        kept = sum(rng.random() < 0.8 for _ in range(commitments))
        gestures = 1 if rng.random() < 0.2 else 0
        week = created.date() - dt.timedelta(days=created.weekday())
        recovery_known = kind == "complaint" and age_days >= 90
        retained = recovery_known and rng.random() < 0.8
        fact_rows.append(
            (
                pk,
                customer,
                owner,
                str(team),
                channel,
                kind,
                topic,
                created,
                week,
                closed,
                (closed.date() - dt.timedelta(days=closed.weekday())) if closed else None,
                rollups.week_of(created + dt.timedelta(days=90)) if recovery_known else None,
                first_response_s,
                (closed - created).days if closed else None,
                owners,
                1 if owners > 1 and rng.random() < 0.5 else 0,
                rng.randint(1, 4),
                rng.randint(1, 3),
                1 if rng.random() < 0.05 else 0,
                commitments,
                kept,
                sum(rng.random() < 0.85 for _ in range(kept)),
                commitments - kept,
                gestures,
                Decimal(rng.randint(5, 50)) if gestures else Decimal(0),
                1 if gestures and rng.random() < 0.2 else 0,
                bool(closed) and rng.random() < 0.7,
                kind == "complaint" and rng.random() < 0.15,
                bool(closed) and kind == "complaint" and rng.random() < 0.5,
                recovery_known,
                retained,
                Decimal(rng.randint(0, 900)) if recovery_known else Decimal(0),
            )
        )
        if closed and kind in ("complaint", "inquiry"):
            closed_cases.append((pk, customer, owner, team, kind, channel, topic, closed))
        if len(case_rows) >= 50_000:
            _write_cases(case_rows, fact_rows)
            case_rows, fact_rows = [], []
    _write_cases(case_rows, fact_rows)

    n_answers = int(n_cases * 0.3)
    print(f"writing invitations and {n_answers:,} answers …", flush=True)
    after = Survey.objects.get(key="after-case").pk
    relationship = Survey.objects.get(key="relationship").pk
    rng.shuffle(closed_cases)
    invitations: list[tuple[Any, ...]] = []
    responses: list[tuple[Any, ...]] = []
    pk = 0
    after_answers = min(len(closed_cases), int(n_answers * 0.7))
    for i, (case, customer, owner, team, kind, channel, topic, closed) in enumerate(
        closed_cases[: int(after_answers / 0.6)]
    ):
        pk += 1
        sent = closed + dt.timedelta(hours=1)
        answered = i < after_answers
        invitations.append(
            (pk, after, customer, case, "email", "answered" if answered else "sent", sent)
        )
        if answered:
            at = sent + dt.timedelta(hours=rng.randint(1, 48))
            csat = rng.choice([5, 5, 4, 4, 3, 2, 1])
            responses.append(
                (pk, pk, after, customer, case, owner, team, kind, channel, topic, csat, None,
                 min(5, max(1, csat + rng.choice([-1, 0, 1]))), None, "", at, at,
                 at + dt.timedelta(days=7))
            )  # fmt: skip
    for _ in range(n_answers - after_answers):
        pk += 1
        customer = rng.randint(1, n_customers)
        sent = now - dt.timedelta(seconds=rng.randint(0, span_s))
        at = sent + dt.timedelta(hours=rng.randint(1, 48))
        nps = rng.choice([10, 10, 9, 9, 8, 8, 7, 6, 5, 3, 0])
        invitations.append((pk, relationship, customer, None, "email", "answered", sent))
        level = rng.choice(["none", "confidence", "fairness", "pride", "passion"])
        responses.append(
            (pk, pk, relationship, customer, None, None, None, "", "", "", None, nps, None,
             nps >= 9 and rng.random() < 0.6, level, at, at, at + dt.timedelta(days=7))
        )  # fmt: skip
    with transaction.atomic():
        _insert(
            "feedback_invitation",
            ["id", "survey_id", "customer_id", "case_id", "channel", "status", "created_at",
             "skip_reason", "sent_to"],
            [(*row, "", "bench@example.com") for row in invitations],
        )  # fmt: skip
        _insert(
            "feedback_surveyresponse",
            ["id", "invitation_id", "survey_id", "customer_id", "case_id", "owner_id", "team_id",
             "case_kind", "case_channel", "topic", "csat", "nps", "cared", "raving_fan",
             "loyalty_level", "created_at", "updated_at", "editable_until", "resolved",
             "would_stay", "comment", "changes"],
            [(*row, "", "", "", 0) for row in responses],
        )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("customers_customer", "cases_case", "feedback_invitation",
                          "feedback_surveyresponse"):  # fmt: skip
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
    print(f"  data written in {time.perf_counter() - started:.0f} s", flush=True)

    cube_started = time.perf_counter()
    cells = rollups.cube_cells(None, at=now)
    written = rollups._write_cells(cells, None)
    rollups._snapshot(cube_started, now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"  cube built by rollups.cube_cells: {written:,} cells from "
        f"{CaseFact.objects.count():,} facts in {time.perf_counter() - cube_started:.0f} s",
        flush=True,
    )
    assert WeeklyCube.objects.exists()
    marker.write_text(json.dumps(wanted))
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def _insert_customers(customers: list[tuple[Any, ...]]) -> None:
    _insert(
        "customers_customer",
        ["id", "name", "status", "created_at", "updated_at", "language", "preferred_channel",
         "time_zone", "notes", "opted_out", "external_id"],
        [(pk, name, status, c, u, "", "", "", "", False, None)
         for pk, name, status, c, u in customers],
    )  # fmt: skip


def _write_cases(case_rows: list[tuple[Any, ...]], fact_rows: list[tuple[Any, ...]]) -> None:
    from django.db import transaction

    with transaction.atomic():
        _insert(
            "cases_case",
            ["id", "reference", "customer_id", "kind", "stage", "is_open", "channel", "triage",
             "owner_id", "team_id", "created_at", "updated_at", "closed_at", "first_response_at",
             "kind_set_by_staff", "severity", "priority", "badges", "at_risk", "signals",
             "subject", "order_reference", "reply_to", "handoff_note", "handoff_unread",
             "message_count", "portal_version"],
            [(*row, False, "normal", 0, "[]", False, "{}", "Bench case", "", "", "", False, 2, 0)
             for row in case_rows],
        )  # fmt: skip
        _insert(
            "scorecard_casefact",
            ["case_id", "customer_id", "owner_id", "team", "channel", "kind", "topic",
             "created_at", "created_week", "closed_at", "closed_week", "known_week",
             "first_response_s", "resolution_days", "owners", "repeats", "contacts", "replies",
             "tone_hits", "commitments", "commitments_kept", "commitments_on_time",
             "commitments_broken", "gestures", "gesture_value", "exceptions",
             "follow_up_before_close", "repeat_complaint", "well_recovered", "recovery_known",
             "retained", "value_at_stake"],
            fact_rows,
        )  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(ordered) - 1)
    return ordered[f] + (ordered[c] - ordered[f]) * (k - f)


# CPU ms of each request timed last (this process: view, ORM, SQLite, templates), which
# depends far less than the wall time on the other processes sharing the machine.
CPU: list[float] = []


def timed(client: Any, urls: list[str], rounds: int) -> list[float]:
    times = []
    CPU.clear()
    for i in range(rounds):
        url = urls[i % len(urls)]
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        CPU.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def cpu_figures(values: list[float]) -> str:
    return f"   CPU {statistics.median(values):6.1f} {percentile(values, 95):6.1f}"


def measure_scorecard(rounds: int) -> None:
    from django.test import Client

    from cherish.intake.apikeys import create_api_key
    from cherish.staff.models import Staff, Team
    from cherish.staff.principal import KeyScope

    manager = Staff.objects.get(user__username="agent0")
    team = Team.objects.order_by("pk").first()
    assert team is not None
    client = Client()
    client.force_login(manager.user)
    filters = [
        "",
        f"&team={team.pk}",
        "&channel=email",
        "&kind=complaint",
        "&topic=billing",
        f"&team={team.pk}&kind=complaint&topic=delivery",
    ]
    print("\nscenario                                   p50 ms   p95 ms   max ms   CPU p50 p95")
    all_times: list[float] = []
    all_cpu: list[float] = []
    for period in ("week", "4weeks", "quarter", "year"):
        urls = [f"/desk/scorecard/?period={period}{f}" for f in filters]
        timed(client, urls[:2], 2)  # warm
        times = timed(client, urls, rounds)
        all_times += times
        all_cpu += CPU
        print(
            f"scorecard, period {period:<8} (6 filter sets) {statistics.median(times):8.1f} "
            f"{percentile(times, 95):8.1f} {max(times):8.1f}" + cpu_figures(CPU)
        )
    print(
        f"scorecard, all                            {statistics.median(all_times):8.1f} "
        f"{percentile(all_times, 95):8.1f} {max(all_times):8.1f}" + cpu_figures(all_cpu)
    )
    _, key = create_api_key("bench", scopes=[KeyScope.FEEDBACK_READ])
    api = Client(headers={"Authorization": f"Bearer {key}"})
    urls = [f"/api/v1/scorecard?period=4weeks{f}" for f in filters]
    times = timed(api, urls, rounds)
    print(
        f"API /api/v1/scorecard, 4 weeks            {statistics.median(times):8.1f} "
        f"{percentile(times, 95):8.1f} {max(times):8.1f}" + cpu_figures(CPU)
    )
    people = timed(client, ["/desk/scorecard/people/?period=4weeks"], max(rounds // 4, 10))
    print(
        f"people view, 4 weeks                      {statistics.median(people):8.1f} "
        f"{percentile(people, 95):8.1f} {max(people):8.1f}" + cpu_figures(CPU)
    )


def measure_click(n: int) -> None:
    """One click in the email: time the GET and count the write transactions it commits."""
    import re

    from django.db import connection
    from django.test import Client

    from cherish.customers.models import ContactPoint, Customer
    from cherish.feedback import actions
    from cherish.feedback.models import Survey, SurveyPolicy
    from cherish.outbox.models import OutgoingEmail

    SurveyPolicy.objects.update(max_invitations=1000)
    survey = Survey.objects.get(key="relationship")
    # Customers a survey may go to: active, and no complaint of theirs open (the survey
    # rules skip the others, and a skipped invitation has no email to click).
    customers = (
        Customer.objects.filter(status="active")
        .exclude(cases__kind="complaint", cases__is_open=True)
        .order_by("-pk")[: n * 2]
    )
    links = []
    for customer in customers:
        if len(links) == n:
            break
        ContactPoint.objects.get_or_create(
            customer=customer, kind="email", defaults={"value": f"c{customer.pk}@example.com"}
        )
        invitation = actions.invite(survey, customer)
        if invitation.email_pk is None:
            continue
        email = OutgoingEmail.objects.get(pk=invitation.email_pk)
        found = re.findall(r'href="http://testserver(/s/[^"]+/a/)(\d+)/"', email.html_body)
        links.append(found[0][0] + str(rng_choice(customer.pk)) + "/")
    client = Client()
    commits: list[int] = []
    writes_outside: list[int] = []
    original_commit = connection.commit

    def counting_commit() -> None:
        commits[-1] += 1
        original_commit()

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and not connection.in_atomic_block:
            writes_outside[-1] += 1
        return execute(sql, params, many, context)

    connection.commit = counting_commit  # type: ignore[method-assign]
    times = []
    CPU.clear()
    try:
        with connection.execute_wrapper(watch):
            for link in links:
                commits.append(0)
                writes_outside.append(0)
                started, cpu = time.perf_counter(), time.process_time()
                response = client.get(link)
                times.append((time.perf_counter() - started) * 1000)
                CPU.append((time.process_time() - cpu) * 1000)
                assert response.status_code == 302, response.status_code
    finally:
        connection.commit = original_commit  # type: ignore[method-assign]
    print(
        f"\nsurvey answer by one click in the email ({len(times)} answers): "
        f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
        f"max {max(times):.1f} ms;" + cpu_figures(CPU)
    )
    print(
        f"write transactions per answer: {sorted(set(commits))}; "
        "inserts after the commit (the loop-closing task a detractor enqueues): "
        f"{sum(writes_outside)}"
    )


def rng_choice(pk: int) -> int:
    return [10, 9, 8, 7, 3][pk % 5]


def sample_compute_facts(n: int) -> None:
    from cherish.cases.models import Case
    from cherish.core.clock import now
    from cherish.scorecard.rollups import compute_facts

    ids = list(Case.objects.order_by("-pk").values_list("pk", flat=True)[:n])
    started = time.perf_counter()
    for i in range(0, len(ids), 2000):
        compute_facts(ids[i : i + 2000], at=now())
    seconds = time.perf_counter() - started
    print(
        f"\ncompute_facts from the real rows: {n:,} cases in {seconds:.1f} s "
        f"({n / seconds:,.0f} cases/s; a full rebuild of 1M ≈ {1e6 / (n / seconds) / 60:.0f} min)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=120)
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    out = configure(args.cases)
    from django.db import connection

    print(f"database: {connection.vendor}; data in {out}")
    build(out, args.cases, args.seed)
    if args.build_only:
        return
    measure_scorecard(args.rounds)
    measure_click(args.clicks)
    sample_compute_facts(5000)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
