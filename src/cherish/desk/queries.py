"""Reads for the desk inbox. Each runs a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from cherish.cases import search
from cherish.cases.access import visible_cases
from cherish.cases.models import Case, Channel, Kind, Stage
from cherish.staff.models import Staff

PAGE_SIZE = 50
# Offsets stay cheap on the inbox indexes up to here; past it, search or filter instead.
MAX_PAGE = 100

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
