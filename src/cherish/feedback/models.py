"""Surveys, invitations, answers, and what the answers say about each customer.

The seeds' yardstick: satisfaction with how a complaint was handled, likelihood to
recommend (NPS), the two "raving fan" statements, the four loyalty levels (confidence,
fairness, pride, passion — Gallup, seed 000) and what customers expect (how many days a
complaint, a refund, a repair should take). Rows change only through cherish.feedback.actions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cherish.cases.models import Kind


class Purpose(models.TextChoices):
    AFTER_CASE = "after_case", _("After a case")
    RELATIONSHIP = "relationship", _("Relationship")
    EXPECTATIONS = "expectations", _("Expectations")


class Survey(models.Model):
    """A survey definition, edited in the admin. Three are built in and switched on.

    An after-case survey goes out when a case of one of ``case_kinds`` is closed; a
    relationship or expectations survey goes to each customer at most every ``every_days``.
    """

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    is_active = models.BooleanField(default=True)
    intro = models.TextField(blank=True, help_text="Shown above the questions.")
    thanks = models.CharField(max_length=300, default="Thank you. Your answers help us.")
    case_kinds = models.JSONField(
        default=list,
        blank=True,
        help_text='After-case surveys: the case kinds that get it, e.g. ["complaint"].',
    )
    every_days = models.PositiveSmallIntegerField(
        default=180, help_text="Relationship and expectations surveys: ask again after this."
    )
    daily_limit = models.PositiveIntegerField(
        default=200, help_text="Periodic surveys: invitations sent per day at most."
    )
    link_valid_days = models.PositiveSmallIntegerField(
        default=30, help_text="An unanswered invitation expires after this many days."
    )

    class Meta:
        ordering = ["purpose", "name"]

    def __str__(self) -> str:
        return self.name

    def wants_case_kind(self, kind: str) -> bool:
        return self.purpose == Purpose.AFTER_CASE and kind in (self.case_kinds or [])


class QuestionType(models.TextChoices):
    SATISFACTION = "satisfaction", _("Satisfaction 1–5")
    LIKELIHOOD = "likelihood", _("Likelihood to recommend 0–10")
    AGREEMENT = "agreement", _("Agree / disagree statement 1–5")
    CHOICE = "choice", _("Single choice")
    NUMBER = "number", _("A number")
    TEXT = "text", _("Free text")


class Measure(models.TextChoices):
    """What a question measures, so figures survive rewording a question in the admin."""

    NONE = "", _("Nothing in particular")
    CSAT = "csat", _("Satisfaction with how the case was handled")
    RESOLVED = "resolved", _("Was the problem resolved")
    FAIR = "fair", _("The outcome was fair")
    CARED = "cared", _("The person who helped cared (empathy)")
    WOULD_STAY = "would_stay", _("Will stay with us")
    NPS = "nps", _("Likelihood to recommend (NPS)")
    RAVING_PERFECT = "raving_perfect", _("Perfect company for people like me")
    RAVING_WORLD = "raving_world", _("Can't imagine a world without this company")
    CONFIDENCE = "loyalty_confidence", _("Loyalty level 1: confidence")
    FAIRNESS = "loyalty_fairness", _("Loyalty level 2: fairness (integrity)")
    PRIDE = "loyalty_pride", _("Loyalty level 3: pride")
    PASSION = "loyalty_passion", _("Loyalty level 4: passion")
    EXPECT_COMPLAINT = "expect_complaint_days", _("Days a complaint should take")
    EXPECT_REFUND = "expect_refund_days", _("Days a refund should take")
    EXPECT_REPAIR = "expect_repair_days", _("Days a repair should take")
    COMMENT = "comment", _("Free comment (compliments are credited)")


LOYALTY_MEASURES = (Measure.CONFIDENCE, Measure.FAIRNESS, Measure.PRIDE, Measure.PASSION)
EXPECTATION_MEASURES = (Measure.EXPECT_COMPLAINT, Measure.EXPECT_REFUND, Measure.EXPECT_REPAIR)


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    type = models.CharField(max_length=16, choices=QuestionType.choices)
    measure = models.CharField(max_length=24, choices=Measure.choices, blank=True)
    choices = models.JSONField(
        default=list, blank=True, help_text='Single choice: the options, e.g. ["Yes", "No"].'
    )
    min_value = models.IntegerField(default=0, help_text="Numbers: the smallest answer.")
    max_value = models.IntegerField(default=365, help_text="Numbers: the largest answer.")
    unit = models.CharField(max_length=20, blank=True, help_text='Numbers: e.g. "days".')
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["survey", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "measure"],
                condition=~Q(measure=""),
                name="question_measure_once",
            )
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def scale(self) -> list[int]:
        """The values a scale question offers (empty for choice, number and text)."""
        if self.type == QuestionType.LIKELIHOOD:
            return list(range(11))
        if self.type in (QuestionType.SATISFACTION, QuestionType.AGREEMENT):
            return list(range(1, 6))
        return []


class SurveyPolicy(models.Model):
    """The organisation's survey rules (one row, edited in the admin)."""

    max_invitations = models.PositiveSmallIntegerField(
        default=1, help_text="A customer gets at most this many survey invitations …"
    )
    per_days = models.PositiveSmallIntegerField(default=30, help_text="… in this many days.")
    edit_days = models.PositiveSmallIntegerField(
        default=7, help_text="Answers can be changed for this many days after the first one."
    )
    low_satisfaction = models.PositiveSmallIntegerField(
        default=2, help_text="A satisfaction score at or below this opens a case."
    )

    class Meta:
        verbose_name_plural = "survey policy"

    def __str__(self) -> str:
        return f"at most {self.max_invitations} per {self.per_days} days"


class InvitationStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    SKIPPED = "skipped", _("Not sent")


class InvitationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    CASE_PAGE = "case_page", _("The customer's case page")


class Invitation(models.Model):
    """One ask: a survey offered to a customer (about a case, for after-case surveys).

    Skipped invitations are kept with their reason, so an after-case survey is decided once
    per case and the response rate counts only invitations that went out.
    """

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(
        max_length=10, choices=InvitationChannel.choices, default=InvitationChannel.EMAIL
    )
    status = models.CharField(max_length=10, choices=InvitationStatus.choices)
    skip_reason = models.CharField(max_length=32, blank=True)
    sent_to = models.CharField(max_length=254, blank=True)
    email_pk = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # The latest one-click answer from the email, to tell a person from a link scanner.
    clicked_at = models.DateTimeField(null=True, blank=True)
    clicked_value = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "case"], condition=Q(case__isnull=False), name="invite_case_once"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "status", "created_at"], name="invite_customer"),
            models.Index(fields=["survey", "status", "created_at"], name="invite_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} to {self.customer_id} ({self.status})"


class NpsGroup(models.TextChoices):
    PROMOTER = "promoter", _("Promoter (9–10)")
    PASSIVE = "passive", _("Passive (7–8)")
    DETRACTOR = "detractor", _("Detractor (0–6)")


class LoyaltyLevel(models.TextChoices):
    """Gallup's hierarchy (seed 000): each level needs the ones below it."""

    NONE = "none", _("Not yet confident")
    CONFIDENCE = "confidence", _("Confidence")
    FAIRNESS = "fairness", _("Fairness")
    PRIDE = "pride", _("Pride")
    PASSION = "passion", _("Passion")


class SurveyResponse(models.Model):
    """The answers to one invitation, with the headline values kept as columns.

    The case's owner, team, channel, kind and topic are copied in when the answer is first
    given, so the scorecard filters and credits without joining back through the case.
    """

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_responses"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "staff.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    case_channel = models.CharField(max_length=8, blank=True)
    topic = models.CharField(max_length=40, blank=True)
    csat = models.PositiveSmallIntegerField(null=True, blank=True)
    nps = models.PositiveSmallIntegerField(null=True, blank=True)
    resolved = models.CharField(max_length=40, blank=True)
    fair = models.PositiveSmallIntegerField(null=True, blank=True)
    cared = models.PositiveSmallIntegerField(null=True, blank=True)
    would_stay = models.CharField(max_length=40, blank=True)
    raving_fan = models.BooleanField(null=True, blank=True)
    loyalty_level = models.CharField(max_length=12, choices=LoyaltyLevel.choices, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    editable_until = models.DateTimeField()
    changes = models.PositiveSmallIntegerField(default=0)
    # The case a low score opened or reopened: set once, so a changed answer never opens a
    # second one.
    loop_case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="response_customer"),
            models.Index(fields=["created_at"], name="response_time"),
            models.Index(fields=["updated_at"], name="response_updated"),
            # The people view: each person's answers in a period, satisfaction read from
            # the index (at 1M cases the owner index alone read every answer ever given).
            models.Index(fields=["owner", "created_at", "csat"], name="response_owner_time"),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} to {self.survey_id}"

    @property
    def nps_group(self) -> str:
        return nps_group(self.nps)


def nps_group(score: int | None) -> str:
    if score is None:
        return ""
    if score >= 9:
        return NpsGroup.PROMOTER
    if score >= 7:
        return NpsGroup.PASSIVE
    return NpsGroup.DETRACTOR


class Answer(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    value_int = models.IntegerField(null=True, blank=True)
    value_text = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["question__order", "question_id"]
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_once")]
        indexes = [models.Index(fields=["question", "value_int"], name="answer_value")]

    def __str__(self) -> str:
        return self.value_text or str(self.value_int)


class CustomerFeedback(models.Model):
    """What a customer's answers say about the relationship, and their survey opt-out."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="feedback"
    )
    surveys_opted_out = models.BooleanField(default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    nps = models.PositiveSmallIntegerField(null=True, blank=True)
    nps_group = models.CharField(max_length=10, choices=NpsGroup.choices, blank=True)
    nps_at = models.DateTimeField(null=True, blank=True)
    loyalty_level = models.CharField(max_length=12, choices=LoyaltyLevel.choices, blank=True)
    raving_fan = models.BooleanField(null=True, blank=True)
    loyalty_at = models.DateTimeField(null=True, blank=True)
    last_csat = models.PositiveSmallIntegerField(null=True, blank=True)
    last_answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "customer feedback"

    def __str__(self) -> str:
        return f"feedback of customer {self.customer_id}"


class Compliment(models.Model):
    """A staff member named in a positive free-text answer: credit where it is due."""

    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="compliments")
    response = models.ForeignKey(
        SurveyResponse, on_delete=models.CASCADE, related_name="compliments"
    )
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["response", "staff"], name="compliment_once")
        ]
        indexes = [models.Index(fields=["staff", "-created_at"], name="compliment_staff")]

    def __str__(self) -> str:
        return f"compliment for {self.staff_id}"
