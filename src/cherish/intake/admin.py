"""API keys in the admin: create one for a staff member or an integration, see it once, revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from cherish.intake.apikeys import PREFIX_LENGTH, new_key, record_key_created, revoke_api_keys
from cherish.intake.models import ApiKey
from cherish.staff.access import staff_for_user
from cherish.staff.audit import origin_of
from cherish.staff.principal import SCOPE_HELP, parse_scopes


def _origin(request: HttpRequest) -> dict[str, str]:
    origin = origin_of(request)
    if staff_for_user(request.user) is None:  # the break-glass account may have no profile
        origin["actor"] = str(request.user.get_username())
    return origin


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        choices=[(scope.value, f"{scope.value} — {text}") for scope, text in SCOPE_HELP.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For an integration's key only (leave empty for a staff member's key).",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "staff", "scopes"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scopes = data.get("scopes") or []
        if data.get("staff") and scopes:
            raise forms.ValidationError(
                "A staff member's key acts as them; give scopes only to an integration's key."
            )
        if not data.get("staff") and not scopes:
            raise forms.ValidationError(
                "Choose the staff member the key acts as, or the scopes of an integration key."
            )
        data["scopes"] = parse_scopes(list(scopes))
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApiKeyForm
    list_display = ["name", "prefix", "kind", "staff", "scopes", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "staff__user__username"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        # A key's owner and powers are fixed once it is handed out: make a new key instead.
        if obj is not None:
            return ["name", "staff", "scopes", "prefix", "created_at", "last_used_at", "revoked_at"]
        return []

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any
    ) -> Any:
        if obj is not None:
            kw["form"] = forms.ModelForm
            kw["fields"] = []
        return super().get_form(request, obj, change, **kw)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        key = new_key()
        obj.prefix = key[:PREFIX_LENGTH]
        obj.key_hash = ApiKey.hash_key(key)
        super().save_model(request, obj, form, change)
        record_key_created(obj, by=staff_for_user(request.user), origin=_origin(request))
        messages.warning(
            request,
            f"The key for “{obj.name}” is {key} — copy it now: it is shown only this once "
            "and only its hash is stored.",
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: idempotency records and the audit keep the key's row

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = revoke_api_keys(queryset, by=staff_for_user(request.user), origin=_origin(request))
        messages.success(request, f"Revoked {count} key(s).")
