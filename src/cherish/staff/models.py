"""Staff, teams, roles, the organisation's access policy, the audit log, and the rule that
decides which team owns a new case."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A staff member's place in a team's chain; what each role may do is the permission set
    of the group of the same name (editable in the admin, see staff/roles.py)."""

    AGENT = "agent", _("Agent")
    LEAD = "lead", _("Team lead")
    MANAGER = "manager", _("Manager")
    ADMINISTRATOR = "administrator", _("Administrator")


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
        indexes = [
            models.Index(fields=["team", "is_available", "last_assigned_at"]),
            # The inbox's sort by owner reads the staff in this order (desk.queries).
            models.Index(fields=["display_name"], name="staff_display_name"),
        ]
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


# ---------------------------------------------------------------- people: recognition, pulse, creed
# Customer relations mirror employee relations (the source articles): credit for good care,
# a voice for staff, and the organisation's promise in words. Never a ranking by call counts
# or handling time.


class RecognitionKind(models.TextChoices):
    COMPLIMENT = "compliment", _("Compliment from a customer")
    RECOVERY = "recovery", _("Won back an unhappy customer")
    COMMITMENT_KEPT = "commitment_kept", _("Kept a promise to a customer")
    SATISFACTION = "satisfaction", _("Praised in a customer survey")
    PEER = "peer", _("Thanks from a colleague")


class Recognition(models.Model):
    """Credit earned from a customer outcome, or given by a colleague."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="recognitions")
    kind = models.CharField(max_length=16, choices=RecognitionKind.choices)
    message = models.TextField(blank=True)
    # The case it came from, by public reference (staff sits below cases in the layers).
    case_reference = models.CharField(max_length=12, blank=True)
    from_staff = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where a derived recognition came from ("event:123"), so collecting twice adds nothing.
    source_key = models.CharField(max_length=60, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["staff", "-created_at"], name="recognition_staff_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.staff_id}"


class Nomination(models.Model):
    """A monthly service-excellence nomination, with the evidence attached when made."""

    month = models.DateField(help_text="The first day of the month.")
    nominee = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="nominations")
    nominated_by = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    evidence = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "nominee__display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "nominee", "nominated_by"], name="nomination_once_a_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.nominee_id} for {self.month:%B %Y}"


class PulseSurvey(models.Model):
    """An anonymous staff pulse: how staff feel about service, tools and support."""

    title = models.CharField(max_length=200)
    questions = models.JSONField(default=list)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    created_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-opens_at"]

    def __str__(self) -> str:
        return self.title


class PulseParticipation(models.Model):
    """That someone answered (so nobody answers twice) — never what they answered."""

    survey = models.ForeignKey(PulseSurvey, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "staff"], name="pulse_answer_once")
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} answered {self.survey_id}"


def _random_key() -> uuid.UUID:
    return uuid.uuid4()


class PulseResponse(models.Model):
    """One anonymous answer: the team, the scores, a comment; no person, no time, a random
    key (so answers cannot be put in order and matched to who answered)."""

    id = models.UUIDField(primary_key=True, default=_random_key, editable=False)
    survey = models.ForeignKey(PulseSurvey, on_delete=models.CASCADE, related_name="responses")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answers = models.JSONField(default=dict)  # {"0": 4, "1": 2, ...}: 1 (low) to 5 (high)
    comment = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"answer to {self.survey_id}"


class PlanStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class PulseActionPlan(models.Model):
    """What we will do about what the pulse told us."""

    survey = models.ForeignKey(PulseSurvey, on_delete=models.CASCADE, related_name="plans")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    owner = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=PlanStatus.choices, default="open")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["status", "due_date", "-created_at"]

    def __str__(self) -> str:
        return self.title


class Creed(models.Model):
    """The organisation's customer-service creed (one row), shown to staff and customers:
    ``text`` in the organisation's own language (settings.LANGUAGE_CODE), ``translations``
    the creed the organisation wrote for other languages ({language code: text}), shown
    where a page is in that language (staff.queries.creed_text)."""

    text = models.TextField()
    translations = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "Customer-service creed"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1  # one row: the organisation's
        super().save(*args, **kwargs)  # type: ignore[arg-type]
