"""Reads for the case page. Each runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext, gettext_noop

from cherish.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    Channel,
    Direction,
    Kind,
    Message,
    Severity,
    Stage,
)
from cherish.staff.models import Staff

# A page of the timeline beside the conversation: what happened lately, with "Older" for more
# (each item costs its row, its sentence and its markup on every view of the case).
TIMELINE_PAGE = 10
# Older than this, the customer 360 page's timeline tells the story.
TIMELINE_MAX_PAGE = 100
_REFERENCE_SLOT = "CH-000000"


def case_conversation(case: Case) -> list[Message]:
    """The case's messages, oldest first, each with its author's name (``author_name``) and
    its attachments (``attachment_list``): 2 plain statements (Django building the query
    with its join and prefetch cost more than SQLite running them). The page shows the plain
    text: the HTML original and the mail's id are not read."""
    messages = list(Message.objects.raw(_conversation_sql(), [case.pk]))
    attachments: dict[int, list[Attachment]] = {message.pk: [] for message in messages}
    if messages:
        marks = ", ".join(["%s"] * len(attachments))
        for item in Attachment.objects.raw(
            f"SELECT * FROM {Attachment._meta.db_table} WHERE message_id IN ({marks}) ORDER BY id",
            list(attachments),
        ):
            attachments[item.message_id].append(item)
    for message in messages:
        message.attachment_list = attachments[message.pk]  # type: ignore[attr-defined]
    return messages


@cache
def _conversation_sql() -> str:
    return f"""
        SELECT m.id, m.case_id, m.direction, m.channel, m.author_id, m.body_text, m.subject,
               m.is_automatic, m.created_at, s.display_name AS author_name
          FROM {Message._meta.db_table} m
          LEFT JOIN {Staff._meta.db_table} s ON s.id = m.author_id
         WHERE m.case_id = %s
         ORDER BY m.created_at, m.id
    """


@dataclass
class TimelineItem:
    at: dt.datetime
    case_reference: str
    is_other_case: bool
    actor: str
    kind: str  # "message" or "event"
    direction: str = ""
    label: str = ""
    text: str = ""
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Worked out once here rather than by a tag and two filters per item in the template.
    url: str = ""  # the other case's desk page (empty for this case)
    at_iso: str = ""
    at_text: str = ""


