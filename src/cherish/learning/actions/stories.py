"""Learning stories: written from a resolved case, circulated to teams, read receipts."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from cherish.cases.models import Case
from cherish.core.clock import now
from cherish.learning import events
from cherish.learning.errors import LearningError
from cherish.learning.models import (
    LearningStory,
    StoryCirculation,
    StoryKind,
    StoryRead,
)
from cherish.staff.models import Staff, Team

# ---------------------------------------------------------------- learning stories


def case_is_resolved(case: Case) -> bool:
    """Closed, or with a resolution recorded: the story can be told."""
    if not case.is_open:
        return True
    return case.events.filter(type="resolution.recorded").exists()


@transaction.atomic
def write_story(
    story: LearningStory | None,
    *,
    case: Case | None,
    kind: str,
    title: str,
    what_happened: str,
    what_we_learned: str,
    what_we_changed: str = "",
    for_onboarding: bool = False,
    by: Staff,
) -> LearningStory:
    """Write (or correct) a learning story, of excellent care or of a failure.

    Refuses ('story_case_unresolved') a story from a case that is neither closed nor has a
    resolution, ('story_incomplete') a story without a title, what happened or what we
    learned, ('story_bad_kind') an unknown kind. Writes story.written on the case the first
    time.
    """
    if kind not in StoryKind.values:
        raise LearningError(gettext("Choose what kind of story this is."), code="story_bad_kind")
    if not (title.strip() and what_happened.strip() and what_we_learned.strip()):
        raise LearningError(
            gettext("A story needs a title, what happened and what we learned."),
            code="story_incomplete",
        )
    if case is not None and not case_is_resolved(case):
        raise LearningError(
            gettext("Tell the story once the case is resolved."), code="story_case_unresolved"
        )
    at = now()
    is_new = story is None
    if story is None:
        story = LearningStory(created_at=at, author=by, case=case)
    story.kind = kind
    story.title = title.strip()[:200]
    story.what_happened = what_happened.strip()
    story.what_we_learned = what_we_learned.strip()
    story.what_we_changed = what_we_changed.strip()
    story.for_onboarding = for_onboarding
    story.updated_at = at
    story.save()
    if is_new and case is not None:
        events.record_story_written(case, by=by, story_id=story.pk, title=story.title)
    return story


@transaction.atomic
def circulate_story(story: LearningStory, *, teams: list[Team], by: Staff) -> int:
    """Send a story to teams: their members see it in their stories to read. Returns how
    many teams were new; circulating to a team twice changes nothing."""
    added = 0
    at = now()
    for team in teams:
        _, created = StoryCirculation.objects.get_or_create(
            story=story, team=team, defaults={"circulated_at": at, "circulated_by": by}
        )
        added += int(created)
    return added


def mark_story_read(story: LearningStory, *, by: Staff) -> StoryRead:
    """Keep a read receipt the first time a staff member opens a story."""
    receipt, _ = StoryRead.objects.get_or_create(story=story, staff=by, defaults={"read_at": now()})
    return receipt
