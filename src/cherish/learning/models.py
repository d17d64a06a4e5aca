"""What the organisation learns from complaints: themes, root causes, where problems leaked,
policies, improvement actions, learning stories, and the people side (recognition, pulse
surveys, the creed).

People models live here rather than in ``staff``: recognition is earned from customer
outcomes (cases, care, feedback), which sit above ``staff`` in the layers.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RootCauseCategory(models.TextChoices):
    PEOPLE = "people", _("People")
    PROCESS = "process", _("Process")
    PRODUCT = "product", _("Product")
    POLICY = "policy", _("Policy")
    COMMUNICATION = "communication", _("Communication")
    PARTNER = "partner", _("Partner")


class LeakStep(models.TextChoices):
    """The business step where the problem got in (it is rarely customer care itself)."""

    MARKETING = "marketing", _("Marketing")
    SALES = "sales", _("Sales")
    OPERATIONS = "operations", _("Operations / delivery")
    CUSTOMER_CARE = "customer_care", _("Customer care")
    FINANCE = "finance", _("Finance / billing")


class RootCause(models.Model):
    """One entry of the organisation's root-cause taxonomy (editable in the admin)."""

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(max_length=16, choices=RootCauseCategory.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class ThemeModel(models.Model):
    """One fitted theme space (see learning.themes): vocabulary, idf, LSA directions."""

    created_at = models.DateTimeField()
    n_texts = models.PositiveIntegerField()
    n_clusters = models.PositiveSmallIntegerField()
    seconds = models.FloatField(default=0)
    space = models.BinaryField()

    class Meta:
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"themes fitted {self.created_at:%Y-%m-%d %H:%M} on {self.n_texts} complaints"


class ThemeStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MERGED = "merged", _("Merged into another theme")
    SPLIT = "split", _("Split into two themes")
    RETIRED = "retired", _("Retired by re-clustering")


class Theme(models.Model):
    """A group of complaints about the same thing.

    ``pinned`` themes were shaped by staff (renamed, merged, split): re-clustering re-learns
    their prototypes from the complaints they hold but never renames, merges or splits them.
    """

    name = models.CharField(max_length=200)
    name_set_by_staff = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=ThemeStatus.choices, default="active")
    pinned = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    split_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_into"
    )
    top_terms = models.JSONField(default=list, blank=True)
    # Unit vectors (m, d) in ``model``'s space, saved with numpy.save (no pickle).
    prototypes = models.BinaryField(default=b"")
    model = models.ForeignKey(ThemeModel, null=True, on_delete=models.SET_NULL, related_name="+")
    case_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-case_count", "name"]
        indexes = [models.Index(fields=["status", "-case_count"], name="theme_status_count")]

    def __str__(self) -> str:
        return self.name


class CaseTheme(models.Model):
    """The theme a complaint belongs to, and the words of the complaint that put it there."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, related_name="theme_assignment"
    )
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="assignments")
    similarity = models.FloatField()
    words = models.JSONField(default=list, blank=True)
    # Copied from the case so counts by theme and week are one index range.
    case_created_at = models.DateTimeField()
    assigned_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["theme", "case_created_at"], name="casetheme_theme_time"),
            # Covers "complaints per theme in a period" (rising themes, this week) without
            # reading the rows.
            models.Index(fields=["case_created_at", "theme"], name="casetheme_time_theme"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} in {self.theme_id}"


class CaseFinding(models.Model):
    """Why a complaint happened: root cause and the business step where it leaked."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="finding")
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    leak_step = models.CharField(max_length=16, choices=LeakStep.choices, blank=True)
    # Our own communication that was wrong or missing (website, letter, invoice ...).
    communication = models.CharField(max_length=16, blank=True)
    communication_note = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    # The case's team when recorded: training needs are shown by team, never by name.
    team = models.ForeignKey(
        "staff.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_created_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["root_cause", "case_created_at"], name="finding_cause_time"),
            models.Index(fields=["communication", "case_created_at"], name="finding_comm_time"),
        ]

    def __str__(self) -> str:
        return f"finding on {self.case_id}"


class Communication(models.TextChoices):
    WEBSITE = "website", _("Website")
    LETTER = "letter", _("Letter")
    INVOICE = "invoice", _("Invoice or bill")
    EMAIL = "email", _("Email")
    CONTRACT = "contract", _("Contract or terms")
    ADVERTISING = "advertising", _("Advertising")
    PACKAGING = "packaging", _("Packaging or instructions")


# ---------------------------------------------------------------- policy register


class Policy(models.Model):
    """A policy or procedure of the organisation, with who owns it and when it is reviewed."""

    title = models.CharField(max_length=200, unique=True)
    summary = models.TextField(blank=True)
    owner = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_by = models.DateField(null=True, blank=True)
    # Words that, in a reply saying "our policy ...", tie the complaint to this policy.
    phrases = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated: a reply that quotes our policy and uses one of these "
        "links the complaint to this policy.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.title

    @property
    def phrase_list(self) -> list[str]:
        return [p.strip().lower() for p in self.phrases.split(",") if p.strip()]


