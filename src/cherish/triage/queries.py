"""Reads for the triage panel: the case's signals and the latest reading, from the case row."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from django.utils.translation import get_language, gettext_lazy, pgettext_lazy, trans_real

from cherish.cases.models import Case
from cherish.triage.actions import CORRECTABLE, TOPIC_CHOICES
from cherish.triage.case_signals import CASE_FLAGS, FLAG_LABELS

_ = gettext_lazy
FIELD_LABELS = {
    "kind": _("Kind"),
    "emotion": _("Emotion"),
    "urgency": _("Urgency"),
    "topic": _("Topic"),
    "phase": _("Phase"),
    "language": _("Language"),
}
# The engine's readings are stored as plain codes; these are the words staff read for them.
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "kind": {
        "complaint": _("complaint"),
        "inquiry": _("inquiry"),
        "compliment": _("compliment"),
        "suggestion": _("suggestion"),
    },
    "emotion": {
        "anger": _("anger"),
        "frustration": _("frustration"),
        "disappointment": _("disappointment"),
        "worry": _("worry"),
        "gratitude": _("gratitude"),
        "neutral": _("neutral"),
    },
    "urgency": {
        "low": pgettext_lazy("urgency", "low"),
        "normal": pgettext_lazy("urgency", "normal"),
        "high": pgettext_lazy("urgency", "high"),
        "critical": pgettext_lazy("urgency", "critical"),
    },
    "topic": {
        "billing": _("billing"),
        "delivery": _("delivery"),
        "product quality": _("product quality"),
        "service/staff": _("service/staff"),
        "account/access": _("account/access"),
        "refund/returns": _("refund/returns"),
        "technical": _("technical"),
        "other": _("other"),
    },
    "phase": {
        "before": _("before the transaction"),
        "during": _("during the transaction"),
        "after": _("after the transaction"),
    },
    "language": {
        "en": _("English"),
        "de": _("German"),
        "fr": _("French"),
        "es": _("Spanish"),
        "nl": _("Dutch"),
        "pt": _("Portuguese"),
        "it": _("Italian"),
    },
}
# The engine writes its urgency reason in English words (stored on the case); these patterns
# give staff the same sentence in their language. Unknown shapes are shown as stored.
_REASONS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"safety risk \((?P<words>.*)\)"), _("safety risk (%(words)s)")),
    (
        re.compile(r"vulnerable customer with a time-critical need \((?P<words>.*)\)"),
        _("vulnerable customer with a time-critical need (%(words)s)"),
    ),
    (re.compile(r"vulnerable customer \((?P<words>.*)\)"), _("vulnerable customer (%(words)s)")),
    (re.compile(r"time-critical \((?P<words>.*)\)"), _("time-critical (%(words)s)")),
    (
        re.compile(r"(?P<threats>[a-z +]+) risk \((?P<words>.*)\)"),
        _("%(threats)s risk (%(words)s)"),
    ),
    (
        re.compile(r"strong (?P<emotion>[a-z]+) \(intensity (?P<intensity>[0-9.]+)\)"),
        _("strong %(emotion)s (intensity %(intensity)s)"),
    ),
    (re.compile(r"(?P<kind>[a-z]+); no safety risk"), _("%(kind)s; no safety risk")),
    (re.compile(r"(?P<kind>[a-z]+) without risk signals"), _("%(kind)s without risk signals")),
    (re.compile(r"learned from staff corrections"), _("learned from staff corrections")),
]
_THREATS = {"legal": _("legal"), "public": _("going public"), "leaving": _("leaving")}
# Fixed phrases the engine puts among its reasons (the rest are the customer's own words).
_REASON_WORDS = {
    "no risk words": _("no risk words"),
    "learned from staff corrections": _("learned from staff corrections"),
    "default": _("default"),
}


def value_label(name: str, value: Any) -> str:
    """The word staff read for one stored reading (``kind`` "complaint" → "Beschwerde")."""
    text = str(value or "")
    return str(VALUE_LABELS.get(name, {}).get(text, text))


def urgency_reason_label(reason: str) -> str:
    """The engine's stored urgency reason, in the active language where its shape is known."""
    for pattern, template in _REASONS:
        match = pattern.fullmatch(reason or "")
        if match is None:
            continue
        parts = match.groupdict()
        if "kind" in parts:
            parts["kind"] = value_label("kind", parts["kind"])
        if "emotion" in parts:
            parts["emotion"] = value_label("emotion", parts["emotion"])
        if "threats" in parts:
            threats = [t.strip() for t in parts["threats"].split("+")]
            if not all(t in _THREATS for t in threats):
                return reason
            parts["threats"] = " + ".join(str(_THREATS[t]) for t in threats)
        return str(template) % parts
    return reason


