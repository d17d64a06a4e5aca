"""The learning part of the REST API (mounted in cherish/api.py): themes, improvement
actions and learning stories to read (organisation-wide, as on the desk), and improvement
actions to plan with a lead's or manager's own key."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from cherish.api_common import problems
from cherish.core.errors import NotFound
from cherish.learning import access, actions, queries
from cherish.learning.models import ImprovementAction, Policy, Theme, ThemeStatus
from cherish.staff.principal import KeyScope, key_scope, person_of

from .schemas import ActionIn, ActionOut, StoryOut, ThemeOut

router = Router(tags=["learning"])


@router.get(
    "/learning/themes",
    response={200: list[ThemeOut], **problems(401, 403)},
    summary="List the complaint themes, biggest first",
)
@key_scope(KeyScope.LEARNING_READ)
def list_themes(request: HttpRequest) -> list[dict[str, Any]]:
    """The active themes (at most 100) with their complaint counts, all time and this week.
    No case or customer data: the cases behind a theme are for the desk."""
    return [
        {
            "id": row["theme"].pk,
            "name": row["theme"].name,
            "description": row["theme"].description,
            "complaints": row["theme"].case_count,
            "this_week": row["this_week"],
            "top_terms": row["theme"].top_terms,
        }
        for row in queries.themes_overview()
    ]


class ActionFilters(Schema):
    status: str = Field("", pattern="^(|planned|in_progress|done|cancelled)$")


def _action_out(action: ImprovementAction, effect: queries.Effect) -> dict[str, Any]:
    return {
        "id": action.pk,
        "title": action.title,
        "description": action.description,
        "status": action.status,
        "theme_id": action.theme_id,
        "policy_id": action.policy_id,
        "due_date": action.due_date,
        "completed_at": action.completed_at,
        "published": action.published_at is not None,
        "effect": effect.__dict__,
    }


@router.get(
    "/learning/actions",
    response={200: list[ActionOut], **problems(401, 403, 422)},
    summary="List the improvement actions with their effectiveness check",
)
@key_scope(KeyScope.LEARNING_READ)
def list_actions(request: HttpRequest, filters: Query[ActionFilters]) -> list[dict[str, Any]]:
    """Improvement actions (at most 200) by status and due date, each with the check that
    compares the complaints per 1,000 customers before and after it was done."""
    rows = queries.actions_list(status=filters.status)
    return [_action_out(a, e) for a, e in zip(rows, queries.effectiveness_many(rows), strict=True)]


@router.post(
    "/learning/actions",
    response={201: ActionOut, **problems(400, 401, 403, 404, 422)},
    summary="Plan an improvement action",
)
@key_scope(KeyScope.LEARNING_WRITE, person=True)
def create_action(request: HttpRequest, payload: ActionIn) -> Status[dict[str, Any]]:
    """Plan an improvement action tied to a theme or a policy, in the name of the key's
    staff member (a team lead or manager; an integration key is refused)."""
    staff = person_of(request, KeyScope.LEARNING_WRITE)
    access.require_shaper(staff)
    theme = policy = None
    if payload.theme_id is not None:
        theme = Theme.objects.filter(pk=payload.theme_id, status=ThemeStatus.ACTIVE).first()
        if theme is None:
            raise NotFound(f"There is no active theme {payload.theme_id}.")
    if payload.policy_id is not None:
        policy = Policy.objects.filter(pk=payload.policy_id).first()
        if policy is None:
            raise NotFound(f"There is no policy {payload.policy_id}.")
    action = actions.save_improvement_action(
        None,
        title=payload.title,
        description=payload.description,
        theme=theme,
        policy=policy,
        due_date=payload.due_date,
        status=payload.status,
        by=staff,
    )
    return Status(201, _action_out(action, queries.effectiveness(action)))


class StoryFilters(Schema):
    limit: int = Field(50, ge=1, le=100)


@router.get(
    "/learning/stories",
    response={200: list[StoryOut], **problems(401, 403, 422)},
    summary="List the learning stories, newest first",
)
@key_scope(KeyScope.LEARNING_READ)
def list_stories(request: HttpRequest, filters: Query[StoryFilters]) -> list[Any]:
    """What happened, what we learned and what we changed, from resolved cases: for
    training and onboarding elsewhere. Without the cases' references or customers."""
    return queries.all_stories(limit=filters.limit)
