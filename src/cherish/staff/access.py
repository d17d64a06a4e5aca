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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F, Q
from django.db.models.sql.compiler import SQLCompiler

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
        # The same statement says whether their role grants ``view_all_customers``, which
        # every customer page asks (Django's permission lookup is two queries).
        # Plain SQL: building the same query with Subquery/Exists cost as much CPU as the
        # two queries it replaces (measured, bench/README.md "#9 desk guard").
        params = [*_SEE_ALL_CUSTOMERS, *_SEE_ALL_CUSTOMERS, user.pk]
        loaded = next(iter(Staff.objects.raw(_staff_sql(), params)), None)
        if loaded is not None:
            more = loaded.__dict__[_MORE_TEAMS_ATTR]
            loaded.__dict__[_MORE_TEAMS_ATTR] = None if more is None else bool(more)
            sees_all = loaded.__dict__[_SEE_ALL_CUSTOMERS_ATTR]
            loaded.__dict__[_SEE_ALL_CUSTOMERS_ATTR] = bool(sees_all)
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
    user_model: Any = Staff.user.field.related_model
    user_perms = user_model.user_permissions.through._meta.db_table
    user_groups = user_model.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    perm = Permission._meta.db_table
    content_type = ContentType._meta.db_table
    # Django's ModelBackend (and the OIDC backend, its subclass) grant a permission held by
    # the user or by one of their groups; superusers are handled in Python.
    is_the_permission = (
        f"SELECT 1 FROM {perm} p JOIN {content_type} ct ON ct.id = p.content_type_id"
        f" WHERE p.id = {{held}}.permission_id AND ct.app_label = %s AND p.codename = %s"
    )
    return (
        f"SELECT s.*,"
        f" (SELECT p.other_teams_may_read FROM {policy} p WHERE p.id = 1) AS {_POLICY_ATTR},"
        f" (EXISTS (SELECT 1 FROM {team} t WHERE t.lead_id = s.id OR t.manager_id = s.id)"
        f" OR EXISTS (SELECT 1 FROM {extra} e WHERE e.staff_id = s.id)) AS {_MORE_TEAMS_ATTR},"
        f" (EXISTS (SELECT 1 FROM {user_perms} up WHERE up.user_id = s.user_id"
        f" AND EXISTS ({is_the_permission.format(held='up')}))"
        f" OR EXISTS (SELECT 1 FROM {user_groups} ug JOIN {group_perms} gp"
        f" ON gp.group_id = ug.group_id WHERE ug.user_id = s.user_id"
        f" AND EXISTS ({is_the_permission.format(held='gp')}))) AS {_SEE_ALL_CUSTOMERS_ATTR}"
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
# Set by ``staff_for_user``: does their role (or a group or grant of theirs) hold
# ``staff.view_all_customers``? Read by ``may_view_all_customers``.
_SEE_ALL_CUSTOMERS_ATTR = "_cherish_sees_all_customers"
_SEE_ALL_CUSTOMERS = ("staff", "view_all_customers")
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

    ``cases_in_bounds`` and ``customers_in_bounds`` write the same terms in SQL for the desk's
    busiest reads (the inbox, the case page, the customer search), where building this ``Q``
    for each statement cost more than the statements; a test holds the three equal.
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


def cases_in_bounds(staff: Staff, *, change: bool) -> Expression | None:
    """``case_rule`` as one condition on cases, rendered in SQL; None when nothing is out of
    bounds. For ``Case.objects.filter(...)`` (cases.access.visible_cases / workable_cases).

    Same terms, same answer (tests/staff/test_access.py holds them equal), but the ORM's
    ``Q`` is built and compiled again for every statement it joins, and the inbox's page,
    tab counts and total are several: 3-5 ms of CPU per inbox page against about 1 ms for
    this (bench/README.md "#9 desk guard").
    """
    scope = scope_of(staff)
    if scope.everything or (not change and scope.read_other_teams):
        return None
    return _InBounds(F("pk"), F("team_id"), F("owner_id"), scope=scope)


def customers_in_bounds(staff: Staff, *, change: bool) -> Expression | None:
    """``case_rule`` as a condition on customers, rendered in SQL: the customer has at least
    one case inside the boundary (a correlated ``EXISTS`` through the cases' customer
    index); None when nothing is out of bounds. For customers.access.visible_customers.

    The ORM's ``Exists(cases.filter(case_rule(...), customer_id=OuterRef("pk")))`` says the
    same (tests/staff/test_access.py holds them equal) but cost about 0.8 ms of CPU to build
    and compile, as much as the customer search's own query (bench/README.md "#9 desk guard").
    """
    scope = scope_of(staff)
    if scope.everything or (not change and scope.read_other_teams):
        return None
    return _InBounds(F("pk"), scope=scope, of_customer=True)


class _InBounds(Expression):
    """The team boundary's terms in SQL, on the case whose id, team and owner columns are
    given, or (``of_customer``) as ``EXISTS`` a case of the customer whose id is given."""

    output_field = BooleanField()

    def __init__(self, *columns: Any, scope: Scope, of_customer: bool = False) -> None:
        super().__init__()
        self.columns = list(columns)
        self.scope = scope
        self.of_customer = of_customer

    def get_source_expressions(self) -> list[Any]:
        return self.columns

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.columns = list(exprs)

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str | int, ...]]:
        q = connection.ops.quote_name
        # By name, not by import: staff sits below cases and care.
        case_model = apps.get_model("cases", "Case")
        collaborator = apps.get_model("care", "Collaborator")

        def column(model: Any, field: str) -> str:
            return q(model._meta.get_field(field).column)

        params: list[str | int] = []
        compiled = []
        for col in self.columns:
            sql, col_params = compiler.compile(col)
            compiled.append(sql)
            params.extend(col_params)
        if self.of_customer:
            # Aliases of our own, so nothing in an enclosing query is shadowed.
            case = q("cherish_bound_case")
            pk, team, owner = (f"{case}.{column(case_model, f)}" for f in ("id", "team", "owner"))
        else:
            pk, team, owner = compiled
        terms = [f"{team} IS NULL", f"{owner} = %s"]
        rule_params: list[str | int] = [self.scope.staff_id]
        if self.scope.team_ids:
            team_ids = sorted(self.scope.team_ids)
            terms.insert(0, f"{team} IN ({', '.join(['%s'] * len(team_ids))})")
            rule_params[:0] = team_ids
        collab = q("cherish_bound_collaborator")
        terms.append(
            f"{pk} IN (SELECT {collab}.{column(collaborator, 'case')}"
            f" FROM {q(collaborator._meta.db_table)} {collab}"
            f" WHERE {collab}.{column(collaborator, 'staff')} = %s)"
        )
        rule_params.append(self.scope.staff_id)
        rule = f"({' OR '.join(terms)})"
        if not self.of_customer:
            return rule, (*params, *rule_params)
        return (
            f"EXISTS (SELECT 1 FROM {q(case_model._meta.db_table)} {case}"
            f" WHERE {case}.{column(case_model, 'customer')} = {compiled[0]} AND {rule})",
            (*params, *rule_params),
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
    staff.__dict__.pop(_SEE_ALL_CUSTOMERS_ATTR, None)


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


def may_view_all_customers(staff: Staff) -> bool:
    """Does their role grant ``view_all_customers`` (managers, data protection)? Read with
    the profile when ``staff_for_user`` loaded it (no query), else Django's permissions."""
    loaded: bool | None = staff.__dict__.get(_SEE_ALL_CUSTOMERS_ATTR)
    if loaded is None:
        return has_permission(staff, _SEE_ALL_CUSTOMERS[1])
    return loaded or bool(staff.user.is_superuser)


def is_manager(staff: Staff) -> bool:
    return staff.role == Role.MANAGER or bool(staff.user.is_superuser)
