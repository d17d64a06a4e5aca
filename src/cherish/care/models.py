"""The care workflow's data: stages, commitments, clocks, gestures, collaboration, escalations.

The case spine (cases.Case) belongs to the cases app; everything the recovery workflow adds
lives here and points at it. Rows change only through cherish.care.actions.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from cherish.cases.models import Kind, Severity, Stage


class Requirement(models.TextChoices):
    """What must be recorded before a case may enter a stage (see WorkflowStage.required)."""

    FAIR_OUTCOME = "fair_outcome", gettext_lazy("What the customer would consider fair")
    RESOLUTION = "resolution", gettext_lazy("The resolution")
    PLUS_ONE = "plus_one", gettext_lazy("The +1 gesture")
    FOLLOW_UP = "follow_up", gettext_lazy("A follow-up (satisfaction check or why not)")
    ASSESSMENT = "assessment", gettext_lazy("The initial assessment")
    PERSONAL_REPLY = "personal_reply", gettext_lazy("A personal reply to the customer")


class WorkflowStage(models.Model):
    """One step of a kind's flow, with the checklist an agent sees and what it requires.

    Seeded with the defaults from ISSUE-4 (Gitomer's react → respond → recover → +1 and
    ISO 10002's receipt → assessment → response → closing); editable in the admin. A case may
    only be in a stage that its kind's flow lists (plus "waiting", which pauses any flow).
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    label = models.CharField(max_length=60)
    order = models.PositiveSmallIntegerField()
    checklist = models.TextField(blank=True, help_text="One item per line: what good looks like.")
    required = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "What must be recorded before a case enters this stage: any of fair_outcome, "
            "resolution, plus_one, follow_up, assessment, personal_reply."
        ),
    )

    class Meta:
        ordering = ["kind", "order"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "stage"], name="workflow_stage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.label}"

    @property
    def checklist_items(self) -> list[str]:
        return [line.strip() for line in self.checklist.splitlines() if line.strip()]


class Complexity(models.TextChoices):
    SIMPLE = "simple", gettext_lazy("Simple")
    MODERATE = "moderate", gettext_lazy("Moderate")
    COMPLEX = "complex", gettext_lazy("Complex")


class Impact(models.TextChoices):
    LOW = "low", gettext_lazy("Low")
    MEDIUM = "medium", gettext_lazy("Medium")
    HIGH = "high", gettext_lazy("High")


class FollowUpOutcome(models.TextChoices):
    SATISFIED = "satisfied", gettext_lazy("Satisfied")
    PARTLY = "partly", gettext_lazy("Partly satisfied")
    NOT_SATISFIED = "not_satisfied", gettext_lazy("Not satisfied")
    NO_ANSWER = "no_answer", gettext_lazy("Tried, no answer")
    NOT_DONE = "not_done", gettext_lazy("Not done (reason given)")


