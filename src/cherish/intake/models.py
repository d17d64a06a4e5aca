"""Raw inbound material, API keys and idempotency keys: the intake's own records."""

from __future__ import annotations

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _


class RawStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    # Stored with the contact already shaped by its channel, for the intake applier to add to
    # a case in its next batch (intake.applier).
    QUEUED = "queued", _("Waiting to be applied")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored (automatic or unwanted)")
    FAILED = "failed", _("Could not read")


class RawContact(models.Model):
    """Exactly what arrived, stored before anything parses it, so nothing is ever lost."""

    channel = models.CharField(max_length=8)
    received_at = models.DateTimeField(db_index=True)
    # Small payloads (form posts, API JSON) inline; raw email bytes on disk under the data dir.
    payload = models.JSONField(null=True, blank=True)
    raw_path = models.CharField(max_length=200, blank=True)
    raw_size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    # Email only: SHA-256 of Message-ID, sender and what was written (see
    # intake.email.receive). Two deliveries with the same fingerprint are one message; a
    # stranger reusing a Message-ID is not.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=RawStatus.choices, default=RawStatus.RECEIVED)
    error = models.TextField(blank=True)
    # Queued contacts only: what the channel learned (intake.actions.Contact as JSON) and the
    # reference the new case will have, given to the customer before the case exists.
    contact = models.JSONField(null=True, blank=True)
    reference = models.CharField(max_length=12, null=True, blank=True, unique=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="raw_contacts"
    )
    message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["status", "-received_at"], name="raw_status_time")]

    def __str__(self) -> str:
        return f"{self.channel} {self.received_at:%Y-%m-%d %H:%M} {self.status}"


class ApiKey(models.Model):
    """A key of a staff member (acts as them) or of an integration (acts as the system, within
    its scopes): staff/principal.py. Only a SHA-256 hash is kept; the key is shown once."""

    name = models.CharField(max_length=100)
    staff = models.ForeignKey(
        "staff.Staff",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="A staff member's key acts as them (role, teams, authority limits). "
        "Empty: an integration's key, acting as the system within its scopes.",
    )
    # Integration keys only: the KeyScope values it may use, e.g. ["cases:create"].
    scopes = models.JSONField(default=list, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def kind(self) -> str:
        return "staff" if self.staff_id else "integration"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class IdempotencyKey(models.Model):
    """The first response to a request with an Idempotency-Key, replayed for retries."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The queued contact claimed together with this key (one transaction): until the intake
    # applier has added it to a case the key has no response yet, and a retry waits for it.
    raw = models.ForeignKey(
        RawContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return self.key
