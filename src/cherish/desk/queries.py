"""Reads for the desk inbox. Each runs a fixed number of queries, whatever the number of rows.

Counts are *capped*: a count reads at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (…
LIMIT cap + 1)``) and shows "99+" or "1,000+" beyond, so the tab counts and the page total
stay cheap at a million cases whatever the view or filter. The seven tabs count to
``TAB_COUNT_CAP`` (99, like a mail client's badge); the page total to ``COUNT_CAP`` (1,000),
or to the tab cap when a topic or flag filter has to read JSON row by row. Every built-in
view seeks an index of the case table (see ``cases.models.Case.Meta.indexes``); the owner,
team and date filters do too; topic and flag filters read JSON and are only bounded by the
LIMIT (see bench/README.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from cherish.care.clocks import TargetClock
from cherish.care.queries import next_breach_clocks, rendered_snippets
from cherish.cases import search
from cherish.cases.access import visible_cases
from cherish.cases.models import Case, Channel, Kind, Stage
from cherish.core.clock import now
from cherish.desk.models import SavedView
from cherish.staff.models import Staff, Team
from cherish.triage.actions import TOPIC_CHOICES
from cherish.triage.case_signals import CASE_FLAGS

PAGE_SIZE = 50
# Offsets stay cheap on the inbox indexes up to here; past it, search or filter instead.
MAX_PAGE = 100
COUNT_CAP = 1000
TAB_COUNT_CAP = 99
RECENTLY_CLOSED_DAYS = 7

INBOX_VIEWS: dict[str, Any] = {
    "mine": gettext_lazy("Mine"),
    "unassigned": gettext_lazy("Unassigned"),
    "at_risk": gettext_lazy("At risk"),
    "team": gettext_lazy("My team"),
    "open": gettext_lazy("All open"),
    "waiting": gettext_lazy("Waiting on customer"),
    "closed": gettext_lazy("Recently closed"),
}
DEFAULT_VIEW = "mine"
# Bookmarks from before the views were split keep working.
VIEW_ALIASES = {"attention": "at_risk"}

# Sort keys → ORDER BY. "-key" sorts the other way. The default is the triage order.
SORTS: dict[str, tuple[str, ...]] = {
    "priority": ("-priority", "-updated_at", "-id"),
    "reference": ("id",),
    "customer": ("customer__name", "id"),
    "subject": ("subject", "id"),
    "owner": ("owner__display_name", "id"),
    "stage": ("stage", "id"),
    "opened": ("created_at", "id"),
    "updated": ("updated_at", "id"),
}
DEFAULT_SORT = "priority"
FILTER_NAMES = (
    "kind",
    "stage",
    "channel",
    "owner",
    "team",
    "topic",
    "flag",
    "opened_from",
    "opened_to",
)


def _reverse(order: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(key[1:] if key.startswith("-") else f"-{key}" for key in order)


def _date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        return ""


def _number(value: str) -> str:
    return value if value.isdigit() and len(value) < 12 else ""


@dataclass(frozen=True)
class InboxFilters:
    view: str = DEFAULT_VIEW
    kind: str = ""
    stage: str = ""
    channel: str = ""
    owner: str = ""  # a staff id, or "none" for unassigned
    team: str = ""  # a team id
    topic: str = ""
    flag: str = ""
    opened_from: str = ""  # ISO dates, inclusive
    opened_to: str = ""
    sort: str = DEFAULT_SORT
    q: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> InboxFilters:
        """Read filters from a QueryDict, dropping values that are not known choices."""

        def text(name: str) -> str:
            return str(params.get(name, "") or "").strip()

        def choice(name: str, allowed: list[str] | tuple[str, ...]) -> str:
            value = text(name)
            return value if value in allowed else ""

        try:
            page = int(params.get("page") or 1)
        except (TypeError, ValueError):
            page = 1
        view = text("view")
        view = VIEW_ALIASES.get(view, view)
        sort = text("sort")
        owner = text("owner")
        return cls(
            view=view if view in INBOX_VIEWS else DEFAULT_VIEW,
            kind=choice("kind", Kind.values),
            stage=choice("stage", Stage.values),
            channel=choice("channel", Channel.values),
            owner="none" if owner == "none" else _number(owner),
            team=_number(text("team")),
            topic=choice("topic", TOPIC_CHOICES),
            flag=choice("flag", CASE_FLAGS),
            opened_from=_date(text("opened_from")),
            opened_to=_date(text("opened_to")),
            sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT,
            q=" ".join(text("q").split())[:200],
            page=min(max(page, 1), MAX_PAGE),
        )

    def values(self) -> dict[str, str]:
        return {
            "view": self.view,
            **{name: getattr(self, name) for name in FILTER_NAMES},
            "sort": self.sort,
            "q": self.q,
            "page": str(self.page),
        }

    def as_params(self, **changes: Any) -> dict[str, str]:
        """The non-default filters as query parameters, with ``changes`` applied."""
        values = self.values()
        values.update({key: str(value) for key, value in changes.items()})
        if values["page"] == "1":
            del values["page"]
        if values["view"] == DEFAULT_VIEW:
            del values["view"]
        if values["sort"] == DEFAULT_SORT:
            del values["sort"]
        return {key: value for key, value in values.items() if value}

    @property
    def saved_params(self) -> dict[str, str]:
        """What a saved view keeps: the view, filters and sort (never the search words,
        which may name a customer, nor the page)."""
        return self.as_params(q="", page=1)

    @property
    def has_filters(self) -> bool:
        return any(getattr(self, name) for name in FILTER_NAMES)


@dataclass(frozen=True)
class Count:
    """A capped count: ``value`` is exact up to ``cap``; ``more`` says there are more."""

    value: int
    cap: int

    @property
    def more(self) -> bool:
        return self.value > self.cap

    def __str__(self) -> str:
        return f"{self.cap:,}+" if self.more else f"{self.value:,}"


def capped_count(cases: QuerySet[Case], cap: int | None = None) -> Count:
    """COUNT over at most ``cap`` + 1 rows (1 query; the LIMIT bounds the rows read)."""
    cap = COUNT_CAP if cap is None else cap
    return Count(cases.order_by()[: cap + 1].count(), cap)


def view_cases(staff: Staff, view: str, *, base: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """The cases of one built-in view, each written so it seeks an index of its own.

    ``is_open__in=[True]`` rather than ``is_open=True``: on SQLite Django writes the latter as
    a bare ``WHERE "is_open"``, which cannot seek the (…, is_open, …) indexes; ``IN (1)`` can.
    """
    cases = base if base is not None else visible_cases(staff)
    open_cases = cases.filter(is_open__in=[True])
    match view:
        case "mine":
            return open_cases.filter(owner_id=staff.pk)
        case "unassigned":
            return open_cases.filter(owner__isnull=True)
        case "at_risk":
            return open_cases.filter(at_risk__in=[True])
        case "team":
            return open_cases.filter(team_id=staff.team_id) if staff.team_id else cases.none()
        case "waiting":
            return cases.filter(stage=Stage.WAITING_ON_CUSTOMER)
        case "closed":
            since = now() - dt.timedelta(days=RECENTLY_CLOSED_DAYS)
            return cases.filter(closed_at__gte=since)
        case _:
            return open_cases


def view_counts(staff: Staff) -> dict[str, Count]:
    """Every built-in view's count, capped at TAB_COUNT_CAP, in one statement: a capped
    COUNT per view as scalar subqueries (Django would send seven round trips and build seven
    queries; the SQL is each view's own, compiled by Django with its parameters)."""
    parts: list[str] = []
    params: list[Any] = []
    views: list[str] = []
    empty: set[str] = set()
    alias = DEFAULT_DB_ALIAS
    for view in INBOX_VIEWS:
        rows = view_cases(staff, view).order_by().values("pk")[: TAB_COUNT_CAP + 1]
        alias = rows.db
        try:
            sql, view_params = rows.query.sql_with_params()
        except EmptyResultSet:
            empty.add(view)
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) view_{len(parts)})")
        params.extend(view_params)
        views.append(view)
    values: dict[str, int] = dict.fromkeys(empty, 0)
    if parts:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            row = cursor.fetchone()
        values.update(zip(views, (int(n) for n in row), strict=True))
    return {view: Count(values[view], TAB_COUNT_CAP) for view in INBOX_VIEWS}


