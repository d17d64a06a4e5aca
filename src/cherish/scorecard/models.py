"""Pre-aggregated roll-ups the scorecard reads (filled by cherish.scorecard.rollups).

Two layers, both derived and rebuildable at any time (``cherish rebuild_scorecard``):

- ``CaseFact``: one row per case with what the figures need to know about it (owners,
  contacts, commitments, gestures, follow-up, repeat complaint, still a customer 90 days
  later), so a drill-down lists the cases behind a figure without re-reading their history.
- ``WeeklyCube``: sums per week and per (team, channel, kind, topic), each dimension either a
  value or "*" (all), so every combination of filters is one indexed range of at most a few
  hundred rows, however many cases there are.

Nothing else writes these tables; the source of truth stays in the domain apps.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

ALL = "*"
NO_VALUE = "-"


class CaseFact(models.Model):
    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    customer_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True)
    # Dimensions as the cube stores them: strings, NO_VALUE for "none".
    team = models.CharField(max_length=20)
    channel = models.CharField(max_length=8)
    kind = models.CharField(max_length=16)
    topic = models.CharField(max_length=40)
    created_at = models.DateTimeField()
    created_week = models.DateField()
    closed_at = models.DateTimeField(null=True)
    closed_week = models.DateField(null=True)
    # Complaints: the week their "still a customer?" window ended (None until it has).
    known_week = models.DateField(null=True)
    first_response_s = models.IntegerField(null=True)
    resolution_days = models.IntegerField(null=True)
    owners = models.SmallIntegerField(default=0)
    repeats = models.SmallIntegerField(default=0)
    contacts = models.IntegerField(default=0)
    replies = models.IntegerField(default=0)
    tone_hits = models.IntegerField(default=0)
    commitments = models.SmallIntegerField(default=0)
    commitments_kept = models.SmallIntegerField(default=0)
    commitments_on_time = models.SmallIntegerField(default=0)
    commitments_broken = models.SmallIntegerField(default=0)
    gestures = models.SmallIntegerField(default=0)
    gesture_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    exceptions = models.SmallIntegerField(default=0)
    follow_up_before_close = models.BooleanField(default=False)
    repeat_complaint = models.BooleanField(default=False)
    well_recovered = models.BooleanField(default=False)
    recovery_known = models.BooleanField(default=False)
    retained = models.BooleanField(default=False)
    value_at_stake = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))

    class Meta:
        indexes = [
            models.Index(fields=["created_week", "kind"], name="fact_created"),
            models.Index(fields=["closed_week", "kind"], name="fact_closed"),
            models.Index(fields=["known_week", "kind"], name="fact_known"),
            # The people view counts each person's recoveries from the index alone (at 1M
            # cases, reading the rows of a period's closed cases took half a second).
            models.Index(
                fields=["owner_id", "closed_week", "well_recovered"], name="fact_owner_recovered"
            ),
            models.Index(fields=["customer_id", "created_at"], name="fact_customer"),
        ]

    def __str__(self) -> str:
        return f"fact of case {self.case_id}"


# The summed columns of the cube, in the order figures.py documents them.
CUBE_SUMS = (
    # Cases received in the week.
    "received",
    "complaints",
    "repeat_complaints",
    "first_response_n",
    "first_response_s",
    "recovery_known",
    "retained",
    "value_retained",
    # Cases closed in the week.
    "closed",
    "closed_complaints",
    "one_owner",
    "one_owner_no_repeat",
    "contacts",
    "replies",
    "tone_hits",
    "commitments",
    "commitments_kept",
    "commitments_on_time",
    "commitments_broken",
    "gestures",
    "gesture_value",
    "exceptions",
    "follow_up_before_close",
    "well_recovered",
    "res_le_1",
    "res_le_2",
    "res_le_3",
    "res_le_5",
    "res_le_7",
    "res_le_10",
    "res_le_14",
    "res_le_30",
    # Survey invitations sent and answers first given in the week.
    "invitations",
    "responses",
    "csat_n",
    "csat_sum",
    "csat_satisfied",
    "cared_n",
    "cared_agree",
    "nps_n",
    "promoters",
    "detractors",
    "raving_n",
    "raving_yes",
    "loyalty_none",
    "loyalty_confidence",
    "loyalty_fairness",
    "loyalty_pride",
    "loyalty_passion",
    # Customers with a problem who did not complain (follow-up answered "no" / "not quite"),
    # counted only in the all-dimensions row: they have no team, channel or topic.
    "silent_known",
    "silent_retained",
)
RESOLUTION_BUCKETS = (1, 2, 3, 5, 7, 10, 14, 30)
MONEY_SUMS = frozenset({"value_retained", "gesture_value"})


class WeeklyCube(models.Model):
    week = models.DateField()
    team = models.CharField(max_length=20)
    channel = models.CharField(max_length=8)
    kind = models.CharField(max_length=16)
    topic = models.CharField(max_length=40)

    received = models.IntegerField(default=0)
    complaints = models.IntegerField(default=0)
    repeat_complaints = models.IntegerField(default=0)
    first_response_n = models.IntegerField(default=0)
    first_response_s = models.BigIntegerField(default=0)
    recovery_known = models.IntegerField(default=0)
    retained = models.IntegerField(default=0)
    value_retained = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    closed = models.IntegerField(default=0)
    closed_complaints = models.IntegerField(default=0)
    one_owner = models.IntegerField(default=0)
    one_owner_no_repeat = models.IntegerField(default=0)
    contacts = models.IntegerField(default=0)
    replies = models.IntegerField(default=0)
    tone_hits = models.IntegerField(default=0)
    commitments = models.IntegerField(default=0)
    commitments_kept = models.IntegerField(default=0)
    commitments_on_time = models.IntegerField(default=0)
    commitments_broken = models.IntegerField(default=0)
    gestures = models.IntegerField(default=0)
    gesture_value = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    exceptions = models.IntegerField(default=0)
    follow_up_before_close = models.IntegerField(default=0)
    well_recovered = models.IntegerField(default=0)
    res_le_1 = models.IntegerField(default=0)
    res_le_2 = models.IntegerField(default=0)
    res_le_3 = models.IntegerField(default=0)
    res_le_5 = models.IntegerField(default=0)
    res_le_7 = models.IntegerField(default=0)
    res_le_10 = models.IntegerField(default=0)
    res_le_14 = models.IntegerField(default=0)
    res_le_30 = models.IntegerField(default=0)
    invitations = models.IntegerField(default=0)
    responses = models.IntegerField(default=0)
    csat_n = models.IntegerField(default=0)
    csat_sum = models.IntegerField(default=0)
    csat_satisfied = models.IntegerField(default=0)
    cared_n = models.IntegerField(default=0)
    cared_agree = models.IntegerField(default=0)
    nps_n = models.IntegerField(default=0)
    promoters = models.IntegerField(default=0)
    detractors = models.IntegerField(default=0)
    raving_n = models.IntegerField(default=0)
    raving_yes = models.IntegerField(default=0)
    loyalty_none = models.IntegerField(default=0)
    loyalty_confidence = models.IntegerField(default=0)
    loyalty_fairness = models.IntegerField(default=0)
    loyalty_pride = models.IntegerField(default=0)
    loyalty_passion = models.IntegerField(default=0)
    silent_known = models.IntegerField(default=0)
    silent_retained = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "channel", "kind", "topic", "week"], name="cube_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.team}/{self.channel}/{self.kind}/{self.topic}"


class Assumptions(models.Model):
    """The published rules of thumb behind the estimates, shown on the scorecard and editable.

    TARP's studies: about 26 unhappy customers stay silent for each one who complains; an
    unhappy customer tells 9–10 others, one whose problem was put right about 5.
    """

    silent_per_complaint = models.DecimalField(max_digits=6, decimal_places=1, default=26)
    unhappy_tell = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("9.5"))
    recovered_tell = models.DecimalField(max_digits=6, decimal_places=1, default=5)
    active_after_days = models.PositiveSmallIntegerField(
        default=90, help_text="A customer still buying this many days later counts as kept."
    )

    class Meta:
        verbose_name_plural = "scorecard assumptions"

    def __str__(self) -> str:
        return "scorecard assumptions"


class RollupState(models.Model):
    """When the roll-ups were last built, and the snapshot figures built with them."""

    built_at = models.DateTimeField(null=True)
    # The last full rebuild: a refresh only redoes recently changed cases, so the ticker
    # rebuilds everything once a day to catch what changed elsewhere (a purchase, a kept
    # commitment that did not touch its case).
    rebuilt_at = models.DateTimeField(null=True)
    build_seconds = models.FloatField(default=0)
    active_customers = models.IntegerField(default=0)
    # What customers said a complaint should take (feedback's Expectations survey).
    expected_days = models.FloatField(null=True)
    expected_sample = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"roll-ups built at {self.built_at}"


class DigestSent(models.Model):
    """One weekly digest per manager per week, so a rerun of the ticker never sends twice."""

    week = models.DateField()
    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="+")
    email_pk = models.BigIntegerField(null=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["week", "staff"], name="digest_once")]

    def __str__(self) -> str:
        return f"digest {self.week} to {self.staff_id}"
