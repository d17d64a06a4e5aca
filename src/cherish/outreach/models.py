"""Proactive care: follow-ups after transactions, moments that matter, the churn radar."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _


class FollowUpRule(models.Model):
    """ "3 days after a delivery, ask: did everything go as expected?" """

    name = models.CharField(max_length=100)
    transaction_kind = models.CharField(max_length=16, help_text="order, delivery, appointment …")
    delay_days = models.PositiveSmallIntegerField(default=3)
    question = models.CharField(max_length=300, default="Did everything go as expected?")
    channel = models.CharField(max_length=8, default="email", editable=False)
    # Local time in the customer's time zone during which nobody is contacted. A window may
    # wrap past midnight (21:00–08:00).
    quiet_hours_start = models.TimeField(default=dt.time(20, 0))
    quiet_hours_end = models.TimeField(default=dt.time(9, 0))
    # At most `frequency_cap` follow-ups (from any rule) per customer per `frequency_days`.
    frequency_cap = models.PositiveSmallIntegerField(default=1)
    frequency_days = models.PositiveSmallIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["transaction_kind", "delay_days", "id"]

    def __str__(self) -> str:
        return self.name


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")


class FollowUpAnswer(models.TextChoices):
    YES = "yes", gettext_lazy("Yes")
    NOT_QUITE = "not_quite", gettext_lazy("Not quite")
    NO = "no", gettext_lazy("No")


class FollowUp(models.Model):
    rule = models.ForeignKey(FollowUpRule, on_delete=models.CASCADE, related_name="follow_ups")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="follow_ups"
    )
    transaction = models.ForeignKey(
        "customers.Transaction", on_delete=models.CASCADE, related_name="follow_ups"
    )
    status = models.CharField(
        max_length=16, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED
    )
    skip_reason = models.CharField(max_length=100, blank=True)
    scheduled_for = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.CharField(max_length=254, blank=True)
    # The outbox row that carries the question (cherish.outbox.OutgoingEmail).
    email_pk = models.BigIntegerField(null=True, blank=True)
    answer = models.CharField(max_length=12, choices=FollowUpAnswer.choices, blank=True)
    answer_comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "transaction"], name="follow_up_once")
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="follow_up_due"),
            models.Index(fields=["customer", "sent_at"], name="follow_up_customer"),
        ]

    def __str__(self) -> str:
        return f"Follow-up {self.pk} ({self.status})"


class MomentSent(models.Model):
    """A personal note sent for a moment: at most one per customer, moment and year."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="moments_sent"
    )
    moment_key = models.CharField(max_length=40, help_text="date:<id>, tenure, order:<n>")
    year = models.PositiveSmallIntegerField()
    sent_by = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField()
    subject = models.CharField(max_length=200, blank=True)
    email_pk = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "moment_key", "year"], name="moment_sent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.moment_key} {self.year}"


class ChurnScore(models.Model):
    """The latest silent-churn risk of one customer, with its reasons in plain words."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="churn_score"
    )
    score = models.FloatField()
    # Sort key for the radar: risk × value (value in the organisation's currency units).
    priority = models.FloatField(default=0.0)
    value_12m = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    reasons = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()
    outreach_case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["-priority"], name="churn_priority")]

    def __str__(self) -> str:
        return f"{self.score:.2f} for customer {self.customer_id}"


class UsualContact(models.Model):
    """A customer's usual contact (the owner of their latest case that has one), kept for the
    moments page: working it out per customer at each view read every customer's cases
    (14 s of CPU at 1M cases). ``moments.refresh_usual_contacts`` rewrites what changed; the
    ticker runs it hourly (``refresh_usual_contacts`` in CHERISH_PERIODIC), so a new owner
    shows on the page within the hour. Customers whose cases have no owner have no row.

    ``since_md`` is the customer's ``Customer.since_md`` (the month and day they became one),
    copied by the same refresh: one person's anniversaries this week are then one range of
    the (staff, since_md) index (about 190 of 200,000 customers at 1M cases) instead of every
    customer's that week (about 3,800) each looked up here. The moments page also checks the
    customer's own value, so a copy the next refresh has not caught up with hides that
    anniversary from "mine" for up to the hour; it never shows a wrong one."""

    customer = models.OneToOneField(
        "customers.Customer",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="usual_contact",
    )
    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="+")
    since_md = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["staff", "since_md"], name="usual_contact_staff_md")]

    def __str__(self) -> str:
        return f"customer {self.customer_id}: staff {self.staff_id}"
