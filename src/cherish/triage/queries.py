"""Reads for the triage panel: the case's signals and the latest reading, from the case row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cherish.cases.models import Case
from cherish.triage.actions import CORRECTABLE, TOPIC_CHOICES
from cherish.triage.case_signals import CASE_FLAGS, FLAG_LABELS

FIELD_LABELS = {
    "kind": "Kind",
    "emotion": "Emotion",
    "urgency": "Urgency",
    "topic": "Topic",
    "phase": "Phase",
    "language": "Language",
}


@dataclass(frozen=True)
class FlagRow:
    flag: str
    label: str
    at: dt.datetime | None
    source: str  # "message", "staff", "legacy" (before case-level signals) or "other" (a badge)
    words: list[str] = field(default_factory=list)
    by: str = ""
    reason: str = ""


@dataclass(frozen=True)
class CorrectionField:
    name: str
    label: str
    current: str
    choices: list[str]


@dataclass
class PanelError:
    form: str  # "correct", "add" or "clear"
    message: str
    field: str = ""
    flag: str = ""


def _when(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def raised_flags(case: Case) -> list[FlagRow]:
    """The case's raised flags, most alarming first, with where each came from. A badge
    another app set (care marks "urgent") shows as a flag too, so staff can clear it."""
    entries = (case.signals or {}).get("flags") or {}
    rows = []
    for flag in CASE_FLAGS:
        entry = entries.get(flag)
        if entry is None and flag not in (case.badges or []):
            continue
        entry = entry or {"source": "other"}
        rows.append(
            FlagRow(
                flag=flag,
                label=FLAG_LABELS[flag],
                at=_when(entry.get("at")),
                source=str(entry.get("source") or "other"),
                words=[str(w) for w in entry.get("words") or []],
                by=str(entry.get("by") or ""),
                reason=str(entry.get("reason") or ""),
            )
        )
    return rows


def cleared_flags(case: Case) -> list[FlagRow]:
    """Flags staff cleared and nothing raised again since, newest first."""
    raised = {row.flag for row in raised_flags(case)}
    rows = [
        FlagRow(
            flag=flag,
            label=FLAG_LABELS.get(flag, flag),
            at=_when(entry.get("at")),
            source="staff",
            by=str(entry.get("by") or ""),
            reason=str(entry.get("reason") or ""),
        )
        for flag, entry in ((case.signals or {}).get("cleared") or {}).items()
        if flag not in raised and isinstance(entry, dict)
    ]
    return sorted(rows, key=lambda r: r.at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)


def correction_fields(case: Case) -> list[CorrectionField]:
    reading = case.triage or {}
    out = []
    for name, allowed in CORRECTABLE.items():
        current = str(case.kind if name == "kind" else reading.get(name, "") or "")
        choices = list(allowed if allowed is not None else TOPIC_CHOICES)
        if current and current not in choices:
            choices.append(current)
        out.append(CorrectionField(name, FIELD_LABELS.get(name, name), current, choices))
    return out


def triage_panel(
    case: Case,
    *,
    error: PanelError | None = None,
    posted: Any = None,
    notice: str = "",
) -> dict[str, Any]:
    """Everything the panel shows, read from the case row alone (no query)."""
    reading = case.triage or {}
    raised = raised_flags(case)
    raised_names = {row.flag for row in raised}
    addable = [(flag, FLAG_LABELS[flag]) for flag in CASE_FLAGS if flag not in raised_names]
    if error is not None and (
        (error.form == "clear" and error.flag not in raised_names)
        or (error.form == "add" and not addable)
    ):
        # The form it came from is not on the panel any more (someone else changed the
        # flags meanwhile): show the refusal at the top rather than nowhere.
        error = PanelError("general", error.message, error.field, error.flag)
    return {
        "case": case,
        "t": reading,
        "reasons": sorted((reading.get("reasons") or {}).items()),
        "flags": raised,
        "cleared": cleared_flags(case),
        "addable": addable,
        "tenure": (case.signals or {}).get("stated_tenure"),
        "fields": correction_fields(case),
        "error": error,
        "posted": posted or {},
        "notice": notice,
    }
