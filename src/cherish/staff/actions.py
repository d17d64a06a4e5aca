"""Changes to staff, teams, roles, the organisation's policy, and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext

from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.staff.models import (
    AuditEntry,
    Creed,
    Nomination,
    OrgPolicy,
    PulseActionPlan,
    PulseParticipation,
    PulseResponse,
    PulseSurvey,
    Recognition,
    RecognitionKind,
    Role,
    Staff,
    Team,
)
from cherish.staff.roles import DATA_PROTECTION, ROLE_GROUPS, ensure_role_groups


@transaction.atomic
def create_staff(
    *,
    username: str,
    password: str,
    display_name: str,
    email: str = "",
    team: Team | None = None,
    role: str = Role.AGENT,
    is_superuser: bool = False,
    data_protection: bool = False,
) -> Staff:
    """Create a login and its staff profile together, in the group of their role."""
    user_model = get_user_model()
    user = user_model.objects.create_user(username=username, password=password, email=email)
    if is_superuser:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    staff = Staff.objects.create(user=user, display_name=display_name, team=team, role=role)
    _sync_groups(staff, data_protection=data_protection)
    return staff


def _sync_groups(staff: Staff, *, data_protection: bool | None = None) -> None:
    """Put the user in their role's group (and no other role's); administrators may use the
    admin site (Django's is_staff)."""
    groups = ensure_role_groups()
    user = staff.user
    role_groups = [groups[name] for name in ROLE_GROUPS.values()]
    user.groups.remove(*role_groups)
    user.groups.add(groups[ROLE_GROUPS[staff.role]])
    if data_protection is not None:
        if data_protection:
            user.groups.add(groups[DATA_PROTECTION])
        else:
            user.groups.remove(groups[DATA_PROTECTION])
    is_admin = staff.role == Role.ADMINISTRATOR or user.is_superuser
    if user.is_staff != is_admin:
        user.is_staff = is_admin
        user.save(update_fields=["is_staff"])
    # Django caches permissions on the user object; a changed role must show at once.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


@transaction.atomic
def set_role(
    staff: Staff,
    *,
    role: str,
    by: Staff | None,
    data_protection: bool | None = None,
    origin: dict[str, str] | None = None,
) -> Staff:
    """Give ``staff`` another role (and optionally the data-protection permission set).

    Writes an audit entry role.changed.
    """
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}")
    old = staff.role
    staff.role = role
    staff.save(update_fields=["role"])
    _sync_groups(staff, data_protection=data_protection)
    record_audit(
        "role.changed",
        by=by,
        target_type="staff",
        target_id=str(staff.pk),
        detail={"old": old, "new": role, "data_protection": data_protection},
        origin=origin,
    )
    return staff


@transaction.atomic
def set_org_policy(
    *, other_teams_may_read: bool, by: Staff | None, origin: dict[str, str] | None = None
) -> OrgPolicy:
    """Change the organisation's access policy. Writes an audit entry setting.changed."""
    policy, _ = OrgPolicy.objects.get_or_create(pk=1)
    old = policy.other_teams_may_read
    policy.other_teams_may_read = other_teams_may_read
    policy.save()
    record_audit(
        "setting.changed",
        by=by,
        target_type="orgpolicy",
        target_id="1",
        detail={"other_teams_may_read": [old, other_teams_may_read]},
        origin=origin,
    )
    return policy


def actor_label(by: Staff | None, *, fallback: str = "Cherish (system)") -> str:
    if by is None:
        return fallback
    return f"{by.display_name} ({by.user.get_username()})"


