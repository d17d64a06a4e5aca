"""Roles as permission sets: one Django group per role, editable in the admin.

Why Django groups and permissions: the admin already edits them, ``user.has_perm`` already
caches them per request, and an organisation can move a permission from one role to another
(say, let leads export) without a deploy. ``Staff.role`` says where a person stands in a
team's chain (agent < lead < manager) — routing and approvals read it — and keeps the
person in the matching group; the data-protection permission set is a group of its own,
given to people on top of their role.

The defaults below are written only when a group is first created: after that the admin's
edits win.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from cherish.staff.models import Role

DATA_PROTECTION = "Data protection"

ROLE_GROUPS: dict[str, str] = {
    Role.AGENT: "Agent",
    Role.LEAD: "Team lead",
    Role.MANAGER: "Manager",
    Role.ADMINISTRATOR: "Administrator",
}

# Codenames of staff.Staff's custom permissions (see Staff.Meta.permissions).
DEFAULTS: dict[str, list[str]] = {
    "Agent": [],
    # A lead erasing or merging is the lead's approval; agents ask their lead.
    "Team lead": ["erase_customer", "merge_customers"],
    "Manager": [
        "erase_customer",
        "merge_customers",
        "export_customer",
        "view_all_customers",
        "view_audit_log",
    ],
    "Administrator": ["view_audit_log"],
    DATA_PROTECTION: ["export_customer", "view_all_customers"],
}
# Administrators configure: every model permission of the configuration apps (not customer
# records, cases or messages: those are worked at the desk, under the team rules).
ADMIN_APPS = ["auth", "staff", "care", "outbox"]


def _default_permissions(group_name: str) -> list[Permission]:
    names = DEFAULTS.get(group_name, [])
    query = Q(content_type__app_label="staff", codename__in=names)
    if group_name == "Administrator":
        custom = [code for code, _ in _custom_codenames()]
        query |= Q(content_type__app_label__in=ADMIN_APPS) & ~Q(
            content_type__app_label="staff", codename__in=custom
        )
    return list(Permission.objects.filter(query))


def _custom_codenames() -> list[tuple[str, str]]:
    from cherish.staff.models import Staff

    return list(Staff._meta.permissions)


def ensure_role_groups() -> dict[str, Group]:
    """The role groups (and data protection), created with their defaults when missing."""
    groups = {}
    for name in [*ROLE_GROUPS.values(), DATA_PROTECTION]:
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.set(_default_permissions(name))
        groups[name] = group
    return groups
