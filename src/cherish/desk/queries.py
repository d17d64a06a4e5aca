"""Reads for the desk inbox. Each runs a fixed number of queries, whatever the number of rows.

Counts are *capped*: a count reads at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (…
LIMIT cap + 1)``) and shows "99+" or "1,000+" beyond, so the tab counts and the page total
stay cheap at a million cases whatever the view or filter. The seven tabs count to
``TAB_COUNT_CAP`` (99, like a mail client's badge); the page total to ``COUNT_CAP`` (1,000),
or to the tab cap under a channel filter (no index: it reads rows one by one).

Every built-in view seeks an index of the case table (``cases.models.Case.Meta.indexes``)
that also holds the owner and team, so the team boundary is checked without reading rows;
the owner, team, date, topic (``TriageTopic``) and flag (``HasBadge``, a partial index per
flag) filters seek theirs. A view over the count cap shown in another order than its own
is read in that order instead of sorted whole: an open-only index per sort column, or the
customers or staff as the outer loop for the name sorts (``inbox_for``). Figures at 1M
cases are in bench/README.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, Lookup, OrderBy, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Exact, GreaterThanOrEqual, IsNull, LessThan
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy

from cherish.care.clocks import TargetClock
from cherish.care.queries import next_breach_clocks, rendered_snippets
from cherish.cases import search
from cherish.cases.access import visible_cases, visible_cases_of
from cherish.cases.models import Case, Channel, HasBadge, Kind, Stage, TriageTopic
from cherish.core.clock import now
from cherish.core.db import Unindexed
from cherish.customers.models import Customer
from cherish.desk.models import SavedView
from cherish.staff.access import scope_of
from cherish.staff.models import Staff, Team
from cherish.triage.actions import TOPIC_CHOICES
from cherish.triage.case_signals import CASE_FLAGS, FLAG_LABELS
from cherish.triage.queries import value_label

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
# Sorts by another table's column: (table, column, the case's key to it); a big view's page
# reads that table first (see _page_ids_outer_join).
JOIN_SORTS = {
    "customer": (Customer._meta.db_table, "name", "customer_id"),
    "owner": (Staff._meta.db_table, "display_name", "owner_id"),
}
# Sorts with an open-only index of their own (cases.models: case_open_*), or the table
# itself for the reference (id), read in order for a view too big to sort (see inbox_for).
SCAN_SORTS = frozenset({"reference", "subject", "stage", "opened", "updated"})
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
        # Grouped as the reader's language groups: "1,000+" in English, "1.000+" in German.
        if self.more:
            return number_format(self.cap, force_grouping=True) + "+"
        return number_format(self.value, force_grouping=True)


def capped_count(cases: QuerySet[Case], cap: int | None = None) -> Count:
    """COUNT over at most ``cap`` + 1 rows (1 query; the LIMIT bounds the rows read)."""
    cap = COUNT_CAP if cap is None else cap
    return Count(cases.order_by()[: cap + 1].count(), cap)


def _visible(staff: Staff, view: str, filters: InboxFilters | None = None) -> QuerySet[Case]:
    """The cases ``staff`` may see, without the team boundary's ``OR`` where the view or an
    owner or team filter keeps to cases inside it anyway ("mine", "my team")."""
    owner = filters.owner if filters is not None else ""
    team = filters.team if filters is not None else ""
    return visible_cases_of(
        staff,
        owner_id=staff.pk if view == "mine" else (int(owner) if owner.isdigit() else None),
        team_id=staff.team_id if view == "team" else (int(team) if team else None),
        seek_own=view != "closed",
    )


def view_cases(
    staff: Staff,
    view: str,
    *,
    base: QuerySet[Case] | None = None,
    scan: bool = False,
    seek_open: bool | None = None,
    closed_since: dt.datetime | None = None,
) -> QuerySet[Case]:
    """The cases of one built-in view, each written so it seeks an index of its own.

    ``is_open__in=[True]`` rather than ``is_open=True``: on SQLite Django writes the latter as
    a bare ``WHERE "is_open"``, which cannot seek the (…, is_open, …) indexes; ``IN (1)`` can.
    The bare term is there too: it is the WHERE of the open-only sort indexes
    (``case_open_*``), which SQLite uses only when the query carries that very term.

    ``scan``: the same cases, with the view's own terms kept out of SQLite's index choice
    (``core.db.Unindexed``), for a big view read in another order (see ``inbox_for``), or
    checked on a filter's narrower index (``seek_open``: that index starts with is_open).
    """
    cases = base if base is not None else _visible(staff, view)
    open_cases = cases.filter(is_open=True)
    if not scan if seek_open is None else seek_open:
        open_cases = open_cases.filter(is_open__in=[True])
    match view:
        case "mine":
            return open_cases.filter(_equal("owner_id", staff.pk, scan))
        case "unassigned":
            return open_cases.filter(_equal("owner_id", None, scan))
        case "at_risk":
            return open_cases.filter(_equal("at_risk", True, scan))
        case "team":
            if not staff.team_id:
                return cases.none()
            return open_cases.filter(_equal("team_id", staff.team_id, scan))
        case "waiting":
            return open_cases.filter(_equal("stage", Stage.WAITING_ON_CUSTOMER, scan))
        case "closed":
            since = closed_since or now() - dt.timedelta(days=RECENTLY_CLOSED_DAYS)
            return cases.filter(closed_at__gte=since)
        case _:
            return open_cases


def _equal(field: str, value: Any, scan: bool) -> Q | Lookup[Any]:
    """``field`` equals ``value`` (or IS NULL), as a term SQLite may seek an index with, or,
    with ``scan``, one it may only check (``Unindexed``)."""
    if not scan:
        if value is None:
            return Q(**{f"{field}__isnull": True})
        return Q(**{f"{field}__in": [value]})
    if value is None:
        return IsNull(Unindexed(field), True)
    return Exact(Unindexed(field), value)


@dataclass(frozen=True)
class _CountsSQL:
    """The tab counts' one statement for one kind of viewer, compiled once per process."""

    sql: str
    params: tuple[Any, ...]
    views: tuple[str, ...]  # the views counted, in the statement's order
    empty: frozenset[str]  # views that are empty whatever the data (no team: "team")
    since_at: tuple[int, ...]  # where the "recently closed" cut-off sits in ``params``


