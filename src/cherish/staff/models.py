"""Staff, teams, roles, the organisation's access policy, the audit log, and the rule that
decides which team owns a new case."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Role(models.TextChoices):
    """A staff member's place in a team's chain; what each role may do is the permission set
    of the group of the same name (editable in the admin, see staff/roles.py)."""

    AGENT = "agent", "Agent"
    LEAD = "lead", "Team lead"
    MANAGER = "manager", "Manager"
    ADMINISTRATOR = "administrator", "Administrator"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    lead = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manager = models.ForeignKey(
        "staff.Staff",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Above the lead in this team's chain: sees the team's cases, decides what the "
        "lead cannot.",
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
    extra_teams = models.ManyToManyField(
        Team,
        blank=True,
        related_name="extra_members",
        help_text="Other teams this person also works for: they see and work those cases too.",
    )
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
        # The permissions the role groups are made of (staff/roles.py); declared here, with
        # the roles, so one app owns the whole permission catalogue.
        permissions = [
            ("erase_customer", "Erase a customer's personal data"),
            ("merge_customers", "Merge and unmerge customer records"),
            ("export_customer", "Export a customer's personal data"),
            ("view_all_customers", "See every customer, whoever's cases they have"),
            ("view_audit_log", "Read and export the audit log"),
        ]

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


class OrgPolicy(models.Model):
    """The organisation's access choices, edited by administrators in the admin (one row).

    Kept in the database, not in settings, because it is the organisation's decision and may
    change without a deploy (STYLE.md 5.3 rule 8: org policy in the DB).
    """

    other_teams_may_read = models.BooleanField(
        default=False,
        help_text="Staff may read (never change) the cases and customers of teams they are "
        "not in. Off: each team sees only its own work.",
    )
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Everyone signs in with a second factor (an authenticator app). "
        "Administrators always must.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organisation policy"
        verbose_name_plural = "organisation policy"

    def __str__(self) -> str:
        return "Organisation policy"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1  # one row: the organisation's
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: object) -> int:
        raise ValidationError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValidationError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Who did or tried what, to which object, from where, when. Append-only.

    Holds ids, never a customer's words, name or address, so erasing a customer leaves the
    audit trail intact without keeping their personal data.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the record must still say who when the account is gone.
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=60, db_index=True)
    outcome = models.CharField(max_length=8, default="done")  # done | refused
    target_type = models.CharField(max_length=30, blank=True)
    target_id = models.CharField(max_length=60, blank=True)
    via = models.CharField(max_length=10, blank=True)  # desk | api | admin | command
    ip = models.CharField(max_length=45, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.outcome}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValidationError("The audit log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValidationError("The audit log is append-only.")
