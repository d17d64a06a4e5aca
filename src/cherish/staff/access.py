"""Who a staff member is, which teams they work for, and what their role lets them do.

The team rules of the desk (ARCHITECTURE: "nobody sees or does what is not theirs"):

- A staff member *works* (reads and changes) the cases of their teams: the team they are in,
  the teams they also work for (``extra_teams``), the teams they lead and the teams they
  manage (``Team.manager``); plus the cases they collaborate on (owner, previous owner after a
  handoff, a collaborator brought in, someone @mentioned in a note: cases.CaseParticipant).
- Other teams' cases: invisible, unless the organisation policy ``other_teams_may_read`` is
  on; then they may be *read*, never changed.
- Superusers (the break-glass account) work everything. Administrators configure (the admin
  site); they see cases only through the teams they are in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from cherish.staff.models import OrgPolicy, Role, Staff, Team


def staff_for_user(user: AbstractBaseUser | AnonymousUser) -> Staff | None:
    """The staff profile of a logged-in, active user; None for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return None
    if not _STAFF_CACHE.is_cached(user):
        # The first look this request: load the profile with the organisation's read policy
        # and whether they work for any team beyond their own in the same query, so the team
        # boundary (``scope_of``) needs no query of its own for most staff. Read from the
        # database every request, so a changed policy or team applies at once in every process.
        # Plain SQL: building the same query with Subquery/Exists cost as much CPU as the
        # two queries it replaces (measured, bench/README.md "#9 desk guard").
        loaded = next(iter(Staff.objects.raw(_staff_sql(), [user.pk])), None)
        if loaded is not None:
            more = loaded.__dict__[_MORE_TEAMS_ATTR]
            loaded.__dict__[_MORE_TEAMS_ATTR] = None if more is None else bool(more)
            Staff.user.field.set_cached_value(loaded, user)
        _STAFF_CACHE.set_cached_value(user, loaded)
    try:
        staff: Staff = user.staff  # type: ignore[attr-defined]
        return staff
    except Staff.DoesNotExist:
        return None


