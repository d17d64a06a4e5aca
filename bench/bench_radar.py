"""Silent-churn radar: precision/recall of the top decile against a recency-only baseline.

The synthetic history (documented generator, seeded and reproducible):

* N customers (default 50,000), two years of purchases before AS_OF, about 1,000,000
  transactions in all. Each customer has their own rhythm: a median gap drawn log-normally
  (5 to 180 days, median ~25), each gap jittered ±40%.
* About 15% are known leavers (the ground truth: they will not buy again after AS_OF):
  - 50% drift away: over their last five purchases each gap grows 1.3-1.7×, then they stop;
  - 30% had a problem: a complaint 20-80 days ago (half still open and unanswered, half
    with an angry or frustrated triage result), and no purchase since;
  - 20% leave silently with no trace at all (noise: nothing can find them).
* Noise among the stayers, so recency alone is misleading:
  - 20% buy rarely (rhythm 90-180 days): a long gap is normal for them;
  - 10% are on a break of up to 1.3 gaps (a holiday), within their rhythm;
  - 5% complained, were sorted out and bought again since.

The baseline ranks customers by days since their last purchase. The radar is
cherish.outreach.radar.compute_churn_scores run on the real database (bulk SQL + one
streamed pass). Both are judged on the top 10% of customers they rank highest.

    .venv/bin/python bench/bench_radar.py [--customers 50000] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
AS_OF = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
HISTORY_DAYS = 730


def configure(n: int, fresh: bool) -> Path:
    out = ROOT / "bench" / "out" / f"radar-{n}"
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(out)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    return out


def purchases(
    rng: random.Random, rhythm: float, end: dt.datetime, drift: bool
) -> list[dt.datetime]:
    """Purchase times going back from ``end`` until two years before AS_OF."""
    times = []
    at = end
    start = AS_OF - dt.timedelta(days=HISTORY_DAYS)
    gap_factor = 1.0
    k = 0
    while at > start:
        times.append(at)
        gap = rhythm * rng.uniform(0.6, 1.4)
        if drift and k < 5:
            # Going back in time from the last purchase: the recent gaps are the long ones.
            gap_factor = rng.uniform(1.3, 1.7) ** (5 - k)
            gap *= gap_factor / 2
        at -= dt.timedelta(days=gap)
        k += 1
    return times


def build(n: int, seed: int) -> tuple[set[int], int]:
    from django.core.management import call_command
    from django.db import transaction

    from cherish.cases.models import Case
    from cherish.customers.actions import TransactionRow, upsert_transactions
    from cherish.customers.models import Customer

    call_command("migrate", verbosity=0)
    rng = random.Random(seed)
    with transaction.atomic():
        Customer.objects.bulk_create(
            [Customer(name=f"Customer {i}", status="active") for i in range(n)], batch_size=2000
        )
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    leavers: set[int] = set()
    cases: list[Case] = []

    def rows():
        for pk in ids:
            rhythm = min(180.0, max(5.0, math.exp(rng.gauss(math.log(25), 0.7))))
            roll = rng.random()
            end = AS_OF - dt.timedelta(days=rng.uniform(0, rhythm))
            drift = False
            if roll < 0.15:  # a leaver
                leavers.add(pk)
                kind = rng.random()
                if kind < 0.5:
                    drift = True
                    end = AS_OF - dt.timedelta(days=rhythm * rng.uniform(1.5, 3))
                elif kind < 0.8:
                    complained = AS_OF - dt.timedelta(days=rng.uniform(20, 80))
                    end = complained - dt.timedelta(days=rng.uniform(1, rhythm))
                    still_open = rng.random() < 0.5
                    cases.append(_case(pk, complained, open_=still_open, angry=not still_open))
                else:
                    end = AS_OF - dt.timedelta(days=rng.uniform(0, rhythm * 1.2))
            else:
                noise = rng.random()
                if noise < 0.20:
                    rhythm = rng.uniform(90, 180)
                    end = AS_OF - dt.timedelta(days=rng.uniform(0, rhythm))
                elif noise < 0.30:
                    end = AS_OF - dt.timedelta(days=rhythm * rng.uniform(1.0, 1.3))
                elif noise < 0.35:
                    complained = AS_OF - dt.timedelta(days=rng.uniform(30, 200))
                    cases.append(_case(pk, complained, open_=False, angry=False))
                    end = complained + dt.timedelta(days=rng.uniform(2, 25))
                    end = min(end, AS_OF)
            for i, at in enumerate(purchases(rng, rhythm, end, drift)):
                yield TransactionRow(
                    customer_id=pk,
                    external_id=f"{pk}-{i}",
                    kind="order",
                    occurred_at=at,
                    amount=Decimal(rng.randint(500, 9000)) / 100,
                    currency="GBP",
                    status="completed",
                )

    def _case(pk: int, at: dt.datetime, *, open_: bool, angry: bool) -> Case:
        return Case(
            customer_id=pk,
            kind="complaint",
            is_open=open_,
            stage="received" if open_ else "closed",
            created_at=at,
            updated_at=at,
            last_inbound_at=at,
            first_response_at=None if open_ else at + dt.timedelta(hours=4),
            closed_at=None if open_ else at + dt.timedelta(days=3),
            triage={"emotion": rng.choice(["anger", "frustration"]), "intensity": 0.8}
            if angry
            else {"emotion": "neutral", "intensity": 0.1},
        )

    written = upsert_transactions(rows())
    with transaction.atomic():
        Case.objects.bulk_create(cases, batch_size=2000)
    return leavers, written


def top_decile(scores: dict[int, float], n: int) -> set[int]:
    k = n // 10
    return {pk for pk, _ in sorted(scores.items(), key=lambda kv: -kv[1])[:k]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    configure(args.customers, fresh=True)
    t0 = time.perf_counter()
    leavers, written = build(args.customers, args.seed)
    print(
        f"generated {args.customers} customers, {written} transactions, "
        f"{len(leavers)} known leavers in {time.perf_counter() - t0:.1f} s"
    )

    from cherish.outreach.models import ChurnScore
    from cherish.outreach.radar import compute_churn_scores, recency_only

    t0 = time.perf_counter()
    stored = compute_churn_scores(as_of=AS_OF)
    radar_s = time.perf_counter() - t0
    radar = dict(ChurnScore.objects.values_list("customer_id", "score"))
    t0 = time.perf_counter()
    baseline = recency_only(AS_OF)
    baseline_s = time.perf_counter() - t0
    print(f"radar scored {stored} customers in {radar_s:.1f} s (baseline query {baseline_s:.1f} s)")
    print(f"{'ranking':24s} {'precision@10%':>14s} {'recall@10%':>11s}")
    for name, scores in (("recency only (baseline)", baseline), ("churn radar", radar)):
        top = top_decile(scores, args.customers)
        hits = len(top & leavers)
        print(f"{name:24s} {hits / len(top):14.3f} {hits / len(leavers):11.3f}")
    sample = ChurnScore.objects.filter(customer_id__in=list(leavers)[:2000]).order_by("-score")[:3]
    for s in sample:
        print(f"  e.g. {s.score:.2f}: {'; '.join(s.reasons)}")


if __name__ == "__main__":
    main()