def record_audit(
    action: str,
    *,
    by: Staff | None,
    target_type: str = "",
    target_id: str = "",
    outcome: str = "done",
    detail: dict[str, Any] | None = None,
    origin: dict[str, str] | None = None,
) -> AuditEntry:
    """Append one line to the audit log: who (``by``, or ``origin['actor']`` for an
    integration key), did or tried (``outcome`` 'done' or 'refused') ``action`` on which
    object, from where (``origin``: ip, via) and when.

    Takes ids and small facts only, never a customer's name, words or contact details. Not
    atomic on purpose: a refusal is recorded after the refused action rolled back.
    """
    origin = origin or {}
    return AuditEntry.objects.create(
        at=now(),
        actor=by,
        actor_label=(origin.get("actor") or actor_label(by))[:200],
        action=action[:60],
        outcome=outcome,
        target_type=target_type[:30],
        target_id=str(target_id)[:60],
        via=origin.get("via", "")[:10],
        ip=origin.get("ip", "")[:45],
        detail=detail or {},
    )


# ---------------------------------------------------------------- people


class PeopleError(CherishError):
    """A people action refused (recognition, nomination, pulse, creed)."""


@transaction.atomic
def recognise(
    staff: Staff,
    *,
    kind: str,
    message: str = "",
    case_reference: str = "",
    source_key: str | None = None,
    at: dt.datetime | None = None,
) -> Recognition | None:
    """Credit a staff member for a customer outcome. With a ``source_key`` it is idempotent:
    the same outcome never counts twice (returns None the second time)."""
    if source_key is not None and Recognition.objects.filter(source_key=source_key).exists():
        return None
    return Recognition.objects.create(
        staff=staff,
        kind=kind,
        message=message.strip()[:2000],
        case_reference=case_reference[:12],
        source_key=source_key,
        created_at=at or now(),
    )


@transaction.atomic
def thank_colleague(staff: Staff, *, message: str, by: Staff) -> Recognition:
    """Peer recognition for helping a colleague.

    Refuses ('thanks_self') thanking oneself, ('thanks_empty') an empty message.
    """
    if staff.pk == by.pk:
        raise PeopleError(gettext("Thank a colleague, not yourself."), code="thanks_self")
    if not message.strip():
        raise PeopleError(gettext("Say what they did."), code="thanks_empty", field="message")
    return Recognition.objects.create(
        staff=staff,
        kind=RecognitionKind.PEER,
        message=message.strip()[:2000],
        from_staff=by,
        created_at=now(),
    )


def month_start(at: dt.datetime) -> dt.date:
    return at.date().replace(day=1)


@transaction.atomic
def nominate(nominee: Staff, *, reason: str, by: Staff) -> Nomination:
    """Nominate a colleague for this month's service-excellence award, attaching their
    recognitions of the month as evidence.

    Refuses ('nomination_self') nominating oneself, ('nomination_empty') no reason,
    ('nomination_twice') a second nomination of the same person this month.
    """
    if nominee.pk == by.pk:
        raise PeopleError(gettext("Nominate a colleague, not yourself."), code="nomination_self")
    if not reason.strip():
        raise PeopleError(
            gettext("Say why they deserve it."), code="nomination_empty", field="reason"
        )
    at = now()
    month = month_start(at)
    if Nomination.objects.filter(month=month, nominee=nominee, nominated_by=by).exists():
        raise PeopleError(
            gettext("You have already nominated %(name)s this month.")
            % {"name": nominee.display_name},
            code="nomination_twice",
        )
    evidence = [
        {
            "kind": r.kind,
            "label": r.get_kind_display(),
            "message": r.message[:500],
            "case_reference": r.case_reference,
            "at": r.created_at.isoformat(),
        }
        for r in Recognition.objects.filter(staff=nominee, created_at__date__gte=month)[:50]
    ]
    return Nomination.objects.create(
        month=month,
        nominee=nominee,
        nominated_by=by,
        reason=reason.strip(),
        evidence=evidence,
        created_at=at,
    )


@transaction.atomic
def open_pulse(
    *, title: str, questions: list[str], opens_at: dt.datetime, closes_at: dt.datetime, by: Staff
) -> PulseSurvey:
    """Open an anonymous staff pulse survey.

    Refuses ('pulse_no_questions') a survey without questions, ('pulse_dates') one that
    closes before it opens.
    """
    questions = [q.strip() for q in questions if q.strip()]
    if not title.strip() or not questions:
        raise PeopleError(
            gettext("Give the pulse a title and at least one question."), code="pulse_no_questions"
        )
    if closes_at <= opens_at:
        raise PeopleError(gettext("The pulse must close after it opens."), code="pulse_dates")
    return PulseSurvey.objects.create(
        title=title.strip()[:200],
        questions=questions[:20],
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=by,
        created_at=now(),
    )