class PolicyLinkSource(models.TextChoices):
    TAGGED = "tagged", _("Tagged by staff")
    REPLY = "reply", _("Quoted in a reply")


class PolicyLink(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="policy_links")
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="links")
    source = models.CharField(max_length=8, choices=PolicyLinkSource.choices)
    case_created_at = models.DateTimeField()
    linked_at = models.DateTimeField()
    linked_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "policy"], name="policy_link_once")]
        indexes = [models.Index(fields=["policy", "case_created_at"], name="policy_link_time")]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.policy_id}"


class Cursor(models.Model):
    """How far a scan (replies for policy phrases, events for recognition) has read."""

    name = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"


# ---------------------------------------------------------------- competitors


class Competitor(models.Model):
    name = models.CharField(max_length=120, unique=True)
    aliases = models.CharField(
        max_length=300, blank=True, help_text="Comma-separated other spellings."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def names(self) -> list[str]:
        return [self.name, *(a.strip() for a in self.aliases.split(",") if a.strip())]


class CompetitorMention(models.Model):
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="competitor_mentions"
    )
    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="mentions")
    # What the customer compares: price, speed, service, quality, offer.
    aspects = models.JSONField(default=list, blank=True)
    snippet = models.CharField(max_length=300)
    case_created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "competitor"], name="competitor_mention_once")
        ]
        indexes = [
            models.Index(fields=["competitor", "case_created_at"], name="mention_time"),
        ]

    def __str__(self) -> str:
        return f"{self.competitor_id} in {self.case_id}"


# ---------------------------------------------------------------- improvement actions (CAPA)


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ImprovementAction(models.Model):
    """A corrective or preventive change made because of complaints.

    ``you_said`` / ``we_did`` are the organisation's public words, shown on the "You said,
    we did" page once a manager publishes the action.
    """

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    theme = models.ForeignKey(
        Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="improvement_actions")
    owner = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default="planned")
    completed_at = models.DateTimeField(null=True, blank=True)
    you_said = models.TextField(blank=True)
    we_did = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="action_status_due"),
            models.Index(fields=["-published_at"], name="action_published"),
        ]

    def __str__(self) -> str:
        return self.title


class ActionNotice(models.Model):
    """A customer told by email that their complaint led to this change (once each)."""

    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="notices")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    email_id = models.BigIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action", "customer"], name="action_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.action_id} told {self.customer_id}"


# ---------------------------------------------------------------- learning stories


class StoryKind(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent care")
    FAILURE = "failure", _("We let a customer down")


class LearningStory(models.Model):
    """A short story from a resolved case: what happened, what we learned, what we changed."""

    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="stories"
    )
    kind = models.CharField(max_length=10, choices=StoryKind.choices)
    title = models.CharField(max_length=200)
    what_happened = models.TextField()
    what_we_learned = models.TextField()
    what_we_changed = models.TextField(blank=True)
    for_onboarding = models.BooleanField(
        default=False, help_text="New staff see it in their first weeks."
    )
    author = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "learning stories"
        indexes = [models.Index(fields=["for_onboarding", "-created_at"], name="story_onboarding")]

    def __str__(self) -> str:
        return self.title


class StoryCirculation(models.Model):
    story = models.ForeignKey(LearningStory, on_delete=models.CASCADE, related_name="circulations")
    team = models.ForeignKey("staff.Team", on_delete=models.CASCADE, related_name="+")
    circulated_at = models.DateTimeField()
    circulated_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "team"], name="story_circulated_once")
        ]
        indexes = [models.Index(fields=["team", "-circulated_at"], name="circulation_team")]

    def __str__(self) -> str:
        return f"{self.story_id} to {self.team_id}"


class StoryRead(models.Model):
    """A read receipt: this staff member opened the story (first time only)."""

    story = models.ForeignKey(LearningStory, on_delete=models.CASCADE, related_name="reads")
    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["story", "staff"], name="story_read_once")]

    def __str__(self) -> str:
        return f"{self.staff_id} read {self.story_id}"


class CustomerCount(models.Model):
    """How many customers (not merged into another) existed at the end of a UTC day.

    The effectiveness check's denominator, read instead of counting every customer per
    request; rebuilt once a day by ``learning_tick`` (``refresh_customer_counts``). Customers
    merged since the last rebuild are still counted until the next one.
    """

    day = models.DateField(unique=True)
    customers = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.customers} customers at the end of {self.day}"


class WeeklyReport(models.Model):
    """The week's "what our customers told us" email, sent once per week."""

    week_start = models.DateField(unique=True)
    sent_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"report for week of {self.week_start}"
