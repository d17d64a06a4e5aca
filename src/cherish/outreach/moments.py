"""Moments that matter: birthdays, anniversaries of becoming a customer, order milestones and
dates staff added, found for "today and this week" in each customer's own time zone.

Reads only. Sending a note for a moment is outreach.actions.send_moment_note; who each
customer's usual contact is, is kept by outreach.actions.refresh_usual_contacts.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Collate
from django.db.models.lookups import In
from django.utils.translation import gettext, ngettext

from cherish.cases.models import Case, Kind
from cherish.core.db import Unindexed
from cherish.core.i18n import language_of
from cherish.customers.models import (
    Customer,
    DateKind,
    ImportantDate,
    RelationshipStatus,
    Transaction,
    TransactionKind,
)
from cherish.outreach.actions import customer_zone
from cherish.outreach.models import MomentSent, UsualContact

WINDOW_DAYS = 7
ORDER_MILESTONES = (10, 25, 50, 100, 250, 500, 1000)
MAX_MOMENTS = 300


def occurrence(date: dt.date, year: int) -> dt.date:
    """The date's anniversary in ``year``; 29 February is celebrated on 28 February otherwise."""
    if date.month == 2 and date.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return date.replace(year=year)


def next_occurrence(date: dt.date, today: dt.date) -> dt.date:
    this_year = occurrence(date, today.year)
    return this_year if this_year >= today else occurrence(date, today.year + 1)


@dataclass(frozen=True)
class Moment:
    customer: Customer
    key: str
    kind: str
    title: str
    on: dt.date
    suggestion: str
    is_today: bool
    owner_id: int | None
    sent: bool = False
    has_open_complaint: bool = False
    # The note form's opening, in the customer's language (the note goes to them), while the
    # title and suggestion above are for the staff member, in theirs.
    note_subject: str = ""
    note_greeting: str = ""

    @property
    def year(self) -> int:
        return self.on.year


# A moment before it is written out: (on, customer name, customer id, key, what its title
# and suggestion are made of, usual contact's id, customer's time zone).
_Row = tuple[dt.date, str, int, str, tuple[Any, ...], int | None, str]


def _month_day_keys(day: dt.date) -> list[int]:
    """The stored month-day keys (customers.MonthDay) whose anniversary falls on ``day``:
    29 February's falls on 28 February outside leap years."""
    keys = [day.month * 100 + day.day]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        keys.append(229)
    return keys


def _by_name(field: str) -> Any:
    """``field`` ordered as Python orders strings (by code point): SQLite's default collation
    does; PostgreSQL's may not (locale rules), so the cut of a page agrees with the sort."""
    if connection.vendor == "postgresql":
        return Collate(F(field), "C")
    return F(field)


def moment_suggestion(kind: str, years: int = 0, note: str = "") -> str:
    """What to do about the moment: for staff, in the active (their) language."""
    if kind == DateKind.BIRTHDAY:
        return gettext(
            "Send a short birthday note in your own words; add a small treat for regulars."
        )
    if kind == "tenure":
        return ngettext(
            "Thank them for %(years)d year with us and mention something you know they value.",
            "Thank them for %(years)d years with us and mention something you know they value.",
            years,
        ) % {"years": years}
    if kind == "milestone":
        return gettext(
            "Thank them personally for their loyalty; a small unexpected gift fits here."
        )
    if kind == DateKind.ANNIVERSARY:
        return gettext("Mark the anniversary with a personal note.")
    if note:
        return gettext("Wish them well: %(note)s.") % {"note": note}
    return gettext("Wish them well.")


def tenure_title(years: int) -> str:
    return ngettext("%(years)d year as a customer", "%(years)d years as a customer", years) % {
        "years": years
    }


def note_opening(customer: Customer, kind: str, years: int = 0) -> tuple[str, str]:
    """The subject and salutation a moment's note starts with, in the customer's language."""
    with language_of(customer.language):
        if kind == DateKind.BIRTHDAY:
            subject = gettext("Happy birthday")
        elif kind == "tenure":
            subject = ngettext(
                "Thank you for %(years)d year with us",
                "Thank you for %(years)d years with us",
                years,
            ) % {"years": years}
        elif kind == "milestone":
            subject = gettext("Thank you for your loyalty")
        elif kind == DateKind.ANNIVERSARY:
            subject = gettext("Happy anniversary")
        else:
            subject = gettext("Best wishes")
        return subject, gettext("Dear %(name)s,") % {"name": customer.name}


def moments_between(
    at: dt.datetime,
    *,
    owner_id: int | None = None,
    days: int = WINDOW_DAYS,
    among: QuerySet[Customer] | None = None,
) -> list[Moment]:
    """Moments from today to ``days`` ahead, each in the customer's own time zone; at most
    MAX_MOMENTS, soonest first (then by customer name). See ``moment_list``."""
    return list(moment_list(at, owner_id=owner_id, days=days, among=among))


