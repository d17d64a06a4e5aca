"""Learning and people pages at scale: p50/p95 latency with 1M cases.

Reuses bench_desk's data set (bench/out/desk-<N>/, built once), then adds what the learning
pages read, once (learning.json marks it): 40 themes holding every complaint, root causes on
10% of complaints, a 20-policy register linked to 2% of complaints, competitor mentions on
0.5%, 30 improvement actions (10 done), 50 stories with circulation and reads, 20,000
recognitions and a 200-answer staff pulse. Pages are fetched through the real middleware,
views and templates with Django's test client, signed in as a manager (who also gets the
forms), ``--requests`` times each after 5 warm-up requests.

    .venv/bin/python bench/bench_learning.py --cases 1000000 --requests 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_desk


def populate(out: Path, seed: int) -> None:
    from django.db import connection, transaction

    from cherish.cases.models import Case
    from cherish.learning.models import (
        CaseFinding,
        CaseTheme,
        Competitor,
        CompetitorMention,
        ImprovementAction,
        LearningStory,
        Policy,
        PolicyLink,
        RootCause,
        StoryCirculation,
        StoryRead,
        Theme,
    )
    from cherish.staff.actions import create_staff
    from cherish.staff.models import (
        PulseResponse,
        PulseSurvey,
        Recognition,
        Role,
        Staff,
        Team,
    )

    marker = out / "learning.json"
    if marker.exists():
        print("reusing the learning data")
        return
    started = time.perf_counter()
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
    manager = create_staff(
        username="manager",
        password="bench-password-123",
        display_name="Mona Manager",
        team=Team.objects.order_by("id").first(),
        role=Role.MANAGER,
    )
    staff = list(Staff.objects.order_by("id"))
    teams = list(Team.objects.order_by("id"))
    themes = Theme.objects.bulk_create(
        [
            Theme(
                name=f"Theme {i}: late delivery, refund, courier",
                top_terms=["late delivery", "refund", "courier", "invoice", "app"],
                created_at=now,
                updated_at=now,
            )
            for i in range(40)
        ]
    )
    causes = list(RootCause.objects.all())
    policies = Policy.objects.bulk_create(
        [
            Policy(
                title=f"Policy {i}", owner=manager, created_at=now, updated_at=now,
                review_by=(now + dt.timedelta(days=30 * i - 200)).date(),
            )
            for i in range(20)
        ]
    )  # fmt: skip
    competitors = [Competitor.objects.create(name=n) for n in ("ParcelPal", "QuickShip", "Zoom")]
    counts = [0] * len(themes)
    complaints = Case.objects.filter(kind="complaint").values_list("id", "created_at", "team_id")
    batch: dict[str, list] = {"theme": [], "finding": [], "link": [], "mention": []}

    def flush() -> None:
        CaseTheme.objects.bulk_create(batch["theme"], batch_size=5000)
        CaseFinding.objects.bulk_create(batch["finding"], batch_size=5000)
        PolicyLink.objects.bulk_create(batch["link"], batch_size=5000)
        CompetitorMention.objects.bulk_create(batch["mention"], batch_size=5000)
        for rows in batch.values():
            rows.clear()

    with transaction.atomic():
        for case_id, created_at, team_id in complaints.iterator(chunk_size=20000):
            t = min(int(rng.expovariate(1 / 8)), 39)
            counts[t] += 1
            batch["theme"].append(
                CaseTheme(
                    case_id=case_id, theme=themes[t], similarity=rng.random(),
                    words=["late", "courier"], case_created_at=created_at, assigned_at=now,
                )
            )  # fmt: skip
            r = rng.random()
            if r < 0.10:
                cause = rng.choice(causes)
                batch["finding"].append(
                    CaseFinding(
                        case_id=case_id, root_cause=cause, leak_step="operations",
                        communication="invoice" if cause.category == "communication" else "",
                        team_id=team_id, case_created_at=created_at, recorded_at=now,
                    )
                )  # fmt: skip
            if r < 0.02:
                batch["link"].append(
                    PolicyLink(
                        case_id=case_id, policy=rng.choice(policies), source="tagged",
                        case_created_at=created_at, linked_at=now,
                    )
                )  # fmt: skip
            if r < 0.005:
                batch["mention"].append(
                    CompetitorMention(
                        case_id=case_id, competitor=rng.choice(competitors),
                        aspects=["price"], snippet="ParcelPal is cheaper",
                        case_created_at=created_at,
                    )
                )  # fmt: skip
            if len(batch["theme"]) >= 20000:
                flush()
        flush()
        for theme, count in zip(themes, counts, strict=True):
            Theme.objects.filter(pk=theme.pk).update(case_count=count)
        for i in range(30):
            done = i < 10
            ImprovementAction.objects.create(
                title=f"Action {i}", theme=themes[i % 40], owner=manager, status="done" if done
                else "in_progress", completed_at=now - dt.timedelta(days=20 + i) if done else None,
                due_date=(now + dt.timedelta(days=i - 10)).date(), you_said="You said it.",
                we_did="We did it.", published_at=now if done else None, created_at=now,
                updated_at=now,
            )  # fmt: skip
        for i in range(50):
            story = LearningStory.objects.create(
                kind="failure", title=f"Story {i}", what_happened="x", what_we_learned="y",
                for_onboarding=i % 5 == 0, author=manager, created_at=now, updated_at=now,
            )  # fmt: skip
            for team in teams:
                StoryCirculation.objects.create(story=story, team=team, circulated_at=now)
            StoryRead.objects.bulk_create(
                [StoryRead(story=story, staff=s, read_at=now) for s in rng.sample(staff, 10)]
            )
        Recognition.objects.bulk_create(
            [
                Recognition(
                    staff=rng.choice(staff), kind="compliment", message="Thank you so much",
                    case_reference="CH-AAAAAA", created_at=now - dt.timedelta(hours=i),
                )
                for i in range(20000)
            ],
            batch_size=5000,
        )  # fmt: skip
        survey = PulseSurvey.objects.create(
            title="Pulse", questions=["Service", "Tools", "Support"], opens_at=now,
            closes_at=now + dt.timedelta(days=7), created_at=now,
        )  # fmt: skip
        PulseResponse.objects.bulk_create(
            [
                PulseResponse(
                    survey=survey, team=rng.choice(teams),
                    answers={"0": rng.randint(1, 5), "1": rng.randint(1, 5), "2": 3},
                )
                for _ in range(200)
            ]
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    marker.write_text(json.dumps({"complaints": sum(counts)}))
    print(f"learning data added in {time.perf_counter() - started:.0f}s ({sum(counts):,} themed)")


def measure(requests: int) -> list[tuple[str, float, float, float, float, float, float]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cherish.learning.models import ImprovementAction, Policy, Theme
    from cherish.staff.models import PulseSurvey, Staff

    manager = Staff.objects.select_related("user").get(user__username="manager")
    client = Client()
    client.force_login(manager.user)
    theme = Theme.objects.order_by("-case_count").first()
    action = ImprovementAction.objects.filter(status="done").first()
    policy = Policy.objects.first()
    survey = PulseSurvey.objects.first()
    assert theme and action and policy and survey
    pages = [
        ("themes + rising", "/desk/learning/"),
        ("biggest theme", f"/desk/learning/themes/{theme.pk}/"),
        ("what complaints reveal", "/desk/learning/reveal/"),
        ("policy register", "/desk/learning/policies/"),
        ("one policy", f"/desk/learning/policies/{policy.pk}/"),
        ("improvement actions", "/desk/learning/actions/"),
        ("one done action (effect)", f"/desk/learning/actions/{action.pk}/"),
        ("learning stories", "/desk/learning/stories/"),
        ("weekly report", "/desk/learning/weekly/"),
        ("You said, we did (public)", "/you-said-we-did/"),
        ("recognition wall", "/desk/people/"),
        ("pulse results", f"/desk/people/pulse/{survey.pk}/"),
    ]
    results = []
    for label, url in pages:
        for _ in range(5):
            client.get(url)
        timings, cpu = [], []
        queries = 0
        for _ in range(requests):
            with CaptureQueriesContext(connection) as ctx:
                t, c = time.perf_counter(), time.process_time()
                response = client.get(url)
                timings.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            queries += len(ctx.captured_queries)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {url} answered {response.status_code}")
        results.append(
            (
                label,
                statistics.median(timings),
                bench_desk.percentile(timings, 95),
                max(timings),
                queries / requests,
                statistics.median(cpu),
                bench_desk.percentile(cpu, 95),
            )
        )
        print(f"  {label:30} done", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    out = bench_desk.configure(args.cases)
    t = time.perf_counter()
    bench_desk.build(out, args.cases, args.seed)
    print(f"database ready in {time.perf_counter() - t:.0f}s")
    populate(out, args.seed)
    from django.core.management import call_command

    from cherish.learning.actions import refresh_customer_counts

    t = time.perf_counter()
    call_command("migrate", verbosity=0)  # a data set built before a learning migration
    refresh_customer_counts()  # what learning_tick does once a day
    print(f"migrated and rolled up in {time.perf_counter() - t:.0f}s")
    if args.build_only:
        return
    rows = measure(args.requests)
    # CPU time (this process: view, ORM, SQLite, templates) depends far less on the other
    # processes sharing the machine than the wall time does.
    print(
        f"\n{'page':30} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}"
        f" {'CPU p50':>8} {'CPU p95':>8}"
    )
    for label, p50, p95, worst, queries, cpu50, cpu95 in rows:
        print(
            f"{label:30} {p50:8.1f} {p95:8.1f} {worst:8.1f} {queries:8.1f}"
            f" {cpu50:8.1f} {cpu95:8.1f}"
        )
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