@cache
def _staff_sql() -> str:
    staff = Staff._meta.db_table
    team = Team._meta.db_table
    extra = Staff.extra_teams.through._meta.db_table
    policy = OrgPolicy._meta.db_table
    return (
        f"SELECT s.*,"
        f" (SELECT p.other_teams_may_read FROM {policy} p WHERE p.id = 1) AS {_POLICY_ATTR},"
        f" (EXISTS (SELECT 1 FROM {team} t WHERE t.lead_id = s.id OR t.manager_id = s.id)"
        f" OR EXISTS (SELECT 1 FROM {extra} e WHERE e.staff_id = s.id)) AS {_MORE_TEAMS_ATTR}"
        f" FROM {staff} s WHERE s.user_id = %s"
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """What one staff member may see, worked out once per request (two small queries)."""

    staff_id: int
    team_ids: frozenset[int]
    led_team_ids: frozenset[int]  # teams where they are lead or manager
    everything: bool  # superuser: the break-glass account
    read_other_teams: bool  # the organisation lets everyone read every team's cases


_SCOPE_ATTR = "_cherish_scope"
# Set by ``staff_for_user``: the policy's other_teams_may_read as of this request (None: no
# policy saved yet, the default applies).
_POLICY_ATTR = "_cherish_other_teams_may_read"
# Set by ``staff_for_user``: do they lead, manage or also work for any team (False: their
# teams are just ``Staff.team``).
_MORE_TEAMS_ATTR = "_cherish_more_teams"
# The cache of ``user.staff`` (the reverse one-to-one).
_STAFF_CACHE = Staff.user.field.remote_field


def scope_of(staff: Staff) -> Scope:
    """The staff member's scope, cached on the Staff object (one request's lifetime)."""
    cached: Scope | None = getattr(staff, _SCOPE_ATTR, None)
    if cached is not None:
        return cached
    rows: Iterable[tuple[int, int | None, int | None]]
    if staff.__dict__.get(_MORE_TEAMS_ATTR) is False:
        rows = [] if staff.team_id is None else [(staff.team_id, None, None)]
    else:
        rows = Team.objects.filter(
            Q(members=staff) | Q(extra_members=staff) | Q(lead=staff) | Q(manager=staff)
        ).values_list("pk", "lead_id", "manager_id")
    team_ids = set()
    led = set()
    for pk, lead_id, manager_id in rows:
        team_ids.add(pk)
        if staff.pk in (lead_id, manager_id):
            led.add(pk)
    scope = Scope(
        staff_id=staff.pk,
        team_ids=frozenset(team_ids),
        led_team_ids=frozenset(led),
        everything=bool(staff.user.is_superuser),
        read_other_teams=_read_other_teams(staff),
    )
    setattr(staff, _SCOPE_ATTR, scope)
    return scope


def case_rule(staff: Staff, *, change: bool, prefix: str = "") -> Q | None:
    """The team boundary as a filter on cases (``prefix`` reaches them from another model,
    e.g. ``"cases__"`` from customers); None when nothing is out of bounds.

    Written once here so cases and customers (which cannot import cases) apply the same rule:
    the cases of one's teams, unrouted cases, one's own, and those one collaborates on
    (care's collaborators, by relation name); with ``change=False`` also every other team's
    case when the organisation lets everyone read them.
    """
    scope = scope_of(staff)
    if scope.everything or (not change and scope.read_other_teams):
        return None
    # By name, not by import: staff sits below cases and care. A subquery, not a join, so a
    # case with several collaborators is still one row.
    cases = apps.get_model("cases", "Case")._default_manager
    collaborating = cases.filter(collaborators__staff_id=staff.pk).values("pk")
    return (
        Q(**{f"{prefix}team_id__in": scope.team_ids})
        # unrouted: a case with no team (not a customer with no case: the outer join's NULL)
        | Q(**{f"{prefix}team__isnull": True, f"{prefix}pk__isnull": False})
        | Q(**{f"{prefix}owner_id": staff.pk})
        | Q(**{f"{prefix}pk__in": collaborating})
    )


def works_for_team(team_id: int) -> Q:
    """A filter on Staff: who works for the team — its members, those who also work for it,
    its lead and its manager (the teams ``scope_of`` counts). Subqueries, not joins, so each
    person is one row."""
    team = Team.objects.filter(pk=team_id)
    extra = Staff.extra_teams.through.objects.filter(team_id=team_id).values("staff_id")
    return (
        Q(team_id=team_id)
        | Q(pk__in=extra)
        | Q(pk__in=team.values("lead_id"))
        | Q(pk__in=team.values("manager_id"))
    )


def forget_scope(staff: Staff) -> None:
    """After a change of teams or policy, the next request works the scope out again."""
    staff.__dict__.pop(_SCOPE_ATTR, None)
    staff.__dict__.pop(_POLICY_ATTR, None)
    staff.__dict__.pop(_MORE_TEAMS_ATTR, None)


def _read_other_teams(staff: Staff) -> bool:
    if _POLICY_ATTR in staff.__dict__:
        loaded: bool | None = staff.__dict__[_POLICY_ATTR]
        return bool(loaded) if loaded is not None else OrgPolicy().other_teams_may_read
    return org_policy().other_teams_may_read


def org_policy() -> OrgPolicy:
    """The organisation's access policy; the safe defaults until an administrator saves one."""
    return OrgPolicy.objects.filter(pk=1).first() or OrgPolicy(pk=1)


def leads_team(staff: Staff, team_id: int | None) -> bool:
    """Is ``staff`` the lead or manager of this team (or the break-glass superuser)?"""
    scope = scope_of(staff)
    return scope.everything or (team_id is not None and team_id in scope.led_team_ids)


def has_permission(staff: Staff, codename: str) -> bool:
    """Does the staff member's role (or another group of theirs) grant ``staff.<codename>``?"""
    return bool(staff.user.is_active and staff.user.has_perm(f"staff.{codename}"))


def is_manager(staff: Staff) -> bool:
    return staff.role == Role.MANAGER or bool(staff.user.is_superuser)
