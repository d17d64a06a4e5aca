from django.contrib import admin

from cherish.staff.models import AssignmentRule, Staff, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "email"]


@admin.register(Staff)
class StaffAdmin(admin.ModelAdmin):
    list_display = ["display_name", "team", "role", "is_available", "last_assigned_at"]
    list_filter = ["team", "role", "is_available"]
    search_fields = ["display_name", "user__username", "user__email"]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "channel", "team", "priority"]
    list_editable = ["priority"]