def reading_labels(reading: dict[str, Any]) -> dict[str, Any]:
    """The latest reading's values as staff read them (see VALUE_LABELS)."""
    from cherish.triage.case_signals import FLAG_LABELS

    labels: dict[str, Any] = {name: value_label(name, reading.get(name)) for name in VALUE_LABELS}
    labels["urgency_reason"] = urgency_reason_label(str(reading.get("urgency_reason") or ""))
    labels["flags"] = [(f, str(FLAG_LABELS.get(f, f))) for f in reading.get("flags") or []]
    labels["corrected"] = [str(FIELD_LABELS.get(f, f)) for f in reading.get("corrected") or []]
    return labels


def reason_lines(reading: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The engine's reasons per field, with field names and its fixed phrases translated."""
    reasons = reading.get("reasons") or {}
    lines = []
    for name, words in sorted(reasons.items()):
        label = FIELD_LABELS.get(name) or _REASON_FIELDS.get(name, name)
        shown = [str(_REASON_WORDS.get(str(w), w)) for w in words or []]
        lines.append((str(label), shown))
    return lines


_REASON_FIELDS = {
    "intensity": _("Intensity"),
    "flags": _("Risk words"),
    "kind_scores": _("Kind scores"),
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
    choices: list[tuple[str, str]]


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
                label=str(FLAG_LABELS[flag]),
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
            label=str(FLAG_LABELS.get(flag, flag)),
            at=_when(entry.get("at")),
            source="staff",
            by=str(entry.get("by") or ""),
            reason=str(entry.get("reason") or ""),
        )
        for flag, entry in ((case.signals or {}).get("cleared") or {}).items()
        if flag not in raised and isinstance(entry, dict)
    ]
    return sorted(rows, key=lambda r: r.at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)


# The correction form's choices with their labels, per translation catalogue: the same ~50
# labels on every case page (translating them each time was ~0.5 ms of its CPU). Keyed by
# Django's catalogue object, so catalogues Django reloads (tests changing LOCALE_PATHS) start
# afresh.
_LABELLED: WeakKeyDictionary[Any, dict[str, list[tuple[str, str]]]] = WeakKeyDictionary()


def _labelled_choices(name: str, allowed: Any) -> list[tuple[str, str]]:
    language = get_language()
    if language is None:
        return [
            (value, value_label(name, value))
            for value in (allowed if allowed is not None else TOPIC_CHOICES)
        ]
    catalogue = trans_real.translation(language)
    labelled = _LABELLED.get(catalogue)
    if labelled is None:
        labelled = _LABELLED[catalogue] = {}
    found = labelled.get(name)
    if found is None:
        choices = allowed if allowed is not None else TOPIC_CHOICES
        found = labelled[name] = [(value, value_label(name, value)) for value in choices]
    return found


def correction_fields(case: Case) -> list[CorrectionField]:
    reading = case.triage or {}
    out = []
    for name, allowed in CORRECTABLE.items():
        current = str(case.kind if name == "kind" else reading.get(name, "") or "")
        labelled = _labelled_choices(name, allowed)
        if current and all(value != current for value, _label in labelled):
            labelled = [*labelled, (current, value_label(name, current))]
        out.append(CorrectionField(name, str(FIELD_LABELS.get(name, name)), current, labelled))
    return out


# The panel's forms that are written out only when asked for: "Correct it" (six lists of
# choices, ~50 options) and "Add a flag". Closed, they load over HTMX when opened, or open on
# the panel's own page without JavaScript (triage.views); most views of a case open neither.
ON_DEMAND_FORMS = ("correct", "add")


def triage_panel(
    case: Case,
    *,
    error: PanelError | None = None,
    posted: Any = None,
    notice: str = "",
    show: str = "",
) -> dict[str, Any]:
    """Everything the panel shows, read from the case row alone (no query).

    The forms in ON_DEMAND_FORMS are in it only when ``show`` names one, or when it was
    refused (written out again with the refusal and what was typed): ``fields`` is None and
    ``add_form`` False otherwise."""
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
    shown = {show} | ({error.form} if error is not None else set())
    return {
        "case": case,
        "t": reading,
        "reasons": reason_lines(reading),
        "labels": reading_labels(reading),
        "flags": raised,
        "cleared": cleared_flags(case),
        "addable": addable,
        "tenure": (case.signals or {}).get("stated_tenure"),
        "fields": correction_fields(case) if "correct" in shown else None,
        "add_form": "add" in shown,
        "error": error,
        "posted": posted or {},
        "notice": notice,
    }