# Stands for the "recently closed" cut-off while compiling: the real one (now) is put in its
# place for each request. No other parameter of these statements is a date.
_SINCE_MARK = dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)
_COUNTS_SQL: dict[tuple[Any, ...], _CountsSQL] = {}
_COUNTS_SQL_MAX = 1000


def _compile_counts(staff: Staff, alias: str) -> _CountsSQL:
    parts: list[str] = []
    params: list[Any] = []
    views: list[str] = []
    empty: set[str] = set()
    for view in INBOX_VIEWS:
        rows = (
            view_cases(staff, view, closed_since=_SINCE_MARK)
            .using(alias)
            .order_by()
            .values("pk")[: TAB_COUNT_CAP + 1]
        )
        try:
            sql, view_params = rows.query.sql_with_params()
        except EmptyResultSet:
            empty.add(view)
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) view_{len(parts)})")
        params.extend(view_params)
        views.append(view)
    mark = _closed_at_param(_SINCE_MARK, alias)
    since_at = tuple(i for i, value in enumerate(params) if value == mark)
    return _CountsSQL(
        sql="SELECT " + ", ".join(parts) if parts else "",
        params=tuple(params),
        views=tuple(views),
        empty=frozenset(empty),
        since_at=since_at,
    )


def _closed_at_param(value: dt.datetime, alias: str) -> Any:
    """``value`` as the database takes it for ``closed_at`` (a string on SQLite)."""
    field = Case._meta.get_field("closed_at")
    return field.get_db_prep_value(value, connections[alias], prepared=False)


def view_counts(staff: Staff) -> dict[str, Count]:
    """Every built-in view's count, capped at TAB_COUNT_CAP, in one statement: a capped
    COUNT per view as scalar subqueries (Django would send seven round trips and build seven
    queries; the SQL is each view's own, compiled by Django with its parameters).

    The statement is compiled once per process for each viewer's scope and team (they are
    all it depends on besides the clock): building seven querysets cost several times what
    running the statement does (bench/README.md, "The inbox's CPU after the #13 rebuild")."""
    alias = Case.objects.db
    key = (
        alias,
        connections[alias].vendor,
        scope_of(staff),
        staff.pk,
        staff.team_id,
        TAB_COUNT_CAP,  # in the SQL (LIMIT); tests change it
    )
    compiled = _COUNTS_SQL.get(key)
    if compiled is None:
        compiled = _compile_counts(staff, alias)
        if len(_COUNTS_SQL) >= _COUNTS_SQL_MAX:
            _COUNTS_SQL.clear()
        _COUNTS_SQL[key] = compiled
    values: dict[str, int] = dict.fromkeys(compiled.empty, 0)
    if compiled.views:
        params = list(compiled.params)
        if compiled.since_at:
            since = now() - dt.timedelta(days=RECENTLY_CLOSED_DAYS)
            for index in compiled.since_at:
                params[index] = _closed_at_param(since, alias)
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        values.update(zip(compiled.views, (int(n) for n in row), strict=True))
    return {view: Count(values[view], TAB_COUNT_CAP) for view in INBOX_VIEWS}


