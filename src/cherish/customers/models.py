"""Customers and the ways to reach them. One customer may have several emails and phones."""

from __future__ import annotations

from django.db import models


class RelationshipStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ACTIVE = "active", "Active"
    LAPSED = "lapsed", "Lapsed"
    LEFT = "left", "Left"


class Customer(models.Model):
    name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(
        max_length=16, choices=RelationshipStatus.choices, default=RelationshipStatus.ACTIVE
    )
    language = models.CharField(max_length=8, blank=True)
    preferred_channel = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    customer_since = models.DateField(null=True, blank=True)
    opted_out = models.BooleanField(default=False, help_text="Never contact proactively.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when this record was merged into another; the survivor keeps everything.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name or self.primary_contact or f"Customer {self.pk}"

    @property
    def primary_contact(self) -> str:
        points = list(self.contact_points.all())
        return points[0].value if points else ""


class ContactKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"


class ContactPoint(models.Model):
    """An email address (lower-cased) or phone number (E.164) that identifies a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    value = models.CharField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="contact_point_unique_value")
        ]

    def __str__(self) -> str:
        return self.value
