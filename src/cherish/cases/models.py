"""The case spine: a case, its messages and attachments, and its append-only history."""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy

from cherish.core.references import new_reference


class Kind(models.TextChoices):
    COMPLAINT = "complaint", gettext_lazy("Complaint")
    INQUIRY = "inquiry", gettext_lazy("Inquiry")
    COMPLIMENT = "compliment", gettext_lazy("Compliment")
    SUGGESTION = "suggestion", gettext_lazy("Suggestion")


class Severity(models.TextChoices):
    LOW = "low", gettext_lazy("Low")
    NORMAL = "normal", gettext_lazy("Normal")
    HIGH = "high", gettext_lazy("High")
    CRITICAL = "critical", gettext_lazy("Critical")


class Channel(models.TextChoices):
    WEB = "web", gettext_lazy("Web form")
    EMAIL = "email", gettext_lazy("Email")
    API = "api", gettext_lazy("API")
    PHONE = "phone", gettext_lazy("Phone call")
    VISIT = "visit", gettext_lazy("Visit")
    SOCIAL = "social", gettext_lazy("Social media")
    LETTER = "letter", gettext_lazy("Letter")


# The default stages. The care workflow defines the full flow and checklists; this is the
# vocabulary the spine needs to know which cases are open.
class Stage(models.TextChoices):
    RECEIVED = "received", gettext_lazy("Received")
    ACKNOWLEDGED = "acknowledged", gettext_lazy("Acknowledged")
    LISTENING = "listening", gettext_lazy("Listening")
    RESPONDING = "responding", gettext_lazy("Responding")
    RECOVERING = "recovering", gettext_lazy("Recovering")
    PLUS_ONE = "plus_one", gettext_lazy("Plus one")
    FOLLOWING_UP = "following_up", gettext_lazy("Following up")
    WAITING_ON_CUSTOMER = "waiting", gettext_lazy("Waiting on customer")
    CLOSED = "closed", gettext_lazy("Closed")


SEVERITY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}

# The risk flags a case's badges may carry (triage raises them: triage.case_signals.CASE_FLAGS
# names the same words). The inbox filters on each through an index of its own (below).
FLAGS = ("urgent", "angry", "safety", "vulnerable", "legal", "leaving", "public")