def _filtered(
    cases: QuerySet[Case],
    filters: InboxFilters,
    *,
    view: str = "",
    scan: bool = False,
    seek_dates: bool = True,
) -> QuerySet[Case]:
    # A kind is a third of the cases or more: it leads only over all open ones (its index is
    # in the inbox order); in a narrower view it is checked on the view's own index. The
    # week's closures lead over an owner or team (the closed view reads its index).
    if filters.kind:
        cases = cases.filter(_equal("kind", filters.kind, scan or view not in ("open", "")))
    if filters.stage:
        cases = cases.filter(_equal("stage", filters.stage, scan))
    if filters.channel:
        cases = cases.filter(channel=filters.channel)
    if filters.owner:
        owner = None if filters.owner == "none" else int(filters.owner)
        cases = cases.filter(_equal("owner_id", owner, scan or view == "closed"))
    if filters.team:
        cases = cases.filter(_equal("team_id", int(filters.team), scan or view == "closed"))
    if filters.topic:
        topic = Unindexed(TriageTopic()) if scan else TriageTopic()
        cases = cases.filter(Exact(topic, filters.topic))  # seeks case_topic
    if filters.flag:
        # Seeks the flag's partial index; with ``scan``, checked on each row read instead.
        flag = HasBadge(filters.flag)
        cases = cases.filter(Exact(Unindexed(flag), True) if scan else flag)
    # The opening dates seek an index only when the list is in that order (or small).
    opened = F("created_at") if seek_dates else Unindexed("created_at")
    if filters.opened_from:
        start = dt.datetime.combine(dt.date.fromisoformat(filters.opened_from), dt.time.min)
        cases = cases.filter(GreaterThanOrEqual(opened, start.replace(tzinfo=dt.UTC)))
    if filters.opened_to:
        end = dt.datetime.combine(dt.date.fromisoformat(filters.opened_to), dt.time.min)
        cases = cases.filter(LessThan(opened, end.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)))
    return cases


def _ordering(filters: InboxFilters) -> tuple[str, ...]:
    if filters.view == "closed" and filters.sort == DEFAULT_SORT:
        return ("-closed_at", "-id")
    order = SORTS[filters.sort.lstrip("-")]
    return _reverse(order) if filters.sort.startswith("-") else order


def _page_ids_outer_join(
    cases: QuerySet[Case], sort: str, *, offset: int, limit: int
) -> RawSQL | None:
    """The ids of one page of ``cases`` sorted by customer or owner name, read with the
    customers (or staff) table as the outer loop (``CROSS JOIN``, the one join order SQLite
    never changes): by name through its index, each one's cases by id, stopping after the
    page. SQLite's own plan joins every case of the view first and sorts them all (seconds
    for a team's 150k open cases). The owner sort puts the unassigned first (last when
    reversed), as ``ORDER BY`` on the outer join does. None when the view's SQL is not one
    plain ``WHERE`` on the case table (then the caller sorts as usual)."""
    if connections[cases.db].vendor != "sqlite":
        return None  # PostgreSQL weighs the LIMIT itself (and has no CROSS JOIN … ON)
    key, descending = sort.lstrip("-"), sort.startswith("-")
    outer, name, column = JOIN_SORTS[key]
    table = Case._meta.db_table
    sql, params = cases.order_by().values("pk").query.sql_with_params()
    head, found, where = sql.partition(f' FROM "{table}" WHERE ')
    if not found or " JOIN " in head:
        return None
    direction = " DESC" if descending else ""
    end = offset + limit
    joined = (
        f'SELECT "{table}"."id" FROM "{outer}" CROSS JOIN "{table}" '
        f'ON "{table}"."{column}" = "{outer}"."id" WHERE {where} '
        f'ORDER BY "{outer}"."{name}"{direction}, "{table}"."id"{direction} LIMIT {end}'
    )
    if key != "owner":
        return RawSQL(f"SELECT * FROM ({joined}) LIMIT {limit} OFFSET {offset}", params)
    nobody = (
        f'SELECT "{table}"."id" FROM "{table}" WHERE {where} AND "{table}"."{column}" IS NULL '
        f'ORDER BY "{table}"."id"{direction} LIMIT {end}'
    )
    # SQLite reads a UNION ALL branch by branch, in the order written.
    first, second = (joined, nobody) if descending else (nobody, joined)
    return RawSQL(
        f"SELECT * FROM (SELECT * FROM ({first}) UNION ALL SELECT * FROM ({second})) "
        f"LIMIT {limit} OFFSET {offset}",
        (*params, *params),
    )


