"""Train the shipped models from ``training_data/`` plus staff corrections.

``train(corrections, out_dir=...)`` writes a complete model directory (manifest + .npz files)
that ``Triager.load(model_dir)`` reads. Training is deterministic for the same inputs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rules
from .lexicons import LEXICON
from .linear import LinearModel, fit
from .paths import MODEL_DIR, TRAINING_DIR
from .result import DEFAULT_TOPICS, KINDS
from .text import N_BITS, featurise

FEATURES_ID = f"crc32-w12-c345-bin-l2-{N_BITS}b-v2"
KIND_CODES = {"c": "complaint", "i": "inquiry", "p": "compliment", "s": "suggestion"}
TOPIC_CODES = {
    "bil": "billing",
    "del": "delivery",
    "qual": "product quality",
    "staff": "service/staff",
    "acc": "account/access",
    "ref": "refund/returns",
    "tech": "technical",
    "oth": "other",
    "technical": "technical",
    "other": "other",
}
TRAINABLE_FIELDS = ("kind", "topic")
_SENT = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Example:
    text: str
    kind: str | None
    topic: str | None
    source: str
    weight: float = 1.0
    family: str | None = None  # CFPB product family


def _norm_topic(t: str) -> str:
    t = TOPIC_CODES.get(t, t)
    if t == "staff":
        return "service/staff"
    return t


def load_shipped(training_dir: Path = TRAINING_DIR) -> list[Example]:
    out: list[Example] = []
    for p in sorted(training_dir.glob("handwritten_*.tsv")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            k, t, text = line.split("\t", 2)
            out.append(Example(text, KIND_CODES[k], _norm_topic(t), f"hand:{p.stem}", 2.0))
    for name in ("banking77_mapped.tsv.gz", "bitext_mapped.tsv.gz", "ibm_labelled.tsv.gz"):
        w = 2.0 if name.startswith("ibm") else 1.0  # hand-labelled real messages
        with gzip.open(training_dir / name, "rt", encoding="utf-8") as f:
            for line in f:
                k, t, text = line.rstrip("\n").split("\t", 2)
                topic = None if t == "-" else _norm_topic(t)
                out.append(Example(text, KIND_CODES[k], topic, name.split("_")[0], w))
    with gzip.open(training_dir / "cfpb_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            row = json.loads(line)
            text = row["text"]
            out.append(Example(text, "complaint", None, "cfpb", 1.0, row["family"]))
            if i % 2 == 0:  # a short opening, so short complaints look like complaints too
                head = " ".join(_SENT.split(text)[:2])[:240]
                if len(head) > 40:
                    out.append(Example(head, "complaint", None, "cfpb-head", 0.5))
    return out


def kind_row(text: str) -> tuple[np.ndarray, np.ndarray]:
    return featurise(text, rules.kind_extras(rules.analyse(text)))


def train_kind(examples: Sequence[Example], c: float = 2.0) -> LinearModel:
    ex = [e for e in examples if e.kind]
    rows = [kind_row(e.text) for e in ex]
    w = np.array([e.weight for e in ex], dtype=np.float64)
    return fit(rows, [str(e.kind) for e in ex], sample_weight=w, c=c, classes=list(KINDS))


def train_topic(examples: Sequence[Example], c: float = 4.0) -> LinearModel:
    ex = [e for e in examples if e.topic]
    rows = [featurise(e.text) for e in ex]  # no extra block: topic reads the text only
    w = np.array([e.weight for e in ex], dtype=np.float64)
    labels = [str(e.topic) for e in ex]
    order = [t for t in DEFAULT_TOPICS if t in set(labels)] + sorted(
        set(labels) - set(DEFAULT_TOPICS)
    )
    return fit(rows, labels, sample_weight=w, c=c, classes=order)


def train_cfpb_topic(examples: Sequence[Example], c: float = 4.0) -> LinearModel:
    ex = [e for e in examples if e.family]
    rows = [featurise(e.text) for e in ex]
    return fit(rows, [str(e.family) for e in ex], c=c)


def corrections_to_examples(
    corrections: Iterable[tuple[str, str, str]], weight: float = 5.0
) -> tuple[list[Example], list[str]]:
    out: list[Example] = []
    skipped: list[str] = []
    for text, field, label in corrections:
        if field == "kind":
            if label not in KINDS:
                raise ValueError(f"unknown kind {label!r}")
            out.append(Example(text, label, None, "correction", weight))
        elif field == "topic":
            out.append(Example(text, None, label, "correction", weight))
        else:
            skipped.append(field)
    return out, skipped


def train_learned_fields(
    corrections: Sequence[tuple[str, str, str]],
    examples: Sequence[Example],
    base_dir: Path,
    out_dir: Path,
) -> dict[str, dict[str, object]]:
    """Fit the learned overrides of the rule-read fields staff corrected (see learned.py):
    the base engine labels a fixed sample of the shipped texts, the corrections are added."""
    from . import learned
    from .triager import Triager

    by_field = learned.group_corrections(corrections)
    if not by_field:
        return {}
    texts = [e.text for e in examples]
    step = max(len(texts) // learned.SILVER_TEXTS, 1)
    silver = texts[::step][: learned.SILVER_TEXTS]
    base = Triager.load(base_dir)
    base.learned = {}  # the rules' own reading, not an earlier model's overrides
    readings = [r.to_dict() for r in base.triage_batch(silver)]
    fitted = learned.train_learned(
        by_field, silver_texts=silver, silver_results=readings, featurise_row=kind_row
    )
    return learned.save(fitted, out_dir)


def train(
    corrections: Iterable[tuple[str, str, str]] = (),
    *,
    out_dir: Path,
    examples: Iterable[Example] = (),
    fields: Sequence[str] = ("kind", "topic", "cfpb_topic", "learned"),
    base_dir: Path = MODEL_DIR,
    training_dir: Path = TRAINING_DIR,
    correction_weight: float = 5.0,
    version: str | None = None,
) -> dict[str, object]:
    """Retrain from shipped data + extra examples + staff corrections (text, field, label).

    Kind and topic corrections become training examples of those models. Corrections of the
    rule-read fields (emotion, urgency, phase, language, flags "flag:<name>" yes/no) train
    learned overrides (``learned.py``) when "learned" is in ``fields``; otherwise they are
    counted as skipped. Fields not in ``fields`` are copied from ``base_dir``.
    Returns the manifest written to ``out_dir/manifest.json``.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shipped = load_shipped(training_dir)
    corrections = list(corrections)
    corr, skipped = corrections_to_examples(corrections, correction_weight)
    learned_entries: dict[str, dict[str, object]] = {}
    if "learned" in fields:
        from .learned import normalise

        learned_entries = train_learned_fields(corrections, shipped, base_dir, out_dir)
        skipped = [
            field
            for _, field, label in corrections
            if field not in TRAINABLE_FIELDS and normalise(field, label) is None
        ]
    allx = [*shipped, *examples, *corr]
    digest = hashlib.sha256()
    for e in allx:
        digest.update(f"{e.kind}|{e.topic}|{e.family}|{e.weight}|{e.text}\n".encode())
    digest.update(FEATURES_ID.encode())
    for text, field, label in corrections:  # learned overrides depend on every correction
        if field not in TRAINABLE_FIELDS:
            digest.update(f"{field}|{label}|{text}\n".encode())
    digest.update(json.dumps(LEXICON, sort_keys=True).encode())  # lexicon tokens are features
    base_manifest: dict[str, object] = {}
    if (base_dir / "manifest.json").exists():
        base_manifest = json.loads((base_dir / "manifest.json").read_text())
    files = {"kind": "kind.npz", "topic": "topic_general.npz", "cfpb_topic": "topic_cfpb.npz"}
    for field, fname in files.items():
        if field in fields:
            if field == "kind":
                model = train_kind(allx)
            elif field == "topic":
                model = train_topic(allx)
            else:
                model = train_cfpb_topic(allx)
            model.save(out_dir / fname)
        elif (base_dir / fname).resolve() != (out_dir / fname).resolve():
            shutil.copyfile(base_dir / fname, out_dir / fname)
    manifest: dict[str, object] = {
        "version": version or f"triage-{digest.hexdigest()[:10]}",
        "features": FEATURES_ID,
        "files": files,
        "topic_models": {"general": "topic", "cfpb": "cfpb_topic"},
        "retrained": list(fields),
        "base_version": base_manifest.get("version"),
        "training_counts": dict(Counter(e.source.split(":")[0] for e in allx)),
        "corrections_used": len(corr)
        + sum(int(str(e["corrections"])) for e in learned_entries.values()),
        "corrections_skipped_fields": dict(Counter(skipped)),
        "learned": learned_entries,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL_DIR
    print(json.dumps(train(out_dir=target), indent=2))
