"""Customers and the ways to reach them. One customer may have several emails and phones.

Also what the organisation knows about the relationship: transactions (orders, deliveries,
appointments, renewals), important dates, why a customer left, and the customer-level event
log (imports, merges, exports, erasure) that does not belong to any one case.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from cherish.core.db import MonthDay


class RelationshipStatus(models.TextChoices):
    PROSPECT = "prospect", gettext_lazy("Prospect")
    ACTIVE = "active", gettext_lazy("Active")
    LAPSED = "lapsed", gettext_lazy("Lapsed")
    LEFT = "left", gettext_lazy("Left")


class Customer(models.Model):
    name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(
        max_length=16, choices=RelationshipStatus.choices, default=RelationshipStatus.ACTIVE
    )
    # The language we write to the customer in (an ISO 639-1 code of settings.LANGUAGES) and
    # how we learned it (LanguageSource): a choice outranks their messages, which outrank
    # their browser (customers.actions.remember_language).
    language = models.CharField(max_length=8, blank=True)
    language_source = models.CharField(max_length=8, blank=True)
    preferred_channel = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    # When the customer is happy to be called, in their own time zone; empty means any time.
    contact_hours_start = models.TimeField(null=True, blank=True)
    contact_hours_end = models.TimeField(null=True, blank=True)
    customer_since = models.DateField(null=True, blank=True)
    opted_out = models.BooleanField(default=False, help_text="Never contact proactively.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when this record was merged into another; the survivor keeps everything.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    # customer_since's month and day (3 June -> 603), kept by the database on every write:
    # the moments page reads a day's anniversaries of becoming a customer from an index in
    # name order and stops after a page (outreach.moments).
    since_md = models.GeneratedField(
        expression=MonthDay("customer_since"),
        output_field=models.IntegerField(null=True),
        db_persist=True,
    )

    class Meta:
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["since_md", "name", "id"], name="customer_since_md"),
        ]

    def __str__(self) -> str:
        return self.name or self.primary_contact or f"Customer {self.pk}"

    @property
    def primary_contact(self) -> str:
        points = list(self.contact_points.all())
        return points[0].value if points else ""


class ContactKind(models.TextChoices):
    EMAIL = "email", gettext_lazy("Email")
    PHONE = "phone", gettext_lazy("Phone")


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


class TransactionKind(models.TextChoices):
    ORDER = "order", gettext_lazy("Order")
    DELIVERY = "delivery", gettext_lazy("Delivery")
    APPOINTMENT = "appointment", gettext_lazy("Appointment")
    RENEWAL = "renewal", gettext_lazy("Renewal")
    OTHER = "other", gettext_lazy("Other")


# Statuses whose amount is not money the customer actually spent with us.
NON_VALUE_STATUSES = ("cancelled", "canceled", "refunded", "failed", "void")


def default_currency() -> str:
    return str(getattr(settings, "CHERISH_CURRENCY", "GBP"))


class Transaction(models.Model):
    """Whatever the organisation sells, as it happened: imported from CSV or posted by the API."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="transactions")
    external_id = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=TransactionKind.choices)
    status = models.CharField(max_length=32, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default=default_currency)
    occurred_at = models.DateTimeField()
    description = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="transaction_customer_time"),
            models.Index(fields=["kind", "occurred_at"], name="transaction_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id}"


class CustomerEvent(models.Model):
    """Append-only log of customer-level actions: import, merge, unmerge, export, erase, left."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    actor = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="customer_event_time"),
            models.Index(fields=["type", "created_at"], name="customer_event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} on customer {self.customer_id}"


class DateKind(models.TextChoices):
    BIRTHDAY = "birthday", gettext_lazy("Birthday")
    ANNIVERSARY = "anniversary", gettext_lazy("Anniversary")
    CUSTOM = "custom", gettext_lazy("Other date")


class ImportantDate(models.Model):
    """A date that matters to the customer. Only ever shown to staff, never to other customers."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="important_dates")
    kind = models.CharField(max_length=16, choices=DateKind.choices)
    date = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    recurring = models.BooleanField(default=True, help_text="Comes back every year.")
    created_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The date's month and day (10 May -> 510), kept by the database: a day's birthdays and
    # anniversaries in any year are one index range (outreach.moments).
    date_md = models.GeneratedField(
        expression=MonthDay("date"), output_field=models.IntegerField(), db_persist=True
    )

    class Meta:
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["customer", "date"], name="important_date_customer"),
            # One-off dates are looked up by date, recurring ones by month and day
            # (outreach.moments).
            models.Index(fields=["date"], name="important_date_date"),
            models.Index(fields=["date_md"], name="important_date_md"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date:%d %b}"


class LeaveReasonKind(models.TextChoices):
    """Why customers leave, in the order of the published research (seed 000 and 001)."""

    DIED = "died", gettext_lazy("Died")
    MOVED_AWAY = "moved_away", gettext_lazy("Moved away")
    FRIEND = "buys_from_friend", gettext_lazy("Buys from a friend")
    COMPETITOR = "competitor", gettext_lazy("Sold by a competitor")
    PRODUCT_PRICE = "product_price", gettext_lazy("Product or price")
    INDIFFERENCE = "indifference", gettext_lazy("Felt we didn't care")
    OTHER = "other", gettext_lazy("Other")


# Published distribution of why customers leave (percent); "other" is not in the research.
LEAVE_REASON_BENCHMARK: dict[str, int] = {
    LeaveReasonKind.DIED: 1,
    LeaveReasonKind.MOVED_AWAY: 3,
    LeaveReasonKind.FRIEND: 5,
    LeaveReasonKind.COMPETITOR: 9,
    LeaveReasonKind.PRODUCT_PRICE: 14,
    LeaveReasonKind.INDIFFERENCE: 68,
}
# Nobody should be asked to come back after they died or moved out of reach.
NO_WIN_BACK_REASONS = (LeaveReasonKind.DIED, LeaveReasonKind.MOVED_AWAY)


class LeaveReason(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="leave_reasons")
    reason = models.CharField(max_length=20, choices=LeaveReasonKind.choices)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=16, default="staff", help_text="staff or import")
    recorded_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["reason", "recorded_at"], name="leave_reason_time")]

    def __str__(self) -> str:
        return self.get_reason_display()

    @property
    def allows_win_back(self) -> bool:
        return self.reason not in NO_WIN_BACK_REASONS


class DuplicateStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Waiting for review")
    MERGED = "merged", gettext_lazy("Merged")
    DISMISSED = "dismissed", gettext_lazy("Not the same person")


class PossibleDuplicate(models.Model):
    """Two records that may be one person, offered to staff to merge or dismiss.

    Written when a contact only weakly matches someone (a phone number or a name another
    customer also has): households share phones and people mistype numbers, so a weak
    match never joins two records on its own. ``first`` is always the lower id, so a pair
    is stored once; a dismissed pair is not offered again.
    """

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    # Codes only ("same_phone", "same_name"): the evidence itself stays on the records.
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    # The background scan's strength of evidence (outreach.identity.scan_duplicates); the
    # desk page reads open pairs in this order down the possible_duplicate_ranked index.
    score = models.FloatField(default=0.0)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="possible_duplicate_pair"),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")),
                name="possible_duplicate_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="possible_duplicate_open"),
            models.Index(fields=["status", "-score", "-id"], name="possible_duplicate_ranked"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.status})"
