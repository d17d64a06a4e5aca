"""Case-level risk signals: what a case has shown over its whole history, not its last message.

``Case.signals`` is a small JSON document, kept on the case row so the inbox, the at-risk
view and sorting read it without a join (the inbox is benchmarked at 1M cases)::

    {"flags":   {"leaving": {"at": iso, "source": "message", "message_id": 12,
                             "words": ["take my business elsewhere"]},
                 "legal":   {"at": iso, "source": "staff", "by": "Alice Agent",
                             "by_id": 3, "reason": "Phoned: said he has a solicitor"}},
     "cleared": {"angry":   {"at": iso, "by": "Alice Agent", "by_id": 3,
                             "reason": "Calm after the refund", "raised_at": iso}},
     "emotion": {"emotion": "anger", "intensity": 0.83, "message_id": 12},
     "urgency": {"level": "high", "message_id": 12},
     "stated_tenure": {"years": 8, "since_year": null, "words": "loyal for eight years",
                       "message_id": 12, "at": iso}}

A message can raise a flag, or strengthen the emotion and urgency on record; it never lowers
them. Only a person lowers them: clearing a flag (with a reason) or correcting a field. The
functions here are pure (no database); ``cherish.triage.actions`` stores their results and
writes the events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _

from cherish.triage.engine.result import FLAGS, URGENCIES

# The flags a case can carry, most alarming first (also the order of the inbox badges).
# "urgent" and "angry" are read from urgency and emotion; the rest are the engine's flags.
CASE_FLAGS = ("urgent", "angry", "safety", "vulnerable", "legal", "leaving", "public")
FLAG_LABELS = {
    "urgent": _("Urgent"),
    "angry": _("Angry"),
    "safety": _("Safety risk"),
    "vulnerable": _("Vulnerable customer"),
    "legal": _("Legal threat"),
    "leaving": _("Leaving"),
    "public": _("Going public"),
}
ANGRY_EMOTIONS = frozenset({"anger", "frustration"})
NEGATIVE_EMOTIONS = frozenset({"anger", "frustration", "disappointment", "worry"})
ANGRY_INTENSITY = 0.5
# Intensity assumed for an "angry" flag a person raised (no reading to take it from).
STAFF_ANGRY_INTENSITY = 0.75
MAX_BONUS = 30
_URGENCY_RANK = {u: i for i, u in enumerate(URGENCIES)}
_RISK_FLAGS = frozenset(FLAGS)


def raised_flags(signals: dict[str, Any] | None) -> list[str]:
    """The flags raised on the case, most alarming first."""
    flags = (signals or {}).get("flags") or {}
    return [flag for flag in CASE_FLAGS if flag in flags]


def flags_in(result: dict[str, Any]) -> list[str]:
    """The case flags one triage result raises."""
    found = [flag for flag in result.get("flags") or [] if flag in _RISK_FLAGS]
    if result.get("urgency") == "critical":
        found.append("urgent")
    if (
        result.get("emotion") in ANGRY_EMOTIONS
        and float(result.get("intensity") or 0) >= ANGRY_INTENSITY
    ):
        found.append("angry")
    return [flag for flag in CASE_FLAGS if flag in found]


def _evidence(result: dict[str, Any], flag: str) -> list[str]:
    """The words that raised ``flag`` (the engine's reasons), at most three."""
    reasons = result.get("reasons") or {}
    if flag == "urgent":
        return [str(w) for w in (reasons.get("urgency") or [])][:3]
    if flag == "angry":
        return [str(w) for w in (reasons.get("emotion") or [])][:3]
    for line in reasons.get("flags") or []:
        name, _, words = str(line).partition(": ")
        if name == flag:
            return [w.strip() for w in words.split(",") if w.strip()][:3]
    return []


def merge_result(
    signals: dict[str, Any] | None,
    result: dict[str, Any],
    *,
    message_id: int,
    at: dt.datetime,
) -> tuple[dict[str, Any], list[str]]:
    """Fold one message's triage result into the case's signals.

    Returns the new signals and the flags this message newly raised. Nothing is lowered: a
    polite "thanks" after an angry, leaving message leaves "angry" and "leaving" raised.
    """
    merged = dict(signals or {})
    flags = dict(merged.get("flags") or {})
    raised = []
    for flag in flags_in(result):
        if flag in flags:
            continue
        flags[flag] = {
            "at": at.isoformat(),
            "source": "message",
            "message_id": message_id,
            "words": _evidence(result, flag),
        }
        raised.append(flag)
    merged["flags"] = flags

    emotion = str(result.get("emotion") or "")
    intensity = round(float(result.get("intensity") or 0), 3)
    held = merged.get("emotion") or {}
    if emotion in NEGATIVE_EMOTIONS and intensity > float(held.get("intensity") or 0):
        merged["emotion"] = {"emotion": emotion, "intensity": intensity, "message_id": message_id}

    urgency = str(result.get("urgency") or "")
    held_urgency = (merged.get("urgency") or {}).get("level", "low")
    if urgency in _URGENCY_RANK and _URGENCY_RANK[urgency] > _URGENCY_RANK.get(held_urgency, 0):
        merged["urgency"] = {"level": urgency, "message_id": message_id}

    tenure = result.get("stated_tenure")
    if isinstance(tenure, dict):
        years = tenure.get("years")
        if years is None and tenure.get("since_year"):
            years = max(at.year - int(tenure["since_year"]), 0)
        held = merged.get("stated_tenure")
        # The longest claim is kept; a vague one ("for many years") only when there is none.
        if (years is not None and years > int((held or {}).get("years") or 0)) or not held:
            merged["stated_tenure"] = {
                "years": int(years) if years is not None else None,
                "since_year": tenure.get("since_year"),
                "words": str(tenure.get("words") or "")[:120],
                "message_id": message_id,
                "at": at.isoformat(),
            }
    return merged, raised


def with_flag(
    signals: dict[str, Any] | None,
    flag: str,
    *,
    at: dt.datetime,
    by_id: int | None,
    by_name: str,
    reason: str,
) -> dict[str, Any]:
    """The signals with ``flag`` raised by a person."""
    merged = dict(signals or {})
    flags = dict(merged.get("flags") or {})
    flags[flag] = {
        "at": at.isoformat(),
        "source": "staff",
        "by": by_name,
        "by_id": by_id,
        "reason": reason,
    }
    merged["flags"] = flags
    if flag == "angry" and not merged.get("emotion"):
        merged["emotion"] = {"emotion": "anger", "intensity": STAFF_ANGRY_INTENSITY}
    return merged


def without_flag(
    signals: dict[str, Any] | None,
    flag: str,
    *,
    at: dt.datetime,
    by_id: int | None,
    by_name: str,
    reason: str,
) -> dict[str, Any]:
    """The signals with ``flag`` cleared by a person; the latest clear per flag is kept."""
    merged = dict(signals or {})
    flags = dict(merged.get("flags") or {})
    was = flags.pop(flag, {})
    merged["flags"] = flags
    cleared = dict(merged.get("cleared") or {})
    cleared[flag] = {
        "at": at.isoformat(),
        "by": by_name,
        "by_id": by_id,
        "reason": reason,
        "raised_at": was.get("at", ""),
    }
    merged["cleared"] = cleared
    if flag == "angry":
        merged.pop("emotion", None)  # the priority no longer counts an emotion staff cleared
    return merged


def badges(
    existing: list[str] | None, signals: dict[str, Any] | None, *, removing: str = ""
) -> list[str]:
    """Inbox badges: the case's flags first, then badges other apps set (care's overdue,
    escalated). A badge is only ever removed on purpose (``removing``: a flag staff cleared),
    so one set elsewhere (care marks "urgent" after an assessment) survives new messages."""
    existing = list(existing or [])
    shown = set(raised_flags(signals)) | set(existing)
    flags = [flag for flag in CASE_FLAGS if flag in shown and flag != removing]
    others = [b for b in existing if b not in CASE_FLAGS]
    return [*flags, *others]


def priority_bonus(signals: dict[str, Any] | None) -> int:
    """What the case's raised signals add to its inbox priority (0-30)."""
    signals = signals or {}
    raised = raised_flags(signals)
    bonus = 4 * sum(1 for flag in raised if flag in _RISK_FLAGS)
    if "angry" in raised:
        intensity = float((signals.get("emotion") or {}).get("intensity") or STAFF_ANGRY_INTENSITY)
        bonus += round(8 * intensity)
    level = (signals.get("urgency") or {}).get("level")
    if "urgent" in raised:
        bonus += 10
    elif level in ("high", "critical"):  # critical but cleared by staff: still pressing
        bonus += 5
    return min(bonus, MAX_BONUS)


def without_personal_text(signals: dict[str, Any] | None) -> dict[str, Any]:
    """The signals without the customer's words or staff's free text (for erasure)."""
    clean: dict[str, Any] = {}
    for key, value in (signals or {}).items():
        if key in ("flags", "cleared") and isinstance(value, dict):
            clean[key] = {
                flag: {k: v for k, v in (entry or {}).items() if k not in ("words", "reason")}
                for flag, entry in value.items()
            }
        elif key == "stated_tenure" and isinstance(value, dict):
            clean[key] = {k: v for k, v in value.items() if k != "words"}
        else:
            clean[key] = value
    return clean
