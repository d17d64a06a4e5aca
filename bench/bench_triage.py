"""Triage throughput: messages per second per core, single calls and batches.

Run on one core:  taskset -c 0 python bench/bench_triage.py [--repeats 5]
Uses real text from ../shared/data (or $CHERISH_SHARED_DATA): inbound TWCS tweets, airline
tweets and CFPB complaint narratives (the long texts, ~1,300 characters). Prints, per corpus,
single-call and batch throughput in messages per second on the cores it may use (medians over
repeats) against the 1,000 msg/s per core batch target, plus the load average before and
after: other processes on a shared machine lower the figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cherish.triage.engine import Triager  # noqa: E402
from cherish.triage.engine.paths import shared_data_dir  # noqa: E402

TARGET = 1000  # batch messages per second per core (the brief)


def corpora(data: Path, n: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(
        data / "twcs_customer_support_twitter" / "twcs_random_tweets_5000.csv", encoding="utf-8"
    ) as f:
        out["twcs inbound tweets"] = [
            r["text"] for r in csv.DictReader(f) if r["inbound"] == "True"
        ][:n]
    with open(data / "twitter_airline_sentiment" / "airline_tweets.csv", encoding="utf-8") as f:
        out["airline tweets"] = [r["text"] for r in csv.DictReader(f)][:n]
    with open(
        data / "cfpb_consumer_complaints" / "cfpb_narratives_balanced_300_per_family.csv",
        encoding="utf-8",
    ) as f:
        out["cfpb narratives"] = [r["narrative"] for r in csv.DictReader(f)][: max(n // 4, 100)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5, help="at least 5")
    ap.add_argument("-n", type=int, default=1000, help="messages per corpus")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    args.repeats = max(args.repeats, 5)
    data = shared_data_dir()
    if not data.is_dir():
        sys.exit(f"shared data not found at {data} (set CHERISH_SHARED_DATA)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    t = time.perf_counter()
    tr = Triager.load()
    load_s = time.perf_counter() - t
    print(
        f"model {tr.version}; load {load_s * 1000:.0f} ms; cores available to this process: "
        f"{cores} (run under `taskset -c 0` for per-core figures)"
    )
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(
        f"{'corpus':22s} {'n':>5s} {'chars':>6s} {'single msg/s':>13s} {'p50 ms':>7s} "
        f"{'batch msg/s':>12s}  target (batch >= {TARGET:,}/s per core)"
    )
    for name, texts in corpora(data, args.n).items():
        tr.triage_batch(texts[:50])  # warm up
        singles, batches, lat = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for s in texts:
                t1 = time.perf_counter()
                tr.triage(s)
                lat.append(time.perf_counter() - t1)
            singles.append(len(texts) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for i in range(0, len(texts), args.batch):
                tr.triage_batch(texts[i : i + args.batch])
            batches.append(len(texts) / (time.perf_counter() - t0))
        chars = sum(map(len, texts)) / len(texts)
        batch = statistics.median(batches)  # one thread: msg/s is msg/s per core
        print(
            f"{name:22s} {len(texts):5d} {chars:6.0f} {statistics.median(singles):13,.0f} "
            f"{statistics.median(lat) * 1000:7.2f} {batch:12,.0f}  "
            f"{'met' if batch >= TARGET else 'MISSED'}"
        )
    print("load average (1, 5, 15 min) after:  " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