def moment_list(
    at: dt.datetime,
    *,
    owner_id: int | None = None,
    days: int = WINDOW_DAYS,
    among: QuerySet[Customer] | None = None,
) -> MomentList:
    """``moments_between``'s moments as a sequence that writes out only the part asked for
    (a page of the Paginator: its customers, notes sent and open complaints).

    With ``owner_id`` only customers whose usual contact (owner of their latest case, as
    UsualContact last stored it) is that person; with ``among`` only those customers (the
    viewer's, customers.access), asked of each row read. The days are read in order, each
    from the month-day indexes (Customer.since_md, ImportantDate.date_md) in name order with
    a LIMIT of what is still missing, so the rows read follow MAX_MOMENTS, not the number of
    customers with a moment this week (about 7,000 at 200k customers).
    """
    org_today = at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()

    def whose(
        prefix: str, skip_zones: set[str], *, since_keys: list[int] | None = None
    ) -> list[Any]:
        return _whose(
            prefix, owner_id=owner_id, among=among, skip_zones=skip_zones, since_keys=since_keys
        )

    windows: dict[str, tuple[dt.date, dt.date]] = {}

    def window(time_zone: str) -> tuple[dt.date, dt.date]:
        found = windows.get(time_zone)
        if found is None:
            today = at.astimezone(customer_zone(Customer(time_zone=time_zone))).date()
            found = windows[time_zone] = (today, today + dt.timedelta(days=days - 1))
        return found

    milestones: dict[dt.date, list[_Row]] = {}
    reached = _order_milestones(at, days)
    if reached:
        for pk, name, time_zone, owner in Customer.objects.filter(
            *whose("", set()), pk__in=reached
        ).values_list("pk", "name", "time_zone", "usual_contact__staff_id"):
            today = window(time_zone)[0]
            key = f"order:{reached[pk]}"
            milestones.setdefault(today, []).append(
                (today, name, pk, key, ("milestone",), owner, time_zone)
            )
    found: list[_Row] = []
    # Time zones differ by at most a day from the organisation's, so one extra day each side.
    # The first and last of these days are in the week of customers in other time zones only:
    # those in the organisation's are not read.
    outside = {"", settings.TIME_ZONE}
    for span in _spans(org_today, days, one_day_each=owner_id is None):
        need = MAX_MOMENTS - len(found)
        if need <= 0:
            break
        skip = {
            day: set(outside)
            for day in span
            if day < org_today or day > org_today + dt.timedelta(days=days - 1)
        }
        found.extend(_on_days(span, need, whose, window, milestones, skip))
    return MomentList(found, window)


def _spans(org_today: dt.date, days: int, *, one_day_each: bool) -> list[list[dt.date]]:
    """The days to read, in runs read with one statement per source: a day's month-day keys
    rise through a run, so the index order is the day order. The new year and 28 February
    outside leap years (which 29 February's anniversaries join) start runs of their own.

    ``one_day_each`` for everyone's customers: a day or two fill the 300 (at 1M cases), and a
    day's dates are read whole to be sorted by name, so one day at a time reads least. One
    person's customers (1 in 20 in the bench) are sparse: the week in four runs reads the
    same index ranges in fewer statements."""
    all_days = [org_today + dt.timedelta(days=offset) for offset in range(-1, days + 1)]
    spans: list[list[dt.date]] = []
    for n, day in enumerate(all_days):
        alone = (
            one_day_each
            or n in (0, 1, len(all_days) - 1)
            or len(_month_day_keys(day)) > 1
            or len(_month_day_keys(all_days[n - 1])) > 1
            or (day.month, day.day) == (1, 1)
        )
        if alone or not spans:
            spans.append([day])
        else:
            spans[-1].append(day)
    return spans


