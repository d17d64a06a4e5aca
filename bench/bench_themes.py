"""Complaint themes on real public text: quality against a bag-of-words k-means baseline,
clustering time for 100k complaints on one core, and the time to assign one new complaint.

Data: the CFPB Consumer Complaint Database narratives (U.S. public domain) gathered in the
shared data folder (see its SOURCE.md); nothing is copied into this repository. The
consumers' own product family (12 values) and issue (78 values) are the reference labels.

Run on one core:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 \
        .venv/bin/python bench/bench_themes.py [--data /work/shared/data] [--scale 100000]

Quality: adjusted mutual information (AMI) and cluster purity of ours (TF-IDF over words and
word pairs, LSA to 100 dimensions, k-means on unit vectors: cherish.learning.themes) against
the baseline (raw bag-of-words counts, k-means), at k = 12 (the product families) and at the
product's default k, on all narratives and on the balanced subset (at most 300 per product).
Speed: --scale complaints made by resampling narratives (sentences shuffled and dropped, so
no two are identical) are fitted and clustered exactly as re-clustering does, then a
complaint at a time is assigned with the words that drove it.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import adjusted_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cherish.learning import themes  # noqa: E402

CFPB = "cfpb_consumer_complaints"


def data_dir(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("CHERISH_SHARED_DATA"), "/work/shared/data"):
        if candidate and (Path(candidate) / CFPB).is_dir():
            return Path(candidate)
    for parent in ROOT.parents:
        if (parent / "shared" / "data" / CFPB).is_dir():
            return parent / "shared" / "data"
    raise SystemExit("CFPB data not found: pass --data <folder holding cfpb_consumer_complaints>")


def load(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(10**9)
    with path.open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r.get("narrative", "").strip()]


def purity(labels: list[str], clusters: np.ndarray) -> float:
    by_cluster: dict[int, Counter[str]] = {}
    for label, cluster in zip(labels, clusters, strict=True):
        by_cluster.setdefault(int(cluster), Counter())[label] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(labels)


def ours(texts: list[str], k: int, seed: int) -> np.ndarray:
    fitted = themes.fit_space(texts, seed=seed)
    return themes.cluster(fitted.vectors, k, seed=seed)[0]


def baseline(texts: list[str], k: int, seed: int) -> np.ndarray:
    counts = CountVectorizer(
        token_pattern=themes.TOKEN_PATTERN,
        stop_words=themes.stop_words(),
        min_df=2,
        max_features=themes.MAX_FEATURES,
    ).fit_transform(texts)
    return KMeans(n_clusters=k, n_init=3, random_state=seed, max_iter=100).fit_predict(counts)


def quality(rows: list[dict[str, str]], name: str, seeds: list[int]) -> None:
    texts = [r["narrative"] for r in rows]
    for label_name in ("product_family", "issue"):
        labels = [r.get(label_name) or "" for r in rows]
        keep = [i for i, label in enumerate(labels) if label]
        sub_texts = [texts[i] for i in keep]
        sub_labels = [labels[i] for i in keep]
        if len(set(sub_labels)) < 2:
            continue
        for k in (12, themes.default_theme_count(len(sub_texts))):
            scores: dict[str, list[tuple[float, float]]] = {"ours": [], "baseline": []}
            for seed in seeds:
                for method, fn in (("ours", ours), ("baseline", baseline)):
                    clusters = fn(sub_texts, k, seed)
                    scores[method].append(
                        (
                            adjusted_mutual_info_score(sub_labels, clusters),
                            purity(sub_labels, clusters),
                        )
                    )
            line = [f"{name:10} {label_name:15} n={len(sub_texts):5} k={k:3}"]
            for method in ("ours", "baseline"):
                ami = statistics.mean(s[0] for s in scores[method])
                pur = statistics.mean(s[1] for s in scores[method])
                line.append(f"{method} AMI {ami:.3f} purity {pur:.3f}")
            print(" | ".join(line), flush=True)


def names(rows: list[dict[str, str]], k: int = 12) -> None:
    """Theme names judged by their top words, with each cluster's majority product."""
    texts = [r["narrative"] for r in rows]
    labels = [r["product_family"] for r in rows]
    fitted = themes.fit_space(texts, seed=0)
    clusters, centroids = themes.cluster(fitted.vectors, k, seed=0)
    print(f"\nthemes at k={k} on {len(texts)} balanced narratives (name | majority product):")
    for c in range(k):
        members = [labels[i] for i in np.flatnonzero(clusters == c)]
        top, n = Counter(members).most_common(1)[0]
        name = themes.name_from_terms(fitted.space.top_terms(centroids[c : c + 1], n=5))
        print(f"  {len(members):4}  {name[:60]:60} | {top} {100 * n / len(members):.0f}%")


_SENTENCES = re.compile(r"(?<=[.!?])\s+")


def synthesize(texts: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sentences = _SENTENCES.split(rng.choice(texts))
        rng.shuffle(sentences)
        keep = [s for s in sentences if rng.random() > 0.2] or sentences[:1]
        out.append(" ".join(keep))
    return out


def speed(rows: list[dict[str, str]], n: int, seed: int) -> None:
    texts = synthesize([r["narrative"] for r in rows], n, seed)
    k = themes.default_theme_count(n)
    started = time.perf_counter()
    cpu = time.process_time()
    fitted = themes.fit_space(texts, seed=seed)
    fit_s = time.perf_counter() - started
    _, centroids = themes.cluster(fitted.vectors, k, seed=seed)
    cluster_s = time.perf_counter() - started - fit_s
    best, _ = themes.nearest(centroids, fitted.vectors)
    weights = fitted.space.term_weights(centroids)
    for row in range(len(texts)):
        themes.driving_words(fitted.tfidf[row], weights[best[row]], fitted.space.terms)
    total = time.perf_counter() - started
    print(
        f"\nclustering {n:,} complaints into {k} themes: fit {fit_s:.0f} s, k-means "
        f"{cluster_s:.0f} s, assign all with words {total - fit_s - cluster_s:.0f} s; "
        f"total {total:.0f} s wall, {time.process_time() - cpu:.0f} s CPU",
        flush=True,
    )
    space = themes.ThemeSpace.from_bytes(fitted.space.to_bytes())
    fresh = synthesize([r["narrative"] for r in rows], 2000, seed + 1)
    wall, cpu_ms = [], []
    for text in fresh:
        t, c = time.perf_counter(), time.thread_time()
        tfidf = space.tfidf([text])
        vector = space.project(tfidf)
        index, _ = themes.nearest(centroids, vector)
        themes.driving_words(tfidf[0], weights[int(index[0])], space.terms)
        wall.append((time.perf_counter() - t) * 1000)
        cpu_ms.append((time.thread_time() - c) * 1000)
    for label, values in (("wall", wall), ("CPU", cpu_ms)):
        values.sort()
        print(
            f"assigning one new complaint (vectorise, nearest theme, driving words), {label}: "
            f"p50 {values[len(values) // 2]:.2f} ms, p95 {values[int(len(values) * 0.95)]:.2f} ms"
            f" over {len(values)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    folder = data_dir(args.data) / CFPB
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    full = load(folder / "cfpb_narratives.csv")
    balanced = load(folder / "cfpb_narratives_balanced_300_per_family.csv")
    seeds = list(range(args.seeds))
    if not args.skip_quality:
        print(f"quality, mean of {len(seeds)} seeds (AMI: 0 = chance, 1 = the labels exactly):")
        quality(balanced, "balanced", seeds)
        quality(full, "all", seeds)
        names(balanced)
    if not args.skip_speed:
        speed(full, args.scale, seed=0)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