def _filtered(cases: QuerySet[Case], filters: InboxFilters) -> QuerySet[Case]:
    if filters.kind:
        cases = cases.filter(kind=filters.kind)
    if filters.stage:
        cases = cases.filter(stage=filters.stage)
    if filters.channel:
        cases = cases.filter(channel=filters.channel)
    if filters.owner == "none":
        cases = cases.filter(owner__isnull=True)
    elif filters.owner:
        cases = cases.filter(owner_id=int(filters.owner))
    if filters.team:
        cases = cases.filter(team_id=int(filters.team))
    if filters.topic:
        cases = cases.filter(triage__topic=filters.topic)
    if filters.flag:
        # badges is a JSON list of plain words; the quoted word matches one whole badge.
        cases = cases.filter(badges__icontains=f'"{filters.flag}"')
    if filters.opened_from:
        start = dt.datetime.combine(dt.date.fromisoformat(filters.opened_from), dt.time.min)
        cases = cases.filter(created_at__gte=start.replace(tzinfo=dt.UTC))
    if filters.opened_to:
        end = dt.datetime.combine(dt.date.fromisoformat(filters.opened_to), dt.time.min)
        cases = cases.filter(created_at__lt=end.replace(tzinfo=dt.UTC) + dt.timedelta(days=1))
    return cases


