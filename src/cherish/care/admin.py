"""Organisation policy for the care workflow, editable by administrators.

Flows and checklists, targets, business hours and holidays, gesture types and authority
limits, snippets and tone phrases are data. Workflow records (commitments, gestures, ...) are
shown read-only: they change through the desk so that every change is an event.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cherish.care.models import (
    AuthorityLimit,
    BusinessHours,
    Commitment,
    ExternalEscalation,
    Gesture,
    GestureType,
    Holiday,
    Snippet,
    StatusUpdateInterval,
    Target,
    TonePhrase,
    WorkflowStage,
    WorkingDay,
)


@admin.register(WorkflowStage)
class WorkflowStageAdmin(admin.ModelAdmin):
    list_display = ["kind", "order", "stage", "label", "required"]
    list_filter = ["kind"]
    list_editable = ["order", "label"]
    ordering = ["kind", "order"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "severity",
        "first_response_business_minutes",
        "resolution_business_minutes",
        "source",
    ]
    list_filter = ["kind", "source"]
    list_editable = ["first_response_business_minutes", "resolution_business_minutes"]


class WorkingDayInline(admin.TabularInline):
    model = WorkingDay
    extra = 0


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "time_zone"]
    inlines = [WorkingDayInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "team"]
    list_filter = ["team"]
    date_hierarchy = "date"


@admin.register(GestureType)
class GestureTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "is_monetary", "active"]
    list_editable = ["active"]
    prepopulated_fields = {"key": ["name"]}


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(admin.ModelAdmin):
    list_display = ["__str__", "staff", "role", "gesture_type", "per_gesture", "per_month"]
    list_filter = ["role", "gesture_type"]


@admin.register(Snippet)
class SnippetAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["title", "body"]


@admin.register(TonePhrase)
class TonePhraseAdmin(admin.ModelAdmin):
    list_display = ["phrase", "suggestion", "active"]
    list_editable = ["active"]
    search_fields = ["phrase"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Commitment)
class CommitmentAdmin(ReadOnlyAdmin):
    list_display = ["what", "case", "owner", "due_at", "how", "status", "kept_at"]
    list_filter = ["status", "how"]


@admin.register(Gesture)
class GestureAdmin(ReadOnlyAdmin):
    list_display = ["case", "gesture_type", "value", "currency", "status", "requested_by"]
    list_filter = ["status", "gesture_type"]


@admin.register(ExternalEscalation)
class ExternalEscalationAdmin(ReadOnlyAdmin):
    list_display = ["case", "body", "body_name", "escalated_on", "reference"]
    list_filter = ["body"]


@admin.register(StatusUpdateInterval)
class StatusUpdateIntervalAdmin(admin.ModelAdmin):
    list_display = ["kind", "severity", "every_hours", "updated_at"]
    list_editable = ["every_hours"]
    list_filter = ["kind"]
