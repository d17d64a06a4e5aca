"""Who may read and change what in learning.

Every staff member reads the learning pages: lessons are for the whole organisation.
Shaping themes, the root-cause taxonomy, the policy register, improvement actions, what is
published to customers and the creed is for team leads and managers. Results of the staff
pulse are only ever shown for groups of five or more (see learning.pulse).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from cherish.core.errors import Forbidden, NotFound
from cherish.learning.models import (
    ImprovementAction,
    LearningStory,
    Policy,
    Theme,
    ThemeStatus,
)
from cherish.staff.access import is_manager
from cherish.staff.models import Role, Staff


def may_shape_learning(staff: Staff) -> bool:
    """Leads and managers (and the break-glass superuser) shape themes, actions, register."""
    return staff.role in (Role.LEAD, Role.MANAGER) or bool(staff.user.is_superuser)


def may_publish(staff: Staff) -> bool:
    """Only managers choose what the public "You said, we did" page says."""
    return is_manager(staff)


def require_shaper(staff: Staff) -> None:
    if not may_shape_learning(staff):
        raise Forbidden(_("Only team leads and managers can change this."))


def require_manager(staff: Staff) -> None:
    if not may_publish(staff):
        raise Forbidden(_("Only managers can change this."))


def access_theme(staff: Staff, theme_id: int | str) -> Theme:
    """Any theme, by id, for any staff member; NotFound for a missing or malformed id."""
    del staff
    try:
        return Theme.objects.get(pk=int(theme_id))
    except (Theme.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such theme.") from None


def access_active_theme(staff: Staff, theme_id: int | str) -> Theme:
    theme = access_theme(staff, theme_id)
    if theme.status != ThemeStatus.ACTIVE:
        raise NotFound("No such theme.")
    return theme


def access_policy(staff: Staff, policy_id: int | str) -> Policy:
    del staff
    try:
        return Policy.objects.select_related("owner").get(pk=int(policy_id))
    except (Policy.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such policy.") from None


def access_action(staff: Staff, action_id: int | str) -> ImprovementAction:
    del staff
    try:
        return ImprovementAction.objects.select_related("theme", "policy", "owner").get(
            pk=int(action_id)
        )
    except (ImprovementAction.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such improvement action.") from None


def access_story(staff: Staff, story_id: int | str) -> LearningStory:
    """Every staff member may read every story (they are written to be shared)."""
    del staff
    try:
        return LearningStory.objects.select_related("case", "author").get(pk=int(story_id))
    except (LearningStory.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such story.") from None


def require_story_editor(staff: Staff, story: LearningStory) -> None:
    """Its author, leads and managers circulate a story."""
    if story.author_id != staff.pk and not may_shape_learning(staff):
        raise Forbidden(_("Only the author, team leads and managers can circulate a story."))