class CareState(models.Model):
    """What the care workflow knows about one case, beside the case spine."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="care"
    )
    # Gitomer's "respond": ask them what they think is fair — in their words.
    fair_outcome = models.TextField(blank=True)
    fair_outcome_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    plus_one = models.TextField(blank=True)
    plus_one_at = models.DateTimeField(null=True, blank=True)
    follow_up_outcome = models.CharField(max_length=16, choices=FollowUpOutcome.choices, blank=True)
    follow_up_note = models.TextField(blank=True)
    follow_up_at = models.DateTimeField(null=True, blank=True)
    # ISO 10002 initial assessment (severity itself is on the case).
    complexity = models.CharField(max_length=10, choices=Complexity.choices, blank=True)
    impact = models.CharField(max_length=10, choices=Impact.choices, blank=True)
    needs_immediate_action = models.BooleanField(default=False)
    assessment_note = models.TextField(blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    # The clock pauses while we wait on the customer; totals are added up on resume.
    waiting_since = models.DateTimeField(null=True, blank=True)
    stage_before_wait = models.CharField(max_length=16, blank=True)
    waited_seconds = models.PositiveIntegerField(default=0)
    waited_business_seconds = models.PositiveIntegerField(default=0)
    # Set once by the clock check, so warnings and escalations fire once per case.
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["resolution_warned_at", "resolution_breached_at"], name="care_warned"
            )
        ]

    def __str__(self) -> str:
        return f"care of {self.case_id}"

    @property
    def has_follow_up(self) -> bool:
        return bool(self.follow_up_outcome)

    @property
    def is_assessed(self) -> bool:
        return self.assessed_at is not None


class Target(models.Model):
    """How fast a kind of case at a severity should be answered and resolved, in business time.

    ``source`` says where the figures came from: the organisation's defaults or what customers
    said they expect (the feedback issue sets those).
    """

    class Source(models.TextChoices):
        DEFAULT = "default", gettext_lazy("Organisation default")
        CUSTOMER_EXPECTATION = (
            "customer_expectation",
            gettext_lazy("What customers said they expect"),
        )

    kind = models.CharField(max_length=16, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    first_response_business_minutes = models.PositiveIntegerField()
    resolution_business_minutes = models.PositiveIntegerField()
    source = models.CharField(max_length=24, choices=Source.choices, default=Source.DEFAULT)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "severity"], name="target_kind_severity")
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.severity}"


class BusinessHours(models.Model):
    """A team's working week and time zone; the row without a team is the organisation's."""

    team = models.OneToOneField(
        "staff.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="hours"
    )
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return f"hours of {self.team or 'the organisation'} ({self.time_zone})"


class WorkingDay(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, gettext_lazy("Monday")
        TUESDAY = 1, gettext_lazy("Tuesday")
        WEDNESDAY = 2, gettext_lazy("Wednesday")
        THURSDAY = 3, gettext_lazy("Thursday")
        FRIDAY = 4, gettext_lazy("Friday")
        SATURDAY = 5, gettext_lazy("Saturday")
        SUNDAY = 6, gettext_lazy("Sunday")

    hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="days")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="day_end_after"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Holiday(models.Model):
    """A day nobody works; without a team it applies to every team."""

    team = models.ForeignKey(
        "staff.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="holiday_team_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class CommitmentHow(models.TextChoices):
    CALL = "call", gettext_lazy("Call")
    EMAIL = "email", gettext_lazy("Email")
    VISIT = "visit", gettext_lazy("Visit")
    LETTER = "letter", gettext_lazy("Letter")
    OTHER = "other", gettext_lazy("Other")


class CommitmentStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    KEPT = "kept", gettext_lazy("Kept")
    BROKEN = "broken", gettext_lazy("Broken")


class Commitment(models.Model):
    """A promise to the customer: what, by when, how (the 7 Cs' "committed follow-through")."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="commitments")
    owner = models.ForeignKey("staff.Staff", on_delete=models.PROTECT, related_name="commitments")
    what = models.CharField(max_length=300)
    due_at = models.DateTimeField()
    how = models.CharField(max_length=8, choices=CommitmentHow.choices)
    status = models.CharField(
        max_length=8, choices=CommitmentStatus.choices, default=CommitmentStatus.OPEN
    )
    created_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    kept_at = models.DateTimeField(null=True, blank=True)
    broken_at = models.DateTimeField(null=True, blank=True)
    outcome_note = models.TextField(blank=True)
    # Set once each by the commitment check (idempotent reminders and alerts).
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="commitment_due"),
            models.Index(fields=["owner", "status", "due_at"], name="commitment_owner_due"),
        ]

    def __str__(self) -> str:
        return f"{self.what} by {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def kept_on_time(self) -> bool:
        return self.kept_at is not None and self.kept_at <= self.due_at


