"""Staff, teams and the rule that decides which team owns a new case."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    LEAD = "lead", "Team lead"
    MANAGER = "manager", "Manager"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    lead = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Staff(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff"
    )
    display_name = models.CharField(max_length=120)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    is_available = models.BooleanField(
        default=True, help_text="Available staff receive new cases by round-robin."
    )
    # Round-robin pointer: the member assigned longest ago gets the next case.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    signature = models.TextField(blank=True)

    class Meta:
        ordering = ["display_name"]
        verbose_name_plural = "staff"
        indexes = [models.Index(fields=["team", "is_available", "last_assigned_at"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def first_name(self) -> str:
        return self.display_name.split(" ")[0]

    @property
    def is_lead(self) -> bool:
        return self.role in (Role.LEAD, Role.MANAGER)


class AssignmentRule(models.Model):
    """Which team receives new cases of a kind (and optionally from one channel)."""

    kind = models.CharField(max_length=16, help_text="complaint, inquiry, compliment or suggestion")
    channel = models.CharField(max_length=16, blank=True, help_text="Empty: every channel.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="assignment_rules")
    priority = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel or '*'} → {self.team}"
