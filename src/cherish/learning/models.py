"""What the organisation learns from complaints: themes, root causes, where problems leaked,
policies, improvement actions, learning stories, and the people side (recognition, pulse
surveys, the creed).

People models live here rather than in ``staff``: recognition is earned from customer
outcomes (cases, care, feedback), which sit above ``staff`` in the layers.
"""

from __future__ import annotations

from django.db import models


class RootCauseCategory(models.TextChoices):
    PEOPLE = "people", "People"
    PROCESS = "process", "Process"
    PRODUCT = "product", "Product"
    POLICY = "policy", "Policy"
    COMMUNICATION = "communication", "Communication"
    PARTNER = "partner", "Partner"


class LeakStep(models.TextChoices):
    """The business step where the problem got in (it is rarely customer care itself)."""

    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    OPERATIONS = "operations", "Operations / delivery"
    CUSTOMER_CARE = "customer_care", "Customer care"
    FINANCE = "finance", "Finance / billing"


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
    ACTIVE = "active", "Active"
    MERGED = "merged", "Merged into another theme"
    SPLIT = "split", "Split into two themes"
    RETIRED = "retired", "Retired by re-clustering"


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
            models.Index(fields=["case_created_at"], name="casetheme_time"),
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
            models.Index(fields=["communication"], name="finding_communication"),
        ]

    def __str__(self) -> str:
        return f"finding on {self.case_id}"


class Communication(models.TextChoices):
    WEBSITE = "website", "Website"
    LETTER = "letter", "Letter"
    INVOICE = "invoice", "Invoice or bill"
    EMAIL = "email", "Email"
    CONTRACT = "contract", "Contract or terms"
    ADVERTISING = "advertising", "Advertising"
    PACKAGING = "packaging", "Packaging or instructions"