class HasBadge(models.Func):
    """True when ``badges`` (a JSON list of words) holds ``word``: the inbox's flag filter.

    The word is written into the SQL as a literal, never a parameter: SQLite uses a partial
    index only for a term identical to its WHERE, and a bound parameter is not (so
    ``badges__icontains`` read the JSON of every open case until it had a page). Only the
    plain words of ``FLAGS`` are accepted, so the literal is safe.
    """

    output_field = models.BooleanField()

    def __init__(self, word: str) -> None:
        if word not in FLAGS:
            raise ValueError(f"not a case flag: {word!r}")
        self.word = word
        super().__init__(models.F("badges"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"instr({column}, '\"{self.word}\"') > 0", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} @> '[\"{self.word}\"]'::jsonb", params


class TriageTopic(models.Func):
    """The topic of the case's latest triage (``triage["topic"]``) as text, written the same
    way in the query and in the index ``case_topic``, so SQLite and PostgreSQL seek it (a
    JSON key lookup with a bound path is not the indexed expression)."""

    output_field = models.CharField()

    def __init__(self) -> None:
        super().__init__(models.F("triage"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({column}, '$.topic')", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"({column} ->> 'topic')", params


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        # SQLite compiles is_open=True to a bare `WHERE is_open`, which cannot use the
        # (is_open, ...) indexes; IN (1) can.
        return self.filter(is_open__in=[True])

    def owned_by(self, staff_id: int) -> CaseQuerySet:
        return self.filter(owner_id=staff_id)


# What the inbox checks on each entry of an open-only sort index (see Case.Meta.indexes).
_CHECKED = ("owner", "team", "at_risk", "stage", "created_at", "is_open")


class Case(models.Model):
    reference = models.CharField(max_length=12, unique=True, default=new_reference)
    # No index of its own on customer, owner or team: case_customer, case_mine and case_team
    # lead with them. Every index is written with each new case, inside the intake batch.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMPLAINT)
    # True once staff set the kind by hand: triage must not override a person's judgement.
    kind_set_by_staff = models.BooleanField(default=False)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.RECEIVED)
    is_open = models.BooleanField(default=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.NORMAL)
    # Inbox order: higher first. Derived from severity and triage (anger, risk flags).
    priority = models.SmallIntegerField(default=0)
    # Badges the inbox shows without a join ("angry", "leaving", "vulnerable", ...), set by
    # triage and the care clocks; at_risk feeds the "unassigned / at risk" view.
    badges = models.JSONField(default=list, blank=True)
    at_risk = models.BooleanField(default=False)
    # The latest triage result of the case's newest inbound message (see cherish.triage), kept
    # on the case so the inbox and the API show it without a join.
    triage = models.JSONField(null=True, blank=True)
    # The case's risk signals over its whole history (see cherish.triage.signals): raised
    # flags with where they came from, the strongest emotion and urgency read, what the
    # customer said about their tenure. New messages only add; staff clear with a reason.
    # badges, at_risk and priority are derived from it by triage's actions.
    signals = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    subject = models.CharField(max_length=200, blank=True)
    order_reference = models.CharField(max_length=100, blank=True)
    # Where this case's emails go: the address the contact came from. Never another address
    # of the customer record, which a weak identity match could have got wrong.
    reply_to = models.EmailField(max_length=254, blank=True)
    owner = models.ForeignKey(
        "staff.Staff",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    team = models.ForeignKey(
        "staff.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    # The latest handoff note, shown first to the new owner until they open the case.
    handoff_note = models.TextField(blank=True)
    handoff_unread = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # Bumped to revoke every customer link to this case issued so far.
    portal_version = models.PositiveSmallIntegerField(default=0)

    objects = CaseQuerySet.as_manager()

    class Meta:
        indexes = [
            # The inbox views, in the inbox's own order. The last columns let the team
            # boundary (owner, team) be checked in the index: a count or a page of a view
            # that others' cases share reads no row it does not show.
            models.Index(
                fields=["owner", "is_open", "-priority", "-updated_at", "team"], name="case_mine"
            ),
            models.Index(fields=["team", "is_open", "-priority", "-updated_at"], name="case_team"),
            models.Index(
                fields=["is_open", "-priority", "-updated_at", "team", "owner"], name="case_open"
            ),
            models.Index(fields=["customer", "-created_at"], name="case_customer"),
            models.Index(
                fields=["kind", "is_open", "-priority", "-updated_at"], name="case_kind_open"
            ),
            models.Index(
                fields=["is_open", "at_risk", "-priority", "-updated_at", "team", "owner"],
                name="case_at_risk",
            ),
            # The inbox's "waiting on customer" and "recently closed" views and their counts.
            models.Index(
                fields=["stage", "-priority", "-updated_at", "team", "owner"], name="case_stage"
            ),
            models.Index(fields=["-closed_at"], name="case_closed"),
            # The API's case list, most recently changed first (cases.api.list_cases), read
            # in order: the team boundary (team, owner) and the openness, kind and stage
            # filters are checked in the index, so a page reads only the rows it returns.
            models.Index(
                fields=["updated_at", "id", "team", "owner", "is_open", "kind", "stage"],
                name="case_updated",
            ),
            # The inbox's topic filter (TriageTopic) and one small partial index per flag
            # (HasBadge: only the open and closed cases carrying it), in the inbox order.
            models.Index(
                TriageTopic(),
                "is_open",
                models.F("priority").desc(),
                models.F("updated_at").desc(),
                "team",
                "owner",
                name="case_topic",
            ),
            *(
                models.Index(
                    fields=["is_open", "-priority", "-updated_at", "team", "owner"],
                    condition=models.Q(HasBadge(word)),
                    name=f"case_flag_{word}",
                )
                for word in FLAGS
            ),
            # The inbox's other sorts over open cases, read in order for a view too big to
            # sort (desk.queries.inbox_for): the sort column, the id that breaks ties, then
            # what the views, the team boundary and the date filter check on each entry
            # without reading the row (is_open too: a count's "is_open IN (1)" reads it).
            # Open cases only (the WHERE is the query's bare "is_open" term).
            *(
                models.Index(
                    fields=[*columns, *(c for c in _CHECKED if c not in columns)],
                    condition=models.Q(is_open=True),
                    name=f"case_open_{name}",
                )
                for name, columns in (
                    ("subject", ["subject", "id"]),
                    ("opened", ["created_at", "id"]),
                    ("updated", ["updated_at", "id"]),
                    ("stage", ["stage", "id"]),
                    # By owner, in id order: the owner sort reads the staff by name, then
                    # each one's open cases from here (desk.queries._page_ids_outer_join).
                    ("owner", ["owner", "id"]),
                )
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class Direction(models.TextChoices):
    INBOUND = "in", gettext_lazy("From the customer")
    OUTBOUND = "out", gettext_lazy("To the customer")
    NOTE = "note", gettext_lazy("Internal note")


class Message(models.Model):
    # Indexed by message_case_time, which leads with it.
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=4, choices=Direction.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    author = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Plain text is what every page shows; sanitised HTML is kept for fidelity only.
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    subject = models.CharField(max_length=200, blank=True)
    # Email Message-ID (inbound or outbound) for threading replies.
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    # True for automatic messages (acknowledgements): they do not count as a personal reply.
    is_automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="message_case_time")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} on {self.case_id}"


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


def attachment_path(instance: Attachment, filename: str) -> str:
    # Never the uploaded name: a random name cannot collide, traverse or be guessed.
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    token = secrets.token_hex(16)
    return f"attachments/{token[:2]}/{token}{suffix}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)

    def __str__(self) -> str:
        return self.original_name


class CaseEvent(models.Model):
    """Append-only history. Written only through cherish.cases.events, inside actions."""

    # case and customer: indexed by event_case_time and event_customer_time, which lead with them.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    # Denormalised so the customer's timeline across all cases is one indexed read.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="case_events", db_index=False
    )
    type = models.CharField(max_length=40)
    actor = models.ForeignKey(
        "staff.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="event_case_time"),
            models.Index(fields=["customer", "-created_at"], name="event_customer_time"),
            models.Index(fields=["type", "created_at"], name="event_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} on {self.case_id}"


class CustomerLink(models.Model):
    """The customer's key to their own case page: no login, no internal id, an expiry.

    The token in an email is ``<nonce>.<mac>``, where ``mac`` is an HMAC of the nonce under
    the site's secret key: the row holds the nonce only, so the table alone cannot open a
    case page. ``expires_at`` moves forward each time a message is sent to the customer
    (CHERISH_CUSTOMER_LINK_DAYS); ``case.portal_version`` still revokes every link at once.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="customer_links")
    nonce = models.CharField(max_length=32, unique=True)
    version = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "-created_at"], name="link_case_time")]

    def __str__(self) -> str:
        return f"link to {self.case_id} until {self.expires_at:%Y-%m-%d}"
