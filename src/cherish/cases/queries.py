"""Reads for the desk: the inbox and the case page. Each runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

from cherish.cases import search
from cherish.cases.access import visible_cases
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

PAGE_SIZE = 50
# Offsets stay cheap on the inbox indexes up to here; past it, search or filter instead.
MAX_PAGE = 100
TIMELINE_LIMIT = 200
_REFERENCE_SLOT = "CH-000000"

INBOX_VIEWS: dict[str, str] = {
    "mine": "Mine",
    "attention": "Unassigned / at risk",
    "team": "My team",
    "open": "All open",
}
DEFAULT_VIEW = "mine"


@dataclass(frozen=True)
class InboxFilters:
    view: str = DEFAULT_VIEW
    kind: str = ""
    stage: str = ""
    channel: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> InboxFilters:
        """Read filters from a QueryDict, dropping values that are not known choices."""

        def choice(name: str, allowed: list[str]) -> str:
            value = str(params.get(name, "") or "")
            return value if value in allowed else ""

        try:
            page = int(params.get("page") or 1)
        except (TypeError, ValueError):
            page = 1
        return cls(
            view=choice("view", list(INBOX_VIEWS)) or DEFAULT_VIEW,
            kind=choice("kind", list(Kind.values)),
            stage=choice("stage", list(Stage.values)),
            channel=choice("channel", list(Channel.values)),
            q=" ".join(str(params.get("q", "") or "").split())[:200],
            page=min(max(page, 1), MAX_PAGE),
        )

    def as_params(self, **changes: Any) -> dict[str, str]:
        """The non-default filters as query parameters, with ``changes`` applied."""
        values = {
            "view": self.view,
            "kind": self.kind,
            "stage": self.stage,
            "channel": self.channel,
            "q": self.q,
            "page": str(self.page),
        }
        values.update({key: str(value) for key, value in changes.items()})
        if values["page"] == "1":
            del values["page"]
        if values["view"] == DEFAULT_VIEW:
            del values["view"]
        return {key: value for key, value in values.items() if value}


@dataclass
class InboxPage:
    filters: InboxFilters
    cases: list[Case]
    has_next: bool
    searching: bool

    @property
    def page(self) -> int:
        return self.filters.page

    @property
    def has_previous(self) -> bool:
        return self.filters.page > 1


def inbox_for(staff: Staff, filters: InboxFilters) -> InboxPage:
    """One page of the inbox: a view (or a search across all cases) plus filters.

    Ordered by priority, then most recently updated. Reads PAGE_SIZE + 1 rows to know
    whether there is a next page, so no COUNT over a large table is ever needed.
    """
    cases = visible_cases(staff)
    searching = bool(filters.q)
    if searching:
        matches = search.case_filter(filters.q)
        if matches is not None:
            cases = cases.filter(matches)
    else:
        if filters.stage != Stage.CLOSED:
            # ``is_open__in=[True]`` rather than ``is_open=True``: on SQLite Django writes the
            # latter as a bare ``WHERE "is_open"``, which cannot seek the (…, is_open,
            # -priority, -updated_at) indexes; ``IN (1)`` can, so no sort of all open cases.
            cases = cases.filter(is_open__in=[True])
        if filters.view == "mine":
            cases = cases.filter(owner_id=staff.pk)
        elif filters.view == "team":
            cases = cases.filter(team_id=staff.team_id) if staff.team_id else cases.none()
        elif filters.view == "attention":
            cases = cases.filter(Q(owner__isnull=True) | Q(at_risk=True))
    if filters.kind:
        cases = cases.filter(kind=filters.kind)
    if filters.stage:
        cases = cases.filter(stage=filters.stage)
    if filters.channel:
        cases = cases.filter(channel=filters.channel)
    offset = (filters.page - 1) * PAGE_SIZE
    rows = list(
        cases.select_related("customer", "owner")
        .defer("triage", "signals", "handoff_note", "customer__notes")
        .order_by("-priority", "-updated_at", "-id")[offset : offset + PAGE_SIZE + 1]
    )
    return InboxPage(
        filters=filters,
        cases=rows[:PAGE_SIZE],
        has_next=len(rows) > PAGE_SIZE,
        searching=searching,
    )


def case_conversation(case: Case) -> list[Message]:
    """The case's messages, oldest first, with their authors and attachments (2 queries)."""
    return list(
        Message.objects.filter(case_id=case.pk)
        .select_related("author")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
        )
        .order_by("created_at", "id")
    )


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
    data = event.data or {}
    match event.type:
        case "case.opened":
            return (
                f"Case opened ({_label(Kind, data.get('kind'))}, "
                f"{_label(Channel, data.get('channel'))})"
            )
        case "case.owner_assigned":
            name = data.get("owner_name") or "nobody (no staff available)"
            return f"Assigned to {name}"
        case "case.owner_changed":
            return (
                f"Handed over from {data.get('old_owner_name') or 'nobody'} to "
                f"{data.get('owner_name')}: “{data.get('note', '')}”"
            )
        case "case.stage_changed":
            text = (
                f"Stage changed from {_label(Stage, data.get('old'))} to "
                f"{_label(Stage, data.get('new'))}"
            )
            return text + (f": {data['reason']}" if data.get("reason") else "")
        case "case.kind_changed":
            return (
                f"Kind changed from {_label(Kind, data.get('old'))} to "
                f"{_label(Kind, data.get('new'))}"
            )
        case "case.severity_changed":
            return (
                f"Severity changed from {_label(Severity, data.get('old'))} to "
                f"{_label(Severity, data.get('new'))}"
            )
        case "case.closed":
            return "Case closed" + (f": {data['resolution']}" if data.get("resolution") else "")
        case "case.reopened":
            return "Case reopened" + (f": {data['reason']}" if data.get("reason") else "")
        case "signal.raised":
            flag = data.get("flag", "")
            if data.get("source") == "staff":
                return f"Flag “{flag}” added" + (
                    f": {data['reason']}" if data.get("reason") else ""
                )
            words = ", ".join(f"“{w}”" for w in data.get("words") or [])
            return f"Flag “{flag}” raised by the customer's message" + (
                f" ({words})" if words else ""
            )
        case "signal.cleared":
            return f"Flag “{data.get('flag', '')}” cleared: {data.get('reason', '')}"
        case "triage.corrected":
            return (
                f"Reading corrected: {data.get('field')} "
                f"{data.get('old') or '—'} → {data.get('new')}"
            )
        case _:
            return event.type.replace(".", " ").replace("_", " ").capitalize()


