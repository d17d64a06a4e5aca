"""The default flows per kind, and the rule that says what a stage requires.

Sources: Gitomer's react → respond → recover → +1 (seed 000) and ISO 10002's receipt →
acknowledgement → assessment → response → closing (seed 003); the 7 Cs' "committed
follow-through" (seed 004) gives the follow-up. The organisation edits these in the admin
(care.WorkflowStage); the data migration 0002 seeds the same texts. The constants here are
the fallback when a kind has no rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class StageConfig:
    kind: str
    stage: str
    label: str
    order: int
    checklist: tuple[str, ...]
    required: tuple[str, ...]


_COMPLAINT = [
    (
        "received",
        "Received",
        [
            "Read everything the customer has told us, on this case and earlier ones.",
            "Check how they feel and whether anything is urgent.",
        ],
        [],
    ),
    (
        "acknowledged",
        "Acknowledged",
        [
            "Acknowledge personally, by name — never “thank you for your inquiry”.",
            "Reflect what they told you and say what happens next and by when.",
            "Record the initial assessment: severity, complexity, impact, immediate action.",
        ],
        [],
    ),
    (
        "listening",
        "Listening",
        [
            "Tell them you understand how they feel.",
            "Ask them to tell you more; listen patiently.",
            "Restate the problem in their words.",
        ],
        [],
    ),
    (
        "responding",
        "Responding",
        [
            "Apologise, and thank them for telling us.",
            "Ask what they would consider fair — and record their answer.",
            "Make a commitment: what, by when, how.",
        ],
        [],
    ),
    (
        "recovering",
        "Recovering",
        [
            "Resolve the issue quickly and completely.",
            "Keep every commitment, or tell them before it falls due.",
            "Record the resolution.",
        ],
        [],
    ),
    (
        "plus_one",
        "+1",
        [
            "Add something beyond putting it right: the +1.",
            "Within your authority, just do it; above it, ask your lead in one click.",
        ],
        [],
    ),
    (
        "following_up",
        "Following up",
        [
            "Check that the fix worked and that they are satisfied.",
            "Record their answer — or why a check was not possible.",
        ],
        ["resolution"],
    ),
    (
        "closed",
        "Closed",
        ["Tell them it is closed and that replying reopens it."],
        ["resolution", "follow_up"],
    ),
]

_INQUIRY = [
    ("received", "Received", ["Read the question and anything they asked before."], []),
    ("acknowledged", "Acknowledged", ["Let them know who is answering and by when."], []),
    (
        "responding",
        "Answering",
        ["Answer fully and personally.", "Answer the next question before they ask it."],
        [],
    ),
    ("closed", "Closed", ["They have a personal answer."], ["personal_reply"]),
]

_COMPLIMENT = [
    ("received", "Received", ["Enjoy it — and see who they are praising."], []),
    (
        "acknowledged",
        "Thanked",
        ["Thank them personally.", "Pass the praise on to the people named."],
        [],
    ),
    ("closed", "Closed", ["They have been thanked by a person."], ["personal_reply"]),
]

_SUGGESTION = [
    ("received", "Received", ["Read the idea and what prompted it."], []),
    (
        "acknowledged",
        "Acknowledged",
        ["Thank them for the idea.", "Say what will happen with it and when they will hear."],
        [],
    ),
    ("responding", "Responding", ["Tell them what was decided, and why."], []),
    ("closed", "Closed", ["They know what became of their idea."], ["personal_reply"]),
]

DEFAULT_FLOW_DATA: dict[str, list[tuple[str, str, list[str], list[str]]]] = {
    "complaint": _COMPLAINT,
    "inquiry": _INQUIRY,
    "compliment": _COMPLIMENT,
    "suggestion": _SUGGESTION,
}


def default_flow(kind: str) -> list[StageConfig]:
    rows = DEFAULT_FLOW_DATA.get(kind, DEFAULT_FLOW_DATA["complaint"])
    return [
        StageConfig(
            kind=kind,
            stage=stage,
            label=label,
            order=(index + 1) * 10,
            checklist=tuple(checklist),
            required=tuple(required),
        )
        for index, (stage, label, checklist, required) in enumerate(rows)
    ]


# What each requirement asks of the agent, in the refusal message.
REQUIREMENT_MESSAGES = {
    "fair_outcome": "record what the customer would consider fair",
    "resolution": "record the resolution (what was done to put it right)",
    "plus_one": "record the +1 gesture",
    "follow_up": "record the follow-up (a satisfaction check, or why it was not possible)",
    "assessment": "record the initial assessment",
    "personal_reply": "send the customer a personal reply",
}


def refusal_code(stage: str, requirement: str) -> str:
    """Stable codes: close_without_resolution, close_without_follow_up, stage_without_…"""
    prefix = "close" if stage == "closed" else "stage"
    return f"{prefix}_without_{requirement}"


def missing_requirements(required: Iterable[str], recorded: set[str]) -> list[str]:
    return [item for item in required if item not in recorded]
