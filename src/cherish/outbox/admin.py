from __future__ import annotations

from django.contrib import admin

from cherish.outbox.models import (
    MessageTemplate,
    OutgoingEmail,
    WebhookDelivery,
    WebhookSubscription,
)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "event_type", "status", "attempts", "response_code"]
    list_filter = ["status", "event_type"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["id", "to_address", "subject", "status", "attempts", "created_at"]
    list_filter = ["status", "is_automatic"]
    search_fields = ["to_address", "subject", "case_reference", "message_id"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["key", "description", "subject", "updated_at"]
    search_fields = ["key", "subject", "body"]
