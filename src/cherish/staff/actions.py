"""Changes to staff, teams, roles, the organisation's policy, and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from cherish.core.clock import now
from cherish.staff.models import AuditEntry, OrgPolicy, Role, Staff, Team
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