def _on_days(
    span: list[dt.date],
    need: int,
    whose: Callable[..., list[Any]],
    window: Callable[[str], tuple[dt.date, dt.date]],
    milestones: dict[dt.date, list[_Row]],
    skip: dict[dt.date, set[str]],
) -> list[_Row]:
    """The first ``need`` moments on the days of ``span`` in order (day, name, customer, key),
    of customers whose own week has that day.

    Each source is read in (day, name) order with a LIMIT of ``need``. A source cut by its
    LIMIT is complete up to its last (day, name, customer); only rows up to the smallest such
    mark are kept, which are at least ``need`` when no row was refused here. A row is refused
    when the customer's time zone puts the day outside their week (the week's first and last
    days); that zone is then left out of that day in the next read, so a few reads at most.
    ``skip``: the zones left out of a day from the start.
    """
    day_of = {key: day for day in span for key in _month_day_keys(day)}
    keys = list(day_of)
    # One day: its keys may be 228 and 229 together, so by name only; more days: by key.
    by_day = len(span) > 1
    while True:
        rows: list[_Row] = [row for day in span for row in milestones.get(day, [])]
        refused: dict[dt.date, set[str]] = {}
        marks: list[tuple[dt.date, str, int]] = []
        left_out = [
            ~Q(since_md__in=_month_day_keys(day), time_zone__in=sorted(zones))
            for day, zones in skip.items()
            if zones
        ]
        tenure = list(
            Customer.objects.filter(
                *whose("", set(), since_keys=keys),
                *left_out,
                customer_since__lt=dt.date(span[-1].year, 1, 1),
            )
            .order_by(*(["since_md"] if by_day else []), _by_name("name"), "pk")
            .values_list(
                "pk",
                "name",
                "time_zone",
                "customer_since",
                "usual_contact__staff_id",
                "since_md",
            )[:need]
        )
        if len(tenure) == need:
            marks.append((day_of[tenure[-1][5]], tenure[-1][1], tenure[-1][0]))
        for pk, name, time_zone, since, owner, key in tenure:
            day = day_of[key]
            today, last = window(time_zone)
            if today <= day <= last:
                years = day.year - since.year
                rows.append((day, name, pk, "tenure", ("tenure", years), owner, time_zone))
            else:
                refused.setdefault(day, set()).add(time_zone)
        when = Q(recurring=True, date_md__in=keys) | Q(recurring=False, date__in=span)
        dates_left_out = [
            ~Q(date_md__in=_month_day_keys(day), customer__time_zone__in=sorted(zones))
            for day, zones in skip.items()
            if zones
        ]
        dates_on_days = ImportantDate.objects.filter(
            when, *whose("customer__", set()), *dates_left_out
        )
        fields = (
            "customer_id",
            "customer__name",
            "customer__time_zone",
            "customer__usual_contact__staff_id",
            "pk",
            "kind",
            "date",
            "note",
            "recurring",
            "date_md",
        )
        dated = list(
            dates_on_days.order_by(
                *(["date_md"] if by_day else []),
                _by_name("customer__name"),
                "customer_id",
                "pk",
            ).values_list(*fields)[:need]
        )
        if len(dated) == need:
            # The LIMIT may have cut between one customer's dates that day: the rest of them.
            last_row = dated[-1]
            dated.extend(
                dates_on_days.filter(
                    customer_id=last_row[0], date_md=last_row[9], pk__gt=last_row[4]
                )
                .order_by("pk")
                .values_list(*fields)
            )
            marks.append((day_of[last_row[9]], last_row[1], last_row[0]))
        for pk, name, time_zone, owner, date_pk, kind, date, note, recurring, key in dated:
            day = day_of[key]
            today, last = window(time_zone)
            on = next_occurrence(date, today) if recurring else date
            if on == day and today <= on <= last:
                what = ("date", kind, note)
                rows.append((day, name, pk, f"date:{date_pk}", what, owner, time_zone))
            else:
                refused.setdefault(day, set()).add(time_zone)
        if marks:
            mark = min(marks)
            rows = [row for row in rows if (row[0], row[1], row[2]) <= mark]
        rows.sort(key=lambda row: (row[0], row[1], row[2], row[3]))
        new = {day: zones - skip.get(day, set()) for day, zones in refused.items()}
        if len(rows) >= need or not marks or not any(new.values()):
            return rows[:need]
        for day, zones in new.items():
            skip.setdefault(day, set()).update(zones)


