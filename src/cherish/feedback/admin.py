"""Survey definitions and the survey policy are edited here; answers are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cherish.feedback.models import (
    Compliment,
    Invitation,
    Question,
    Survey,
    SurveyPolicy,
    SurveyResponse,
)


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 1
    fields = [
        "order", "text", "type", "measure", "choices", "min_value", "max_value", "unit",
        "required",
    ]  # fmt: skip


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "purpose", "is_active", "case_kinds", "every_days", "daily_limit"]
    list_filter = ["purpose", "is_active"]
    list_editable = ["is_active"]
    inlines = [QuestionInline]


@admin.register(SurveyPolicy)
class SurveyPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "edit_days", "low_satisfaction"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SurveyPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["survey", "customer", "case", "channel", "status", "skip_reason", "created_at"]
    list_filter = ["survey", "status", "skip_reason", "channel"]
    raw_id_fields = ["customer", "case"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = ["survey", "customer", "case", "csat", "nps", "loyalty_level", "created_at"]
    list_filter = ["survey", "loyalty_level", "raving_fan"]
    raw_id_fields = ["invitation", "customer", "case", "loop_case"]


@admin.register(Compliment)
class ComplimentAdmin(ReadOnlyAdmin):
    list_display = ["staff", "created_at", "text"]
    raw_id_fields = ["response"]
