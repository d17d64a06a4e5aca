from django.contrib import admin

from cherish.scorecard.models import Assumptions


@admin.register(Assumptions)
class AssumptionsAdmin(admin.ModelAdmin):
    list_display = ("silent_per_complaint", "unhappy_tell", "recovered_tell", "active_after_days")

    def has_add_permission(self, request):  # one row
        return not Assumptions.objects.exists()