def _whose(
    prefix: str,
    *,
    owner_id: int | None,
    among: QuerySet[Customer] | None,
    skip_zones: set[str],
    since_keys: list[int] | None = None,
) -> list[Any]:
    """The terms a row's customer (``prefix``: the path to it) must meet: contactable, in
    none of ``skip_zones``, the usual contact's when ``owner_id``, one of ``among``. The
    boundary's EXISTS is tied to the usual contact's row when there is one, so SQLite asks
    it only of that person's customers (1 in 20 in the bench), not of every customer with an
    anniversary that day.

    ``since_keys``: only customers who became one on those month-day keys (``since_md``);
    with ``owner_id`` they are read from the usual contacts' (staff, since_md) index, that
    person's alone, and the customer's own ``since_md`` is checked on each row rather than
    sought (UsualContact.since_md is a copy the hourly refresh keeps; SQLite without
    statistics would otherwise start from the customers' index, every customer's that day)."""
    terms: list[Any] = [
        Q(
            **{
                f"{prefix}merged_into__isnull": True,
                f"{prefix}erased_at__isnull": True,
                f"{prefix}opted_out": False,
            }
        )
        & ~Q(**{f"{prefix}status": RelationshipStatus.LEFT})
    ]
    if skip_zones:
        terms.append(~Q(**{f"{prefix}time_zone__in": sorted(skip_zones)}))
    if since_keys is not None and owner_id is None:
        terms.append(Q(**{f"{prefix}since_md__in": since_keys}))
    elif since_keys is not None:
        terms += [
            Q(
                **{
                    f"{prefix}usual_contact__staff_id": owner_id,
                    f"{prefix}usual_contact__since_md__in": since_keys,
                }
            ),
            In(Unindexed(f"{prefix}since_md"), since_keys),
        ]
    elif owner_id is not None:
        # Asked of each date as soon as its customer's id is read, before the customer's row
        # (a join on the usual contact is asked after it): at 1M cases a week has ~1,300
        # dates, ~85 of them one person's. Not an index to start from either: that would read
        # all of that person's customers (10,000 at 1M cases) instead of the days' dates.
        customer_id = f"{prefix}id" if prefix else "pk"
        terms.append(
            Exists(
                UsualContact.objects.filter(customer_id=OuterRef(customer_id), staff_id=owner_id)
            )
        )
    if among is not None:
        if owner_id is not None:
            ref = f"{prefix}usual_contact__customer_id"
        else:
            ref = f"{prefix}id" if prefix else "pk"
        terms.append(Exists(among.filter(pk=OuterRef(ref))))
    return terms


class MomentList(Sequence[Moment]):
    """The week's moments in order; an index or slice is written out when asked for (one
    read each of customers, notes sent and open complaints per slice)."""

    def __init__(self, rows: list[_Row], window: Callable[[str], tuple[dt.date, dt.date]]) -> None:
        self.rows = rows
        self.window = window

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Moment: ...

    @overload
    def __getitem__(self, index: slice) -> list[Moment]: ...

    def __getitem__(self, index: int | slice) -> Moment | list[Moment]:
        if isinstance(index, slice):
            return self._written(self.rows[index])
        return self._written([self.rows[index]])[0]

    def _written(self, found: list[_Row]) -> list[Moment]:
        if not found:
            return []
        ids = {row[2] for row in found}
        by_pk = Customer.objects.in_bulk(ids)
        sent = set(
            MomentSent.objects.filter(
                customer_id__in=ids, year__in={row[0].year for row in found}
            ).values_list("customer_id", "moment_key", "year")
        )
        complaining = set(
            Case.objects.filter(customer_id__in=ids, is_open=True, kind=Kind.COMPLAINT).values_list(
                "customer_id", flat=True
            )
        )
        moments = []
        for on, _name, pk, key, what, owner, time_zone in found:
            years = 0
            if what[0] == "date":
                _, kind, note = what
                title = DateKind(kind).label + (f": {note}" if note else "")
                tip = moment_suggestion(kind, note=note)
            elif what[0] == "tenure":
                kind, years = what
                title = tenure_title(years)
                tip = moment_suggestion(kind, years=years)
            else:
                kind, tip = "milestone", moment_suggestion("milestone")
                title = gettext("Order number %(number)s") % {"number": key[6:]}
            subject, greeting = note_opening(by_pk[pk], kind, years)
            moments.append(
                Moment(
                    customer=by_pk[pk],
                    key=key,
                    kind=kind,
                    title=str(title),
                    on=on,
                    suggestion=tip,
                    is_today=on == self.window(time_zone)[0],
                    owner_id=owner,
                    sent=(pk, key, on.year) in sent,
                    has_open_complaint=pk in complaining,
                    note_subject=subject,
                    note_greeting=greeting,
                )
            )
        return moments


def _order_milestones(at: dt.datetime, days: int) -> dict[int, int]:
    """Customers whose Nth order (N in ORDER_MILESTONES) falls in the window: customer id -> N."""
    start = at - dt.timedelta(days=1)
    recent_orders = Transaction.objects.filter(
        kind=TransactionKind.ORDER,
        occurred_at__gte=start,
        occurred_at__lte=at + dt.timedelta(days=days),
    )
    counts = (
        Transaction.objects.filter(
            kind=TransactionKind.ORDER, customer_id__in=recent_orders.values("customer_id")
        )
        .values("customer_id")
        .annotate(
            total=Count("id"),
            before=Count("id", filter=Q(occurred_at__lt=start)),
        )
    )
    reached = {
        row["customer_id"]: n
        for row in counts[: MAX_MOMENTS * 10]
        for n in ORDER_MILESTONES
        if row["before"] < n <= row["total"]
    }
    return reached