def _label(choices: type[Any], value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def describe_event(event: CaseEvent) -> str:
    """One short sentence for an event on the timeline."""
    return describe(event.type, event.data if isinstance(event.data, dict) else {})


# The events described by their name alone: marked here, read in the reader's language.
EVENT_LABELS = {
    "assessment.recorded": gettext_noop("Assessment recorded"),
    "care.target_breached": gettext_noop("Care target breached"),
    "care.target_warning": gettext_noop("Care target warning"),
    "case.created": gettext_noop("Case created"),
    "case.linked": gettext_noop("Case linked"),
    "case.merged": gettext_noop("Case merged"),
    "case.merged_into": gettext_noop("Case merged into"),
    "case.tagged": gettext_noop("Case tagged"),
    "collaborator.added": gettext_noop("Collaborator added"),
    "collaborator.removed": gettext_noop("Collaborator removed"),
    "commitment.broken": gettext_noop("Commitment broken"),
    "commitment.due_soon": gettext_noop("Commitment due soon"),
    "commitment.escalated": gettext_noop("Commitment escalated"),
    "commitment.kept": gettext_noop("Commitment kept"),
    "commitment.made": gettext_noop("Commitment made"),
    "commitment.overdue": gettext_noop("Commitment overdue"),
    "compliment.credited": gettext_noop("Compliment credited"),
    "customer.confirmed_solved": gettext_noop("Customer confirmed solved"),
    "customer.link_requested": gettext_noop("Customer link requested"),
    "customer.status_update_sent": gettext_noop("Customer status update sent"),
    "escalation.outcome_recorded": gettext_noop("Escalation outcome recorded"),
    "escalation.recorded": gettext_noop("Escalation recorded"),
    "fair_outcome.recorded": gettext_noop("Fair outcome recorded"),
    "finding.recorded": gettext_noop("Finding recorded"),
    "follow_up.answered": gettext_noop("Follow up answered"),
    "follow_up.recorded": gettext_noop("Follow up recorded"),
    "gesture.approved": gettext_noop("Gesture approved"),
    "gesture.declined": gettext_noop("Gesture declined"),
    "gesture.granted": gettext_noop("Gesture granted"),
    "gesture.requested": gettext_noop("Gesture requested"),
    "handoff.warm": gettext_noop("Handoff warm"),
    "macro.applied": gettext_noop("Macro applied"),
    "message.added": gettext_noop("Message added"),
    "outreach.started": gettext_noop("Outreach started"),
    "plus_one.recorded": gettext_noop("Plus one recorded"),
    "policy.linked": gettext_noop("Policy linked"),
    "resolution.recorded": gettext_noop("Resolution recorded"),
    "staff.mentioned": gettext_noop("Staff mentioned"),
    "story.written": gettext_noop("Story written"),
    "survey.answer_changed": gettext_noop("Survey answer changed"),
    "survey.answered": gettext_noop("Survey answered"),
    "survey.loop_opened": gettext_noop("Survey loop opened"),
    "survey.opted_out": gettext_noop("Survey opted out"),
    "survey.sent": gettext_noop("Survey sent"),
    "triage.completed": gettext_noop("Triage completed"),
    "waiting.ended": gettext_noop("Waiting ended"),
    "waiting.started": gettext_noop("Waiting started"),
}


def _with(text: str, extra: Any) -> str:
    """``text: extra`` when there is something to add."""
    return gettext("%(text)s: %(extra)s") % {"text": text, "extra": extra} if extra else text


def describe(type_: str, data: dict[str, Any]) -> str:
    """One short sentence for an event of ``type_`` with ``data`` on the timeline, in the
    active language."""
    match type_:
        case "case.opened":
            return gettext("Case opened (%(kind)s, %(channel)s)") % {
                "kind": _label(Kind, data.get("kind")),
                "channel": _label(Channel, data.get("channel")),
            }
        case "case.owner_assigned":
            name = data.get("owner_name") or gettext("nobody (no staff available)")
            return gettext("Assigned to %(name)s") % {"name": name}
        case "case.owner_changed":
            return gettext("Handed over from %(old)s to %(new)s: “%(note)s”") % {
                "old": data.get("old_owner_name") or gettext("nobody"),
                "new": data.get("owner_name"),
                "note": data.get("note", ""),
            }
        case "case.stage_changed":
            text = gettext("Stage changed from %(old)s to %(new)s") % {
                "old": _label(Stage, data.get("old")),
                "new": _label(Stage, data.get("new")),
            }
            return _with(text, data.get("reason"))
        case "case.kind_changed":
            return gettext("Kind changed from %(old)s to %(new)s") % {
                "old": _label(Kind, data.get("old")),
                "new": _label(Kind, data.get("new")),
            }
        case "case.severity_changed":
            return gettext("Severity changed from %(old)s to %(new)s") % {
                "old": _label(Severity, data.get("old")),
                "new": _label(Severity, data.get("new")),
            }
        case "case.closed":
            return _with(gettext("Case closed"), data.get("resolution"))
        case "case.reopened":
            return _with(gettext("Case reopened"), data.get("reason"))
        case "signal.raised":
            flag = data.get("flag", "")
            if data.get("source") == "staff":
                return _with(gettext("Flag “%(flag)s” added") % {"flag": flag}, data.get("reason"))
            words = ", ".join(f"“{w}”" for w in data.get("words") or [])
            text = gettext("Flag “%(flag)s” raised by the customer's message") % {"flag": flag}
            return f"{text} ({words})" if words else text
        case "signal.cleared":
            return gettext("Flag “%(flag)s” cleared: %(reason)s") % {
                "flag": data.get("flag", ""),
                "reason": data.get("reason", ""),
            }
        case "triage.corrected":
            return gettext("Reading corrected: %(field)s %(old)s → %(new)s") % {
                "field": data.get("field"),
                "old": data.get("old") or "—",
                "new": data.get("new"),
            }
        case _:
            if type_ in EVENT_LABELS:
                return gettext(EVENT_LABELS[type_])
            return type_.replace(".", " ").replace("_", " ").capitalize()


@cache
def _timeline_sql() -> str:
    return f"""
        SELECT e.type, e.data, e.created_at, e.case_id, c.reference, s.display_name
          FROM {CaseEvent._meta.db_table} e
          JOIN {Case._meta.db_table} c ON c.id = e.case_id
          LEFT JOIN {Staff._meta.db_table} s ON s.id = e.actor_id
         WHERE e.customer_id = %s AND NOT (e.case_id = %s AND e.type = 'message.added')
         ORDER BY e.created_at DESC, e.id DESC
         LIMIT %s OFFSET %s
    """


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _sql_datetime(value: Any) -> dt.datetime:
    """A timestamp as the database driver gave it: SQLite's text (UTC), else a datetime."""
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    page: int
    has_next: bool


def customer_timeline(case: Case, *, page: int = 1, per_page: int = TIMELINE_PAGE) -> TimelinePage:
    """One page of the customer's events across all their cases, newest first, except the
    messages of this case (the conversation shows them).

    Read from the customer-indexed event log (1 plain statement, ``per_page`` + 1 rows so no
    COUNT is needed); messages of *other* cases are read in one more, so their full text can
    be read here.
    """
    page = min(max(page, 1), TIMELINE_MAX_PAGE)
    offset = (page - 1) * per_page
    # Plain rows, not model instances: building three models per item was most of its time;
    # and plain SQL: Django building the query cost more than SQLite running it. This case's
    # messages are the conversation beside it: not shown twice.
    with connection.cursor() as cursor:
        cursor.execute(_timeline_sql(), [case.customer_id, case.pk, per_page + 1, offset])
        rows = [
            (type_, _json(data), _sql_datetime(at), case_id, reference, actor)
            for type_, data, at, case_id, reference, actor in cursor.fetchall()
        ]
    has_next = len(rows) > per_page and page < TIMELINE_MAX_PAGE
    rows = rows[:per_page]
    other_message_ids = [
        int(data["message_id"])
        for type_, data, _, case_id, _, _ in rows
        if type_ == "message.added"
        and case_id != case.pk
        and isinstance(data, dict)
        and data.get("message_id")
    ]
    bodies: dict[int, str] = {}
    if other_message_ids:
        marks = ", ".join(["%s"] * len(other_message_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, body_text FROM {Message._meta.db_table} WHERE id IN ({marks})",
                other_message_ids,
            )
            bodies = dict(cursor.fetchall())
    items = []
    url_pattern = reverse("cases:detail", args=[_REFERENCE_SLOT])
    # "j M Y H:i" by hand: the month's (translated) name once per month, not a date format
    # with its translations per item.
    months: dict[int, str] = {}
    for type_, raw, created_at, case_id, reference, actor in rows:
        data = raw if isinstance(raw, dict) else {}
        is_message = type_ == "message.added"
        local = template_localtime(created_at)
        if local.month not in months:
            months[local.month] = date_filter(local, "M")
        is_other = case_id != case.pk
        items.append(
            TimelineItem(
                at=created_at,
                case_reference=reference,
                is_other_case=is_other,
                actor=actor or "",
                kind="message" if is_message else "event",
                direction=str(data.get("direction", "")) if is_message else "",
                label=direction_label(str(data.get("direction", ""))) if is_message else "",
                text=str(data.get("excerpt", "")) if is_message else describe(type_, data),
                body=bodies.get(int(data.get("message_id") or 0), "") if is_message else "",
                url=url_pattern.replace(_REFERENCE_SLOT, reference) if is_other else "",
                at_iso=local.isoformat(),
                at_text=f"{local.day} {months[local.month]} {local.year} {local:%H:%M}",
            )
        )
    return TimelinePage(items=items, page=page, has_next=has_next)


def direction_label(direction: str) -> str:
    return _label(Direction, direction)


def staff_choices() -> list[Staff]:
    """Everyone a case can be handed to (1 query)."""
    return list(
        Staff.objects.filter(user__is_active=True).select_related("team").order_by("display_name")
    )
