"""Learning's part of export and erasure: what themes, findings and stories keep of a customer.

The lessons stay (theme counts, root causes, policy links, improvement actions): they are the
organisation's, not the customer's. The customer's words go: the words that put a case in a
theme, competitor snippets quoted from their messages, notes on their cases; stories written
about their cases keep the lesson with the customer's name and details taken out.
"""

from __future__ import annotations

from typing import Any

from cherish.core.erasure import Erasure, erase_free_text
from cherish.customers.models import Customer
from cherish.learning.models import CaseFinding, CaseTheme, CompetitorMention, LearningStory

_STORY_TEXT = ("title", "what_happened", "what_we_learned", "what_we_changed")


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    cases = {"case_id__in": erasure.case_ids}
    erasure.count(
        "theme_words",
        CaseTheme.objects.filter(**cases).exclude(words=[]).update(words=[]),
    )
    erasure.count("case_findings", erase_free_text(CaseFinding.objects.filter(**cases)))
    erasure.count("competitor_snippets", erase_free_text(CompetitorMention.objects.filter(**cases)))
    stories = list(LearningStory.objects.filter(**cases))
    for story in stories:
        for name in _STORY_TEXT:
            setattr(story, name, erasure.redact(getattr(story, name) or ""))
    if stories:
        LearningStory.objects.bulk_update(stories, list(_STORY_TEXT))
    erasure.count("learning_stories", len(stories))


def export_customer(customer: Customer) -> dict[str, Any]:
    cases = {"case__customer": customer}
    return {
        "themes": list(
            CaseTheme.objects.filter(**cases).values("case__reference", "theme__name", "words")
        ),
        "findings": list(
            CaseFinding.objects.filter(**cases).values(
                "case__reference", "root_cause__name", "leak_step", "note"
            )
        ),
        "competitor_mentions": list(
            CompetitorMention.objects.filter(**cases).values(
                "case__reference", "competitor__name", "snippet"
            )
        ),
    }
