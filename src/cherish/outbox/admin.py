from __future__ import annotations

from django import forms
from django.conf import settings
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


class MessageTemplateForm(forms.ModelForm):
    """One text in one language: add a row per language to override the built-in
    translation of that key."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)

    class Meta:
        model = MessageTemplate
        fields = ["key", "language", "description", "subject", "body"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["key", "language", "description", "subject", "updated_at"]
    list_filter = ["language", "key"]
    search_fields = ["key", "subject", "body"]
