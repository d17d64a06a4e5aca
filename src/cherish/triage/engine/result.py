"""The result of triaging one message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("complaint", "inquiry", "compliment", "suggestion")
EMOTIONS = ("anger", "frustration", "disappointment", "worry", "gratitude", "neutral")
URGENCIES = ("low", "normal", "high", "critical")
FLAGS = ("leaving", "legal", "public", "vulnerable", "safety")
PHASES = ("before", "during", "after")
DEFAULT_TOPICS = (
    "billing",
    "delivery",
    "product quality",
    "service/staff",
    "account/access",
    "refund/returns",
    "technical",
    "other",
)


@dataclass(frozen=True)
class TriageResult:
    kind: str
    kind_confidence: float
    emotion: str
    intensity: float
    urgency: str
    urgency_reason: str
    flags: list[str]
    topic: str
    phase: str
    language: str
    reasons: dict[str, list[str]] = field(default_factory=dict)
    model_version: str = ""
    topic_confidence: float = 0.0
    kind_scores: dict[str, float] = field(default_factory=dict)
    # What the customer says about their tenure (see rules.stated_tenure), or None.
    stated_tenure: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flags"] = list(self.flags)
        d["reasons"] = {k: list(v) for k, v in self.reasons.items()}
        return d