class GestureType(models.Model):
    """A kind of goodwill gesture: refund, credit, voucher, replacement, a free extra, a note."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_monetary = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


money_validators = [MinValueValidator(Decimal("0"))]


class AuthorityLimit(models.Model):
    """How much a person (or everyone with a role) may grant without asking.

    The most specific row wins: staff + type, staff, role + type, role. Without any row the
    limit is zero, so every monetary gesture asks the team lead.
    """

    staff = models.ForeignKey(
        "staff.Staff",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="authority_limits",
    )
    role = models.CharField(max_length=16, blank=True, help_text="agent, lead or manager")
    gesture_type = models.ForeignKey(
        GestureType,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Empty: every type of gesture together.",
    )
    per_gesture = models.DecimalField(max_digits=10, decimal_places=2, validators=money_validators)
    per_month = models.DecimalField(max_digits=10, decimal_places=2, validators=money_validators)
    currency = models.CharField(max_length=3, default="GBP")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(staff__isnull=False) | ~Q(role=""), name="limit_staff_or_role"
            ),
        ]

    def __str__(self) -> str:
        who = self.staff or self.role
        return f"{who}: {self.per_gesture}/{self.per_month} {self.currency}"


class GestureStatus(models.TextChoices):
    GRANTED = "granted", gettext_lazy("Granted")
    PENDING = "pending_approval", gettext_lazy("Waiting for approval")
    APPROVED = "approved", gettext_lazy("Approved")
    DECLINED = "declined", gettext_lazy("Declined")


GIVEN_STATUSES = (GestureStatus.GRANTED, GestureStatus.APPROVED)


class Gesture(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="gestures")
    gesture_type = models.ForeignKey(GestureType, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=10, decimal_places=2, validators=money_validators)
    currency = models.CharField(max_length=3, default="GBP")
    description = models.CharField(max_length=300, blank=True)
    # The +1: a bonus beyond putting it right (Gitomer's "customer insurance").
    is_plus_one = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=GestureStatus.choices)
    requested_by = models.ForeignKey("staff.Staff", on_delete=models.PROTECT, related_name="+")
    approver = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "approver"], name="gesture_pending"),
            models.Index(fields=["requested_by", "created_at"], name="gesture_staff_month"),
        ]

    def __str__(self) -> str:
        return f"{self.gesture_type_id} {self.value} {self.currency}"

    @property
    def is_given(self) -> bool:
        return self.status in GIVEN_STATUSES


class Snippet(models.Model):
    """A saved reply (a macro): a reply starter plus optional actions applied with it.

    Placeholders (care.tone.PLACEHOLDERS): {customer_first_name} {customer_name}
    {case_reference} {agent_name} {agent_first_name}, and the older {owner_first_name}
    {reference}. The actions — move to a stage, make a commitment due in N days, add a
    tag — are applied in one step with the reply by ``care.actions.apply_macro``.
    """

    title = models.CharField(max_length=100)
    body = models.TextField()
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    active = models.BooleanField(default=True)
    stage = models.CharField(
        max_length=16, choices=Stage.choices, blank=True, help_text="Move the case to this stage."
    )
    commitment_what = models.CharField(
        max_length=300, blank=True, help_text="Promise this (with the reply), e.g. a call back."
    )
    commitment_how = models.CharField(max_length=16, choices=CommitmentHow.choices, blank=True)
    commitment_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The promise is due this many days after the reply."
    )
    tag = models.CharField(max_length=40, blank=True, help_text="Add this tag to the case.")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def has_actions(self) -> bool:
        return bool(self.stage or self.commitment_what or self.tag)


class TonePhrase(models.Model):
    """A defensive or blaming phrase and a kinder way to say it (a hint, never a block)."""

    phrase = models.CharField(max_length=120, unique=True)
    suggestion = models.CharField(max_length=300)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["phrase"]

    def __str__(self) -> str:
        return self.phrase


class Collaborator(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="collaborators")
    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "staff"], name="collaborator_unique")
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} on {self.case_id}"


class LinkType(models.TextChoices):
    RELATED = "related", gettext_lazy("Related")
    DUPLICATE = "duplicate", gettext_lazy("Duplicate")


class CaseLink(models.Model):
    """Two cases that belong together. One row per pair; read from either side."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="links_from")
    other = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="links_to")
    type = models.CharField(max_length=10, choices=LinkType.choices, default=LinkType.RELATED)
    created_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "other"], name="case_link_unique"),
            models.CheckConstraint(condition=~Q(case=models.F("other")), name="case_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.type} {self.other_id}"


class CaseMerge(models.Model):
    """A duplicate case folded into another. Nothing moves: both timelines stay whole."""

    duplicate = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, related_name="merged_into_row"
    )
    into = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="merged_from")
    merged_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.duplicate_id} → {self.into_id}"


class EscalationBody(models.TextChoices):
    OMBUDSMAN = "ombudsman", gettext_lazy("Ombudsman")
    REGULATOR = "regulator", gettext_lazy("Regulator")
    COURT = "court", gettext_lazy("Court")
    OTHER = "other", gettext_lazy("Other external body")


class ExternalEscalation(models.Model):
    """A complaint taken to an external dispute body (ISO 10003)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="escalations")
    body = models.CharField(max_length=12, choices=EscalationBody.choices)
    body_name = models.CharField(max_length=150, blank=True)
    escalated_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    outcome = models.TextField(blank=True)
    decided_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["escalated_on", "id"]

    def __str__(self) -> str:
        return f"{self.get_body_display()} {self.reference}"


class StatusUpdateInterval(models.Model):
    """How often a customer hears from us, unasked, while their case is open.

    Per kind and severity; ``every_hours`` 0 means never. Without a row the default in
    settings.CHERISH_STATUS_UPDATE_HOURS applies (care.customer_updates).
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    every_hours = models.PositiveIntegerField(help_text="0: no unasked updates.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "severity"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "severity"], name="status_update_interval_kind_severity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.severity}: every {self.every_hours} h"


class StatusUpdate(models.Model):
    """One status update the customer was sent: for an interval (``period``, counted in
    intervals since the case opened) or for a change to our commitments (``event``).

    The unique constraints make each at most once, however many ticks run at once.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    period = models.PositiveIntegerField(null=True, blank=True)
    event = models.OneToOneField(
        "cases.CaseEvent", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email_pk = models.BigIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "period"],
                condition=Q(period__isnull=False),
                name="status_update_case_period",
            )
        ]
        indexes = [models.Index(fields=["case", "-sent_at"], name="status_update_case_time")]

    def __str__(self) -> str:
        return f"update {self.period or self.event_id} on case {self.case_id}"
