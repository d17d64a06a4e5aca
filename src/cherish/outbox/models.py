"""Everything that leaves Cherish: outgoing email, webhook deliveries, editable message texts.

The outbox sits below every domain app, so it knows cases only as plain ids and references.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Waiting to be sent")
    SENDING = "sending", gettext_lazy("Being sent")
    SENT = "sent", gettext_lazy("Sent")
    FAILED = "failed", gettext_lazy("Failed")


class Deliverable(models.Model):
    """A row a task delivers with retries (see cherish.outbox.retry).

    ``locked_until`` is the lease of the worker that claimed the row: a worker that dies
    mid-delivery leaves a ``sending`` row whose lease runs out, and the sweeper hands it on.
    """

    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def journal_key(self) -> str:
        """This delivery's name in the sent-journal (outbox.journal): the creation time
        keeps it from matching a row that took the same id after a restore from a backup."""
        return f"{self._meta.label_lower}:{self.pk}:{self.created_at.isoformat()}"


class OutgoingEmail(Deliverable):
    to_address = models.CharField(max_length=254)
    from_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField(blank=True)
    # Fixed when queued: a retry after an ambiguous failure carries the same Message-ID, so
    # the receiving side can recognise a duplicate.
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    is_automatic = models.BooleanField(default=False)
    # What the mail is about, as plain values (the outbox sits below cases).
    case_pk = models.BigIntegerField(null=True, blank=True, db_index=True)
    case_reference = models.CharField(max_length=12, blank=True)
    # The case message this email delivers; unique so a message is never queued twice.
    case_message_pk = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="email_due"),
            models.Index(fields=["-created_at"], name="email_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address} ({self.status})"

    def journal_key(self) -> str:
        # The Message-ID is the email's own name, and no other row has it.
        return f"{self._meta.label_lower}:{self.pk}:{self.message_id}"


class WebhookSubscription(models.Model):
    """An integration that wants to hear about case events, configured in the admin."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200, help_text="Shared secret used to sign every delivery (HMAC-SHA256)."
    )
    event_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Event types to send, e.g. ["case.created", "message.added"]. Empty: all.',
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(Deliverable):
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due"),
            models.Index(fields=["-created_at"], name="webhook_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"


class MessageTemplate(models.Model):
    """A text managers edit in the admin (acknowledgements and the like), in one language.

    Placeholders are ``{name}`` words; unknown ones are left as typed. A key without a row
    in the customer's language uses the built-in text translated into that language
    (outbox.actions.render_template).
    """

    key = models.CharField(max_length=60)
    language = models.CharField(
        max_length=8, default="en", help_text="The language of this text: en, de, fr, es, nl, pt."
    )
    description = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="outbox_template_key_language")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"
