"""Triage results per message and the corrections staff make to them."""

from __future__ import annotations

from django.db import models


class TriageRecord(models.Model):
    """What the model said about one inbound message, with the model version that said it."""

    message = models.OneToOneField(
        "cases.Message", on_delete=models.CASCADE, related_name="triage_record"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    result = models.JSONField()
    model_version = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["case", "-created_at"], name="triage_case_time")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.model_version})"


class Correction(models.Model):
    """A staff member's fix of one triage field: a labelled example for the next model."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=16)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64)
    text = models.TextField(help_text="The message text the label applies to.")
    by = models.ForeignKey("staff.Staff", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    used_in_model = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["field", "created_at"], name="correction_field_time")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"


class ModelVersion(models.Model):
    """A model trained here (`cherish triage train`); the newest active one is used."""

    version = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    corrections_used = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.version
