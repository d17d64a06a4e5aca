from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cherish.core.client import client_address
from cherish.staff.access import staff_for_user
from cherish.staff.models import AssignmentRule, AuditEntry, OrgPolicy, Staff, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "manager", "email"]


@admin.register(Staff)
class StaffAdmin(admin.ModelAdmin):
    list_display = ["display_name", "team", "role", "is_available", "last_assigned_at"]
    list_filter = ["team", "role", "is_available"]
    search_fields = ["display_name", "user__username", "user__email"]
    filter_horizontal = ["extra_teams"]

    def save_model(self, request: HttpRequest, obj: Staff, form: Any, change: bool) -> None:
        from cherish.staff.actions import set_role

        new_role = obj.role
        role_changed = not change or "role" in form.changed_data
        if change and role_changed:
            obj.role = form.initial.get("role", obj.role)
        super().save_model(request, obj, form, change)
        if role_changed:
            # The role moves the person between permission groups: through the one action.
            set_role(
                obj,
                role=new_role,
                by=staff_for_user(request.user),
                origin={"ip": client_address(request), "via": "admin"},
            )


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "channel", "team", "priority"]
    list_editable = ["priority"]


@admin.register(OrgPolicy)
class OrgPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "other_teams_may_read", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not OrgPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only (the desk page exports it as CSV)."""

    list_display = ["at", "actor_label", "action", "outcome", "target_type", "target_id", "ip"]
    list_filter = ["action", "outcome", "via"]
    search_fields = ["actor_label", "target_id", "action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("staff.view_audit_log"))
