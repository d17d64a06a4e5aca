from django.contrib import admin

from cherish.customers.models import ContactPoint, Customer


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "status", "external_id", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "external_id", "contact_points__value"]
    inlines = [ContactPointInline]