@transaction.atomic
def answer_pulse(
    survey: PulseSurvey, *, scores: dict[int, int], comment: str = "", by: Staff
) -> None:
    """Record one anonymous answer. The answer keeps the team only; that ``by`` answered is
    kept apart, with no link to the answer, so nobody answers twice.

    Refuses ('pulse_closed') outside the survey's dates, ('pulse_answered') a second answer,
    ('pulse_incomplete') scores missing or outside 1–5.
    """
    at = now()
    if not survey.opens_at <= at < survey.closes_at:
        raise PeopleError(gettext("This pulse is not open."), code="pulse_closed")
    if PulseParticipation.objects.filter(survey=survey, staff=by).exists():
        raise PeopleError(gettext("You have already answered this pulse."), code="pulse_answered")
    if sorted(scores) != list(range(len(survey.questions))) or any(
        not 1 <= v <= 5 for v in scores.values()
    ):
        raise PeopleError(gettext("Answer every question from 1 to 5."), code="pulse_incomplete")
    PulseParticipation.objects.create(survey=survey, staff=by)
    PulseResponse.objects.create(
        survey=survey,
        team_id=by.team_id,
        answers={str(k): int(v) for k, v in scores.items()},
        comment=comment.strip()[:2000],
    )


@transaction.atomic
def record_pulse_plan(
    survey: PulseSurvey,
    *,
    title: str,
    team: Team | None = None,
    detail: str = "",
    owner: Staff | None = None,
    due_date: dt.date | None = None,
    by: Staff,
) -> PulseActionPlan:
    """Record what we will do about what a pulse told us. Refuses ('plan_title') no title."""
    del by
    if not title.strip():
        raise PeopleError(gettext("Give the plan a title."), code="plan_title", field="title")
    return PulseActionPlan.objects.create(
        survey=survey,
        team=team,
        title=title.strip()[:200],
        detail=detail.strip(),
        owner=owner,
        due_date=due_date,
        created_at=now(),
    )


CREED_MAX_CHARS = 4000


@transaction.atomic
def edit_creed(*, text: str, by: Staff, translations: dict[str, str] | None = None) -> Creed:
    """Change the organisation's customer-service creed: ``text`` in its own language,
    ``translations`` the creed for other languages the pages speak ({code: text}; a blank one
    shows ``text``, or the built-in creed's translation while ``text`` is that creed).
    Refuses ('creed_empty') no text; languages the pages do not speak are dropped. Writes
    an audit entry setting.changed (the creed is what the organisation promises customers)."""
    if not text.strip():
        raise PeopleError(gettext("The creed cannot be empty."), code="creed_empty", field="text")
    spoken = {code for code, _ in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    written = {
        code: value.strip()[:CREED_MAX_CHARS]
        for code, value in (translations or {}).items()
        if code in spoken and value.strip()
    }
    creed = Creed(
        text=text.strip()[:CREED_MAX_CHARS], translations=written, updated_at=now(), updated_by=by
    )
    creed.save()
    record_audit(
        "setting.changed",
        by=by,
        target_type="creed",
        target_id="1",
        detail={"languages": sorted(written)},
    )
    return creed


@transaction.atomic
def close_pulse(survey: PulseSurvey, *, by: Staff) -> PulseSurvey:
    """Close a pulse now, so its results (groups of five or more) can be read.
    Refuses ('pulse_not_open') one already closed."""
    del by
    at = now()
    if survey.closes_at <= at:
        raise PeopleError(gettext("This pulse is already closed."), code="pulse_not_open")
    survey.closes_at = at
    survey.save(update_fields=["closes_at"])
    return survey
