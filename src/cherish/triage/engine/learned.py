"""What staff corrections teach the rule-read fields: emotion, urgency, phase, language, flags.

Kind and topic are linear models, so a correction simply becomes a training example. The other
fields are read by rules (lexicons, scores), which cannot learn. For each of them that staff
corrected, training fits a *pair* of small linear models on the same features as the kind
model:

- ``base``: trained on shipped texts labelled by the rules themselves (what the rules say);
- ``tuned``: the same, plus the staff corrections, weighted up.

At inference a field changes only where the two disagree and the tuned one is confident: the
corrections alter the reading of texts like the corrected ones and leave everything else to
the rules (a lone tuned model would also differ from the rules wherever it imitates them
imperfectly). Pure numpy at inference; scikit-learn only when training.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .linear import LinearModel, fit
from .result import EMOTIONS, FLAGS, PHASES, URGENCIES

# field -> the values a correction may carry ("flag:<name>" fields take "yes"/"no").
LEARNED_FIELDS: dict[str, tuple[str, ...]] = {
    "emotion": EMOTIONS,
    "urgency": URGENCIES,
    "phase": PHASES,
    "language": (),  # any code the detector knows
    **{f"flag:{flag}": ("no", "yes") for flag in FLAGS},
}
# The case-level flags read from emotion and urgency teach those fields when raised by hand.
_FLAG_AS_FIELD = {"flag:angry": ("emotion", "anger"), "flag:urgent": ("urgency", "critical")}
MIN_CONFIDENCE = 0.5
SILVER_TEXTS = 3000  # shipped texts the rules label for each field's pair of models
CORRECTION_WEIGHT = 10.0

Row = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class LearnedField:
    base: LinearModel | None  # None when the rules gave one value to every shipped text
    tuned: LinearModel
    corrections: int
    base_constant: str = ""

    def override(self, idx: np.ndarray, val: np.ndarray) -> str | None:
        """The value the corrections teach for this text, or None (keep the rules' value)."""
        p_tuned = self.tuned.proba(idx, val)
        k = int(np.argmax(p_tuned))
        taught = self.tuned.classes[k]
        if self.base is None:
            said = self.base_constant
        else:
            said = self.base.classes[int(np.argmax(self.base.proba(idx, val)))]
        if taught != said and float(p_tuned[k]) >= MIN_CONFIDENCE:
            return taught
        return None


def normalise(field: str, value: str) -> tuple[str, str] | None:
    """(field, value) as the learned models use it, or None for what they cannot learn."""
    if field in _FLAG_AS_FIELD:
        # Raising "angry" by hand says the emotion is anger; clearing it does not say which
        # emotion it was instead, so only a raise is a label.
        target, label = _FLAG_AS_FIELD[field]
        return (target, label) if value == "yes" else None
    allowed = LEARNED_FIELDS.get(field)
    if allowed is None or (allowed and value not in allowed) or not value:
        return None
    return field, value


def silver_label(field: str, result: Mapping[str, object]) -> str:
    """What the rules said for ``field`` in a triage result (a TriageResult.to_dict())."""
    if field.startswith("flag:"):
        return "yes" if field[5:] in (result.get("flags") or []) else "no"  # type: ignore[operator]
    return str(result.get(field, ""))


def group_corrections(
    corrections: Iterable[tuple[str, str, str]],
) -> dict[str, list[tuple[str, str]]]:
    """field -> [(text, value)] for the corrections the learned models use."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, field, value in corrections:
        found = normalise(field, value)
        if found is not None and text.strip():
            out[found[0]].append((text, found[1]))
    return dict(out)


def train_learned(
    by_field: Mapping[str, Sequence[tuple[str, str]]],
    *,
    silver_texts: Sequence[str],
    silver_results: Sequence[Mapping[str, object]],
    featurise_row: object,
    c: float = 2.0,
) -> dict[str, LearnedField]:
    """Fit the (base, tuned) pair for every field staff corrected.

    ``silver_results`` are the base engine's readings of ``silver_texts``; ``featurise_row``
    turns a text into the kind model's feature row.
    """
    rows = [featurise_row(t) for t in silver_texts]  # type: ignore[operator]
    out: dict[str, LearnedField] = {}
    for field, examples in sorted(by_field.items()):
        labels = [silver_label(field, r) for r in silver_results]
        corrected_rows = [featurise_row(t) for t, _ in examples]  # type: ignore[operator]
        corrected_labels = [v for _, v in examples]
        classes = sorted(set(labels) | set(corrected_labels))
        if len(classes) < 2:
            continue  # the corrections agree with the rules everywhere: nothing to learn
        # The base model sees the silver labels only: where it and the tuned model differ is
        # exactly what the corrections changed.
        base = fit(rows, labels, c=c, classes=classes) if len(set(labels)) > 1 else None
        weights = np.concatenate(
            [np.ones(len(rows)), np.full(len(corrected_rows), CORRECTION_WEIGHT)]
        )
        tuned = fit(
            [*rows, *corrected_rows],
            [*labels, *corrected_labels],
            sample_weight=weights,
            c=c,
            classes=classes,
        )
        out[field] = LearnedField(
            base=base,
            tuned=tuned,
            corrections=len(examples),
            base_constant="" if base is not None else labels[0],
        )
    return out


def file_name(field: str, which: str) -> str:
    return f"learned_{field.replace(':', '_')}_{which}.npz"


def save(learned: Mapping[str, LearnedField], out_dir: Path) -> dict[str, dict[str, object]]:
    """Write the models; the manifest entry for each field."""
    entries: dict[str, dict[str, object]] = {}
    for field, pair in learned.items():
        entry: dict[str, object] = {"corrections": pair.corrections}
        if pair.base is not None:
            entry["base"] = file_name(field, "base")
            pair.base.save(out_dir / str(entry["base"]))
        else:
            entry["base_constant"] = pair.base_constant
        entry["tuned"] = file_name(field, "tuned")
        pair.tuned.save(out_dir / str(entry["tuned"]))
        entries[field] = entry
    return entries


def load(model_dir: Path, entries: Mapping[str, Mapping[str, object]]) -> dict[str, LearnedField]:
    return {
        field: LearnedField(
            base=LinearModel.load(model_dir / str(entry["base"])) if "base" in entry else None,
            tuned=LinearModel.load(model_dir / str(entry["tuned"])),
            corrections=int(entry.get("corrections", 0)),  # type: ignore[call-overload]
            base_constant=str(entry.get("base_constant", "")),
        )
        for field, entry in entries.items()
    }