def _sorted_not_seeked(key: str) -> OrderBy:
    """An ORDER BY term SQLite sorts by rather than reads an index in (``Unindexed``)."""
    column = Unindexed(key.lstrip("-"))
    return column.desc() if key.startswith("-") else column.asc()


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
    searching = bool(filters.q)
    view = "" if searching or filters.stage == Stage.CLOSED else filters.view

    def matching(*, scan: bool, seek_dates: bool = True) -> QuerySet[Case]:
        cases = _visible(staff, view, filters)
        if searching:
            matches = search.case_filter(filters.q)
            if matches is not None:
                cases = cases.filter(matches)
        elif filters.stage == Stage.CLOSED:
            cases = cases.filter(is_open__in=[False])
        else:
            # A flag or topic's own index is the narrow one: the view is checked on it.
            narrow = bool(filters.flag or filters.topic) and not scan
            cases = view_cases(
                staff, filters.view, base=cases, scan=scan or narrow, seek_open=not scan
            )
        return _filtered(cases, filters, view=view, scan=scan, seek_dates=seek_dates)

    cases = matching(scan=False)
    # The channel has no index: its count reads the view's rows one by one, so to 99.
    total = capped_count(cases, TAB_COUNT_CAP if filters.channel else None)
    order: tuple[str | OrderBy, ...] = _ordering(filters)
    offset = (filters.page - 1) * PAGE_SIZE
    big = total.more and view not in ("", "closed")
    key = filters.sort.lstrip("-")
    dated = bool(filters.opened_from or filters.opened_to)
    if key == "owner" and (view == "mine" or filters.owner):
        # One owner (or none) for every row: by owner is by id.
        order = ("-id",) if filters.sort.startswith("-") else ("id",)
    elif big and key in SCAN_SORTS:
        # A big view in another order than its own: read the open-only index of that
        # column in order and check the view on each entry (one page of reading), rather
        # than sort every case of the view (a whole team's: seconds at a million cases).
        cases = matching(scan=True, seek_dates=key == "opened")
    elif big and key == DEFAULT_SORT and dated:
        # Over a thousand cases opened in the period: the view's own index gives the
        # order, the dates are checked on each entry, instead of sorting the period's.
        cases = matching(scan=False, seek_dates=False)
    elif big and key in JOIN_SORTS:
        scanned = matching(scan=True, seek_dates=False)
        ids = _page_ids_outer_join(scanned, filters.sort, offset=offset, limit=PAGE_SIZE + 1)
        if ids is not None:
            cases, offset = cases.filter(pk__in=ids), 0
    elif view == "closed" and filters.sort != DEFAULT_SORT:
        # A week's closures, sorted: not the whole table walked in the sort's own index
        # order in search of them (SQLite's choice, and seconds when there are few).
        order = tuple(_sorted_not_seeked(key) for key in _ordering(filters))
    rows = list(
        cases.select_related("customer", "owner")
        .defer("triage", "signals", "handoff_note", "customer__notes")
        .order_by(*order)[offset : offset + PAGE_SIZE + 1]
    )
    shown = rows[:PAGE_SIZE]
    return InboxPage(
        filters=filters,
        cases=shown,
        has_next=len(rows) > PAGE_SIZE,
        searching=searching,
        total=total,
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
        # (value, the words staff read): triage keeps codes, the desk shows words.
        "topics": [(topic, value_label("topic", topic)) for topic in TOPIC_CHOICES],
        "flags": [(flag, str(FLAG_LABELS[flag])) for flag in CASE_FLAGS],
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
