"""The default flows per kind, and the rule that says what a stage requires.

Sources: Gitomer's react → respond → recover → +1 (seed 000) and ISO 10002's receipt →
acknowledgement → assessment → response → closing (seed 003); the 7 Cs' "committed
follow-through" (seed 004) gives the follow-up. The organisation edits these in the admin
(care.WorkflowStage); the data migration 0002 seeds the same texts. The constants here are
the fallback when a kind has no rows. Labels and checklist items are marked (gettext_noop) and shown
through gettext: a text still as seeded reads in the staff member's language, a reworded one
as the organisation wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy, gettext_noop


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
        gettext_noop("Received"),
        [
            gettext_noop(
                "Read everything the customer has told us, on this case and earlier ones."
            ),
            gettext_noop("Check how they feel and whether anything is urgent."),
        ],
        [],
    ),
    (
        "acknowledged",
        gettext_noop("Acknowledged"),
        [
            gettext_noop("Acknowledge personally, by name — never “thank you for your inquiry”."),
            gettext_noop("Reflect what they told you and say what happens next and by when."),
            gettext_noop(
                "Record the initial assessment: severity, complexity, impact, immediate action."
            ),
        ],
        [],
    ),
    (
        "listening",
        gettext_noop("Listening"),
        [
            gettext_noop("Tell them you understand how they feel."),
            gettext_noop("Ask them to tell you more; listen patiently."),
            gettext_noop("Restate the problem in their words."),
        ],
        [],
    ),
    (
        "responding",
        gettext_noop("Responding"),
        [
            gettext_noop("Apologise, and thank them for telling us."),
            gettext_noop("Ask what they would consider fair — and record their answer."),
            gettext_noop("Make a commitment: what, by when, how."),
        ],
        [],
    ),
    (
        "recovering",
        gettext_noop("Recovering"),
        [
            gettext_noop("Resolve the issue quickly and completely."),
            gettext_noop("Keep every commitment, or tell them before it falls due."),
            gettext_noop("Record the resolution."),
        ],
        [],
    ),
    (
        "plus_one",
        gettext_noop("+1"),
        [
            gettext_noop("Add something beyond putting it right: the +1."),
            gettext_noop(
                "Within your authority, just do it; above it, ask your lead in one click."
            ),
        ],
        [],
    ),
    (
        "following_up",
        gettext_noop("Following up"),
        [
            gettext_noop("Check that the fix worked and that they are satisfied."),
            gettext_noop("Record their answer — or why a check was not possible."),
        ],
        ["resolution"],
    ),
    (
        "closed",
        gettext_noop("Closed"),
        [gettext_noop("Tell them it is closed and that replying reopens it.")],
        ["resolution", "follow_up"],
    ),
]

_INQUIRY = [
    (
        "received",
        gettext_noop("Received"),
        [gettext_noop("Read the question and anything they asked before.")],
        [],
    ),
    (
        "acknowledged",
        gettext_noop("Acknowledged"),
        [gettext_noop("Let them know who is answering and by when.")],
        [],
    ),
    (
        "responding",
        gettext_noop("Answering"),
        [
            gettext_noop("Answer fully and personally."),
            gettext_noop("Answer the next question before they ask it."),
        ],
        [],
    ),
    (
        "closed",
        gettext_noop("Closed"),
        [gettext_noop("They have a personal answer.")],
        ["personal_reply"],
    ),
]

_COMPLIMENT = [
    (
        "received",
        gettext_noop("Received"),
        [gettext_noop("Enjoy it — and see who they are praising.")],
        [],
    ),
    (
        "acknowledged",
        gettext_noop("Thanked"),
        [
            gettext_noop("Thank them personally."),
            gettext_noop("Pass the praise on to the people named."),
        ],
        [],
    ),
    (
        "closed",
        gettext_noop("Closed"),
        [gettext_noop("They have been thanked by a person.")],
        ["personal_reply"],
    ),
]

_SUGGESTION = [
    (
        "received",
        gettext_noop("Received"),
        [gettext_noop("Read the idea and what prompted it.")],
        [],
    ),
    (
        "acknowledged",
        gettext_noop("Acknowledged"),
        [
            gettext_noop("Thank them for the idea."),
            gettext_noop("Say what will happen with it and when they will hear."),
        ],
        [],
    ),
    (
        "responding",
        gettext_noop("Responding"),
        [gettext_noop("Tell them what was decided, and why.")],
        [],
    ),
    (
        "closed",
        gettext_noop("Closed"),
        [gettext_noop("They know what became of their idea.")],
        ["personal_reply"],
    ),
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
            label=gettext(label),
            order=(index + 1) * 10,
            checklist=tuple(gettext(item) for item in checklist),
            required=tuple(required),
        )
        for index, (stage, label, checklist, required) in enumerate(rows)
    ]


# What each requirement asks of the agent, in the refusal message.
REQUIREMENT_MESSAGES = {
    "fair_outcome": gettext_lazy("record what the customer would consider fair"),
    "resolution": gettext_lazy("record the resolution (what was done to put it right)"),
    "plus_one": gettext_lazy("record the +1 gesture"),
    "follow_up": gettext_lazy(
        "record the follow-up (a satisfaction check, or why it was not possible)"
    ),
    "assessment": gettext_lazy("record the initial assessment"),
    "personal_reply": gettext_lazy("send the customer a personal reply"),
}


def refusal_code(stage: str, requirement: str) -> str:
    """Stable codes: close_without_resolution, close_without_follow_up, stage_without_…"""
    prefix = "close" if stage == "closed" else "stage"
    return f"{prefix}_without_{requirement}"


def missing_requirements(required: Iterable[str], recorded: set[str]) -> list[str]:
    return [item for item in required if item not in recorded]