def customer_timeline(case: Case, *, limit: int = TIMELINE_LIMIT) -> list[TimelineItem]:
    """The customer's latest ``limit`` events across all their cases, newest first.

    Read from the customer-indexed event log (1 query); messages of *other* cases are
    fetched in one more query so their full text can be read here. Messages of this case
    are in the conversation already and show as their excerpt.
    """
    events = list(
        CaseEvent.objects.filter(customer_id=case.customer_id)
        .select_related("actor", "case")
        .only(
            "id",
            "type",
            "data",
            "created_at",
            "case_id",
            "actor_id",
            "case__reference",
            "actor__display_name",
        )
        .order_by("-created_at", "-id")[:limit]
    )
    other_message_ids = [
        int(event.data["message_id"])
        for event in events
        if event.type == "message.added"
        and event.case_id != case.pk
        and isinstance(event.data, dict)
        and event.data.get("message_id")
    ]
    bodies: dict[int, str] = {}
    if other_message_ids:
        bodies = dict(
            Message.objects.filter(pk__in=other_message_ids).values_list("id", "body_text")
        )
    items = []
    url_pattern = reverse("cases:detail", args=[_REFERENCE_SLOT])
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        is_message = event.type == "message.added"
        local = template_localtime(event.created_at)
        is_other = event.case_id != case.pk
        items.append(
            TimelineItem(
                at=event.created_at,
                case_reference=event.case.reference,
                is_other_case=is_other,
                actor=event.actor.display_name if event.actor else "",
                kind="message" if is_message else "event",
                direction=str(data.get("direction", "")) if is_message else "",
                label=direction_label(str(data.get("direction", ""))) if is_message else "",
                text=str(data.get("excerpt", "")) if is_message else describe_event(event),
                body=bodies.get(int(data.get("message_id") or 0), "") if is_message else "",
                url=url_pattern.replace(_REFERENCE_SLOT, event.case.reference) if is_other else "",
                at_iso=date_filter(local, "c"),
                at_text=date_filter(local, "j M Y H:i"),
            )
        )
    return items


def direction_label(direction: str) -> str:
    return _label(Direction, direction)


def staff_choices() -> list[Staff]:
    """Everyone a case can be handed to (1 query)."""
    return list(
        Staff.objects.filter(user__is_active=True).select_related("team").order_by("display_name")
    )