def _ordering(filters: InboxFilters) -> tuple[str, ...]:
    if filters.view == "closed" and filters.sort == DEFAULT_SORT:
        return ("-closed_at", "-id")
    order = SORTS[filters.sort.lstrip("-")]
    return _reverse(order) if filters.sort.startswith("-") else order


@dataclass
class InboxPage:
    filters: InboxFilters
    cases: list[Case]
    has_next: bool
    searching: bool
    total: Count
    clocks: dict[int, TargetClock]

    @property
    def page(self) -> int:
        return self.filters.page

    @property
    def has_previous(self) -> bool:
        return self.filters.page > 1

    @property
    def first(self) -> int:
        return (self.filters.page - 1) * PAGE_SIZE + 1 if self.cases else 0

    @property
    def last(self) -> int:
        return (self.filters.page - 1) * PAGE_SIZE + len(self.cases)


def inbox_for(staff: Staff, filters: InboxFilters) -> InboxPage:
    """One page of the inbox: a view (or a search across all cases) plus filters and a sort.

    Reads PAGE_SIZE + 1 rows to know whether there is a next page, a capped total, and the
    next clock to breach for every open case on the page (care's targets and business hours).
    """
    cases: QuerySet[Case] = visible_cases(staff)
    searching = bool(filters.q)
    if searching:
        matches = search.case_filter(filters.q)
        if matches is not None:
            cases = cases.filter(matches)
    elif filters.stage == Stage.CLOSED:
        cases = cases.filter(is_open__in=[False])
    else:
        cases = view_cases(staff, filters.view, base=cases)
    cases = _filtered(cases, filters)
    offset = (filters.page - 1) * PAGE_SIZE
    rows = list(
        cases.select_related("customer", "owner")
        .defer("triage", "signals", "handoff_note", "customer__notes")
        .order_by(*_ordering(filters))[offset : offset + PAGE_SIZE + 1]
    )
    shown = rows[:PAGE_SIZE]
    return InboxPage(
        filters=filters,
        cases=shown,
        has_next=len(rows) > PAGE_SIZE,
        searching=searching,
        total=capped_count(cases, TAB_COUNT_CAP if filters.topic or filters.flag else None),
        clocks=next_breach_clocks(shown),
    )


def filter_choices() -> dict[str, Any]:
    """What the filter and bulk forms offer (2 queries): staff and teams."""
    return {
        "staff_list": list(
            Staff.objects.filter(user__is_active=True)
            .select_related("team")
            .order_by("display_name")
        ),
        "teams": list(Team.objects.order_by("name").values_list("pk", "name")),
        "topics": TOPIC_CHOICES,
        "flags": CASE_FLAGS,
    }


def saved_views_of(staff: Staff) -> list[SavedView]:
    """The staff member's own saved views, by name (1 query)."""
    return list(SavedView.objects.filter(staff=staff).order_by("name", "id"))


def bulk_cases(staff: Staff, references: list[str]) -> dict[str, Case]:
    """The visible cases among ``references`` by reference (1 query); the rest are missing."""
    return {
        case.reference: case
        for case in visible_cases(staff)
        .select_related("customer", "owner", "team")
        .filter(reference__in=references)
    }


_STAGE_LABELS = dict(Stage.choices)


def macro_choices(case: Case, writer: Staff | None) -> list[dict[str, Any]]:
    """Every saved reply for the case's kind, filled in for ``writer``, with its actions as
    short labels and the text the picker's filter searches (1 query)."""
    macros = []
    for snippet, body in rendered_snippets(case, writer):
        actions = []
        if snippet.stage:
            actions.append(str(_STAGE_LABELS.get(snippet.stage, snippet.stage)))
        if snippet.commitment_what:
            actions.append(snippet.commitment_what)
        if snippet.tag:
            actions.append(f"#{snippet.tag}")
        macros.append(
            {
                "snippet": snippet,
                "body": body,
                "actions": actions,
                "search": f"{snippet.title} {body}".lower(),
            }
        )
    return macros
