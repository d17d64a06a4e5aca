"""The admin site: only administrators may enter, and every change made there is audited.

Every model registered on it (by any app, Django's auth included) gets the audit mixin, so
"who changed a role or a setting, from where, when" needs nothing from each app's admin.py.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from cherish.core.client import client_address
from cherish.staff.access import staff_for_user


def _audit(request: HttpRequest, action: str, obj: Model, detail: dict[str, Any]) -> None:
    from cherish.staff.actions import record_audit

    meta = obj._meta
    record_audit(
        action,
        by=staff_for_user(request.user),
        target_type=f"{meta.app_label}.{meta.model_name}"[:30],
        target_id=str(obj.pk),
        detail=detail,
        origin={
            "ip": client_address(request),
            "via": "admin",
            "actor": "" if staff_for_user(request.user) else str(request.user.get_username()),
        },
    )


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        _audit(request, "setting.added", obj, {"change": str(message)[:500]})
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        _audit(request, "setting.changed", obj, {"change": str(message)[:500]})
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        for obj in queryset:
            _audit(request, "setting.deleted", obj, {})
        return super().log_deletions(request, queryset)


class CherishAdminSite(admin.AdminSite):
    site_header = "Cherish administration"
    site_title = "Cherish"

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """No second way in: the admin signs in through Cherish's sign-in page, which is
        throttled and asks for the second factor. A signed-in person who may not use the admin
        gets 403 (sending them to sign in again would loop)."""
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect("admin:index")
            raise PermissionDenied("Only administrators may use the admin.")
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        return redirect_to_login(target, login_url=reverse("core:login"))

    def has_permission(self, request: HttpRequest) -> bool:
        """Administrators only (Django's is_staff, kept in step with the role by set_role);
        a signed-in person who is refused is written to the audit log (the login page
        itself asks too, and is not a refusal)."""
        allowed = super().has_permission(request)
        user = request.user
        if not allowed and user.is_authenticated and request.path != reverse("admin:login"):
            from cherish.staff.actions import record_audit

            staff = staff_for_user(user)
            record_audit(
                "admin.refused",
                by=staff,
                outcome="refused",
                target_type="path",
                target_id=request.path[:60],
                origin={
                    "ip": client_address(request),
                    "via": "admin",
                    "actor": "" if staff else str(user.get_username()),
                },
            )
        return bool(allowed)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, AuditedAdmin):
            base = type(base.__name__, (AuditedAdmin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)
