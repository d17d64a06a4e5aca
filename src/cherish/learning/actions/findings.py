"""Why complaints happen: root causes and leak steps, the policy register and its links to
complaints, and competitor mentions found in complaint texts.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils.translation import gettext

from cherish.cases.models import Case, Direction, Message
from cherish.core.clock import now
from cherish.learning import events
from cherish.learning.errors import LearningError
from cherish.learning.models import (
    CaseFinding,
    Communication,
    Competitor,
    CompetitorMention,
    Cursor,
    LeakStep,
    Policy,
    PolicyLink,
    PolicyLinkSource,
    RootCause,
)
from cherish.staff.models import Staff

# ---------------------------------------------------------------- root cause and leak step

# The taxonomy's starting entries, one per category (migration 0002 seeds the same).
DEFAULT_ROOT_CAUSES = [
    ("People: knowledge, skill or behaviour", "people"),
    ("Process: a step that fails or is missing", "process"),
    ("Product: a fault in what we sell", "product"),
    ("Policy: a rule that causes pain", "policy"),
    ("Communication: wrong, missing or unclear", "communication"),
    ("Partner: a supplier or carrier", "partner"),
]


def seed_root_causes() -> None:
    """(Re)create the starting taxonomy; idempotent. For databases flushed after migrating
    (transactional tests) and for the demo."""
    for name, category in DEFAULT_ROOT_CAUSES:
        RootCause.objects.get_or_create(name=name, defaults={"category": category})


@transaction.atomic
def record_finding(
    case: Case,
    *,
    root_cause: RootCause | None,
    leak_step: str,
    communication: str = "",
    communication_note: str = "",
    note: str = "",
    by: Staff,
) -> CaseFinding:
    """Record (or correct) why a complaint happened and where in the business it leaked.

    Refuses ('finding_empty') a finding with neither a root cause nor a leak step,
    ('finding_bad_leak_step' / 'finding_bad_communication') values outside the lists.
    Writes finding.recorded.
    """
    if root_cause is None and not leak_step:
        raise LearningError(
            gettext("Choose a root cause or the step where the problem leaked."),
            code="finding_empty",
        )
    if leak_step and leak_step not in LeakStep.values:
        raise LearningError(gettext("Choose a step from the list."), code="finding_bad_leak_step")
    if communication and communication not in Communication.values:
        raise LearningError(
            gettext("Choose a communication from the list."), code="finding_bad_communication"
        )
    at = now()
    finding, _ = CaseFinding.objects.update_or_create(
        case=case,
        defaults={
            "root_cause": root_cause,
            "leak_step": leak_step,
            "communication": communication,
            "communication_note": communication_note.strip()[:300],
            "note": note.strip(),
            "team_id": case.team_id,
            "case_created_at": case.created_at,
            "recorded_by": by,
            "recorded_at": at,
        },
    )
    events.record_finding_recorded(
        case,
        by=by,
        root_cause=root_cause.name if root_cause else "",
        category=root_cause.category if root_cause else "",
        leak_step=leak_step,
        communication=communication,
    )
    return finding


# ---------------------------------------------------------------- policy register


def _check_policy_fields(title: str) -> str:
    title = title.strip()
    if not title:
        raise LearningError(
            gettext("Give the policy a title."), code="policy_title_required", field="title"
        )
    return title[:200]


@transaction.atomic
def save_policy(
    policy: Policy | None,
    *,
    title: str,
    summary: str = "",
    owner: Staff | None = None,
    review_by: dt.date | None = None,
    phrases: str = "",
    is_active: bool = True,
    by: Staff,
) -> Policy:
    """Add a policy to the register, or change one.

    Refuses ('policy_title_required') an empty title, ('policy_title_taken') a title
    another policy has.
    """
    del by
    title = _check_policy_fields(title)
    clash = Policy.objects.filter(title__iexact=title)
    if policy is not None:
        clash = clash.exclude(pk=policy.pk)
    if clash.exists():
        raise LearningError(
            gettext("Another policy already has this title."),
            code="policy_title_taken",
            field="title",
        )
    at = now()
    if policy is None:
        policy = Policy(created_at=at)
    policy.title = title
    policy.summary = summary.strip()
    policy.owner = owner
    policy.review_by = review_by
    policy.phrases = phrases.strip()[:500]
    policy.is_active = is_active
    policy.updated_at = at
    policy.save()
    return policy


@transaction.atomic
def link_policy(case: Case, *, policy: Policy, by: Staff | None, source: str) -> PolicyLink:
    """Tie a complaint to a policy (once; a later link changes nothing). Writes
    policy.linked the first time."""
    link, created = PolicyLink.objects.get_or_create(
        case=case,
        policy=policy,
        defaults={
            "source": source,
            "case_created_at": case.created_at,
            "linked_at": now(),
            "linked_by": by,
        },
    )
    if created:
        events.record_policy_linked(
            case, by=by, policy_id=policy.pk, title=policy.title, source=source
        )
    return link


_POLICY_WORDS = re.compile(r"\b(our|company|the)\s+(policy|policies|procedure|rules?)\b", re.I)


def link_policies_from_replies(*, limit: int = 2000) -> int:
    """Read staff replies written since the last scan; a reply that quotes "our policy"
    and uses a phrase of a policy links its case to that policy. Idempotent."""
    policies = [p for p in Policy.objects.filter(is_active=True) if p.phrase_list]
    cursor, _ = Cursor.objects.get_or_create(name="policy-replies")
    rows = list(
        Message.objects.filter(pk__gt=cursor.last_id, direction=Direction.OUTBOUND)
        .order_by("pk")
        .values_list("pk", "case_id", "body_text")[:limit]
    )
    linked = 0
    for _pk, case_id, body in rows:
        if not policies or not _POLICY_WORDS.search(body):
            continue
        lowered = body.lower()
        for policy in policies:
            if any(phrase in lowered for phrase in policy.phrase_list):
                case = Case.objects.get(pk=case_id)
                if not PolicyLink.objects.filter(case=case, policy=policy).exists():
                    link_policy(case, policy=policy, by=None, source=PolicyLinkSource.REPLY)
                    linked += 1
    if rows:
        Cursor.objects.filter(pk=cursor.pk).update(last_id=rows[-1][0])
    return linked


# ---------------------------------------------------------------- competitor mentions

ASPECTS = {
    "price": ("cheaper", "price", "cost", "expensive", "£", "$", "deal", "fee"),
    "speed": ("faster", "quicker", "sooner", "next day", "same day", "waiting"),
    "service": ("service", "helpful", "support", "friendly", "answer the phone"),
    "quality": ("quality", "better product", "reliable", "broke", "works"),
    "offer": ("offer", "discount", "switch", "moving to", "move to", "leaving for"),
}


def _aspects(snippet: str) -> list[str]:
    lowered = snippet.lower()
    return [name for name, words in ASPECTS.items() if any(w in lowered for w in words)]


def _snippet(text: str, start: int, end: int, width: int = 140) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    return " ".join(text[left:right].split())[:300]


def find_competitor_mentions(case: Case) -> list[CompetitorMention]:
    """Note each competitor the customer's messages name, with what they compare.
    Idempotent (one mention per case and competitor)."""
    competitors = list(Competitor.objects.all())
    if not competitors:
        return []
    text = "\n".join(
        Message.objects.filter(case=case, direction=Direction.INBOUND)
        .order_by("created_at", "pk")
        .values_list("body_text", flat=True)
    )
    found = []
    for competitor in competitors:
        for name in competitor.names:
            match = re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
            if match is None:
                continue
            snippet = _snippet(text, match.start(), match.end())
            mention, _ = CompetitorMention.objects.get_or_create(
                case=case,
                competitor=competitor,
                defaults={
                    "snippet": snippet,
                    "aspects": _aspects(snippet),
                    "case_created_at": case.created_at,
                },
            )
            found.append(mention)
            break
    return found
