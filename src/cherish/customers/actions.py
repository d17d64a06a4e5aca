"""Creating and matching customers, and every change to what we know about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext

from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.core.i18n import supported
from cherish.core.rows import Maker, RowInsert, RowSelect
from cherish.customers.models import (
    ContactKind,
    ContactPoint,
    Customer,
    CustomerEvent,
    DateKind,
    DuplicateStatus,
    ImportantDate,
    LeaveReason,
    LeaveReasonKind,
    PossibleDuplicate,
    RelationshipStatus,
    Transaction,
    default_currency,
)
from cherish.customers.normalise import normalise_email, normalise_phone
from cherish.staff.models import Staff

UPSERT_BATCH = 1000


class CustomerError(CherishError):
    code = "customer_error"


class CustomerErased(CustomerError):
    """An erased record is a tombstone: nothing about a person is written to it again."""

    code = "customer_erased"
    status = 404

    def __init__(self) -> None:
        super().__init__("There is no such customer.")


def refuse_erased(customer: Customer) -> None:
    """Raise CustomerErased for an erased record (checked against the database row)."""
    if customer.erased_at is not None or (
        customer.pk is not None
        and Customer.objects.filter(pk=customer.pk, erased_at__isnull=False).exists()
    ):
        raise CustomerErased()


@dataclass(frozen=True)
class CustomerMatch:
    """Who one contact belongs to, and where to answer it.

    ``reply_to`` is the email address the contact came from ('' when it gave none): mail
    about this contact goes there and to no other address of the record.
    """

    customer: Customer
    created: bool
    reply_to: str = ""
    possible_duplicates: tuple[PossibleDuplicate, ...] = ()


def live_customer(customer: Customer | None) -> Customer | None:
    """The record that stands for ``customer`` now: the survivor of merges; None if erased.

    An erased record is a tombstone: nothing is matched to it or added to it again.
    """
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None:
        if customer.pk in seen:  # a corrupt merge loop must not hang intake
            return None
        seen.add(customer.pk)
        customer = customer.merged_into
    if customer is None or customer.erased_at is not None:
        return None
    return customer


@transaction.atomic
def match_customer(
    *,
    name: str = "",
    email: str = "",
    phone: str = "",
    external_id: str = "",
    customer_id: int | None = None,
) -> CustomerMatch:
    """Find the customer a contact belongs to by strong identifiers only; else create one.

    Strong, in this order: the record staff picked (``customer_id``), the integration's
    external id, the exact email address (case-insensitive). A phone number or a name is
    weak evidence (households share phones, people mistype numbers): it never joins the
    contact to the record that holds it. The phone then stays with its holder and the pair
    is offered to staff as a PossibleDuplicate. Erased records are never matched. Free new
    contact points are added to the customer found or created. Writes no event (creating
    a customer at intake is part of the case's own events).
    """
    email_n = normalise_email(email) if email else None
    phone_n = normalise_phone(phone) if phone else None
    name = name.strip()
    external_id = external_id.strip()
    customer: Customer | None = None
    if customer_id is not None:
        customer = live_customer(Customer.objects.filter(pk=customer_id).first())
    if customer is None and external_id:
        customer = live_customer(Customer.objects.filter(external_id=external_id).first())
    wanted = [
        (kind, value)
        for kind, value in ((ContactKind.EMAIL, email_n), (ContactKind.PHONE, phone_n))
        if value
    ]
    found: dict[str, ContactPoint] = {}
    if wanted:
        query = Q()
        for kind, value in wanted:
            query |= Q(kind=kind, value=value)
        found = {
            point.kind: point
            for point in ContactPoint.objects.select_related("customer").filter(query)
        }
    if customer is None and ContactKind.EMAIL in found:
        customer = live_customer(found[ContactKind.EMAIL].customer)
    created = customer is None
    if customer is None:
        external_free = bool(external_id) and not (
            Customer.objects.filter(external_id=external_id).exists()
        )
        customer = Customer.objects.create(
            name=name, external_id=external_id if external_free else None
        )
    else:
        changed = []
        if name and not customer.name:
            customer.name = name
            changed.append("name")
        if (
            external_id
            and not customer.external_id
            and not Customer.objects.filter(external_id=external_id).exists()
        ):
            customer.external_id = external_id
            changed.append("external_id")
        if changed:
            customer.save(update_fields=[*changed, "updated_at"])
    duplicates: list[PossibleDuplicate] = []
    for kind, value in wanted:
        point = found.get(kind)
        if point is None:
            _insert_contact_point(customer, kind=kind, value=value)
            continue
        holder = live_customer(point.customer)
        if holder is not None and holder.pk != customer.pk:
            reason = "same_email" if kind == ContactKind.EMAIL else "same_phone"
            pair = record_possible_duplicate(customer, holder, reason=reason)
            if pair is not None:
                duplicates.append(pair)
    return CustomerMatch(
        customer=customer,
        created=created,
        reply_to=email_n or "",
        possible_duplicates=tuple(duplicates),
    )


@transaction.atomic(savepoint=False)
def match_customers(people: list[tuple[str, str, str]]) -> list[CustomerMatch]:
    """``match_customer`` for a batch of contacts known by (name, email, phone) only (the
    intake applier): the same rules, rows and possible duplicates, in the order given, with
    one query to find them all and one INSERT per table.

    Contacts of the batch see each other as if matched one after another: a second contact
    from a new address joins the customer the first one created.
    """
    wanted_by_contact = []
    for _, email, phone in people:
        wanted = [
            (kind, value)
            for kind, value in (
                (ContactKind.EMAIL, normalise_email(email) if email else None),
                (ContactKind.PHONE, normalise_phone(phone) if phone else None),
            )
            if value
        ]
        wanted_by_contact.append(wanted)
    points = _points_with_customers(
        sorted({pair for wanted in wanted_by_contact for pair in wanted})
    )
    new_customers: list[Customer] = []
    new_points: list[ContactPoint] = []
    renamed: dict[int, Customer] = {}
    pairs: list[tuple[int, Customer, Customer, str]] = []
    chosen: list[tuple[Customer, bool, str]] = []
    for number, ((name, _, _), wanted) in enumerate(zip(people, wanted_by_contact, strict=True)):
        name = name.strip()
        email_n = next((value for kind, value in wanted if kind == ContactKind.EMAIL), "")
        customer = None
        if email_n and (ContactKind.EMAIL, email_n) in points:
            customer = live_customer(points[(ContactKind.EMAIL, email_n)].customer)
        created = customer is None
        if customer is None:
            customer = _NEW_CUSTOMER(name=name, external_id=None)
            new_customers.append(customer)
        elif name and not customer.name:
            customer.name = name
            if customer.pk is not None:
                renamed[customer.pk] = customer
        for kind, value in wanted:
            point = points.get((kind, value))
            if point is None:
                points[(kind, value)] = _NEW_POINT(customer=customer, kind=kind, value=value)
                new_points.append(points[(kind, value)])
                continue
            holder = live_customer(point.customer)
            if holder is not None and holder is not customer and not _same_row(holder, customer):
                reason = "same_email" if kind == ContactKind.EMAIL else "same_phone"
                pairs.append((number, customer, holder, reason))
        chosen.append((customer, created, email_n))
    # Plain multi-row INSERTs (core.rows): bulk_create's statement building cost more CPU
    # than the statements. They apply no auto_now: the times are set here.
    at = now()
    for customer in new_customers:
        customer.created_at = customer.updated_at = at
    _CUSTOMER_ROWS.add(new_customers)
    for customer in renamed.values():
        customer.save(update_fields=["name", "updated_at"])
    for point in new_points:
        point.customer = point.customer  # its customer_id, now that the customer has one
        point.created_at = at
    _POINT_ROWS.add(new_points)
    duplicates: dict[int, list[PossibleDuplicate]] = {}
    for number, customer, holder, reason in pairs:
        pair = record_possible_duplicate(customer, holder, reason=reason)
        if pair is not None:
            duplicates.setdefault(number, []).append(pair)
    return [
        CustomerMatch(
            customer=customer,
            created=created,
            reply_to=email_n,
            possible_duplicates=tuple(duplicates.get(number, ())),
        )
        for number, (customer, created, email_n) in enumerate(chosen)
    ]


_CUSTOMER_ROWS = RowInsert(Customer)
_POINT_ROWS = RowInsert(ContactPoint)
_NEW_CUSTOMER = Maker(Customer)
_NEW_POINT = Maker(ContactPoint)


def _points_with_customers(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], ContactPoint]:
    """The contact points with these (kind, value), each with its customer loaded.

    One plain statement (core.rows.RowSelect): the ORM's building of an OR of pairs, and then
    of a ``select_related`` read, cost more CPU than a batch's INSERTs (2.4 ms of a batch of
    one, a third of the intake applier's work for an API complaint, measured 2026-12-02).
    """
    if not pairs:
        return {}
    table = connection.ops.quote_name(ContactPoint._meta.db_table)
    where = " OR ".join([f"({table}.kind = %s AND {table}.value = %s)"] * len(pairs))
    found = _POINTS_WITH_CUSTOMERS.fetch([part for pair in pairs for part in pair], where=where)
    return {(point.kind, point.value): point for point in found}


_POINTS_WITH_CUSTOMERS = RowSelect(ContactPoint, "", related=["customer"])


def _same_row(one: Customer, other: Customer) -> bool:
    return one.pk is not None and one.pk == other.pk


def find_or_create_customer(
    *,
    name: str = "",
    email: str = "",
    phone: str = "",
    external_id: str = "",
) -> tuple[Customer, bool]:
    """(customer, created) by match_customer's rules, for callers that need no more."""
    match = match_customer(name=name, email=email, phone=phone, external_id=external_id)
    return match.customer, match.created


# A pair intake noticed ranks above what the scan finds alone (outreach.identity's weights).
INTAKE_SCORE = 3.0


def record_possible_duplicate(
    customer: Customer, other: Customer, *, reason: str
) -> PossibleDuplicate | None:
    """Offer two records to staff as maybe one person; None when a person already decided.

    One row per pair (lower id first); a new reason is added to an open pair. A pair staff
    dismissed or merged is not offered again.
    """
    first, second = sorted((customer.pk, other.pk))
    if first == second:
        return None
    pair = PossibleDuplicate.objects.filter(first_id=first, second_id=second).first()
    if pair is None:
        try:
            with transaction.atomic():
                return PossibleDuplicate.objects.create(
                    first_id=first,
                    second_id=second,
                    reasons=[reason],
                    score=INTAKE_SCORE,
                    created_at=now(),
                )
        except IntegrityError:  # a concurrent contact recorded the same pair
            pair = PossibleDuplicate.objects.get(first_id=first, second_id=second)
    if pair.status != DuplicateStatus.OPEN:
        return None
    if reason not in pair.reasons:
        pair.reasons = [*pair.reasons, reason]
        pair.score += INTAKE_SCORE
        pair.save(update_fields=["reasons", "score"])
    return pair


@transaction.atomic
def dismiss_possible_duplicate(pair: PossibleDuplicate, *, by: Staff | None) -> PossibleDuplicate:
    """Staff say two records are different people: the pair is not offered again.

    Refuses a pair already decided (CustomerError 'duplicate_decided'). Writes
    customer.duplicate_dismissed on both records.
    """
    pair = PossibleDuplicate.objects.select_for_update().get(pk=pair.pk)
    if pair.status != DuplicateStatus.OPEN:
        raise CustomerError(
            gettext("Someone already decided about this pair."), code="duplicate_decided"
        )
    pair.status = DuplicateStatus.DISMISSED
    pair.decided_at = now()
    pair.decided_by = by
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    for who, other_id in ((pair.first, pair.second_id), (pair.second, pair.first_id)):
        record_customer_event(who, "customer.duplicate_dismissed", by=by, other_id=other_id)
    return pair


def dismiss_customer_pair(
    customer: Customer, other: Customer, *, by: Staff | None
) -> PossibleDuplicate:
    """Dismiss a pair the duplicate finder suggested, recording it so it stays dismissed."""
    first, second = sorted((customer.pk, other.pk))
    if first == second:
        raise CustomerError(gettext("Choose two different customers."), code="duplicate_decided")
    pair, _ = PossibleDuplicate.objects.get_or_create(
        first_id=first, second_id=second, defaults={"reasons": [], "created_at": now()}
    )
    return dismiss_possible_duplicate(pair, by=by)


def add_contact_point(customer: Customer, *, kind: str, value: str) -> ContactPoint | None:
    """Attach a normalised contact point unless it already belongs to someone."""
    refuse_erased(customer)
    existing = ContactPoint.objects.filter(kind=kind, value=value).first()
    if existing:
        return existing if existing.customer_id == customer.pk else None
    return _insert_contact_point(customer, kind=kind, value=value)


def _insert_contact_point(customer: Customer, *, kind: str, value: str) -> ContactPoint | None:
    """Insert a contact point known a moment ago to be free; a racing insert wins."""
    try:
        with transaction.atomic():
            return ContactPoint.objects.create(customer=customer, kind=kind, value=value)
    except IntegrityError:  # another request added it between our check and insert
        return ContactPoint.objects.filter(kind=kind, value=value).first()


def record_customer_event(
    customer: Customer, type_: str, *, by: Staff | None, **data: Any
) -> CustomerEvent:
    """Append one customer-level event. Called only from actions (here and in higher apps)."""
    return CustomerEvent.objects.create(
        customer=customer, type=type_, actor=by, data=data, created_at=now()
    )


class LanguageSource:
    """How we learned a customer's language, weakest first (see remember_language)."""

    BROWSER = "browser"  # their browser's Accept-Language on one of our pages
    MESSAGE = "message"  # the language their message is written in
    CHOSEN = "chosen"  # they picked it, or staff set it ("" with a language set: staff/API)


_LANGUAGE_RANK = {"": 3, LanguageSource.BROWSER: 1, LanguageSource.MESSAGE: 2, "chosen": 3}


@transaction.atomic
def remember_language(customer: Customer, language: str, *, source: str) -> bool:
    """Remember the language to write to ``customer`` in; True when it changed.

    A stronger source is never overridden by a weaker one: an explicit choice (or a language
    staff set) stays until the customer chooses again; the language of their messages
    outranks their browser's. Codes we do not speak and erased customers are ignored.
    Writes customer.language_changed.
    """
    code = supported(language)
    if not code or customer.erased_at is not None:
        return False
    current = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if current is None:
        return False
    held = _LANGUAGE_RANK.get(current.language_source, 0) if current.language else 0
    if _LANGUAGE_RANK[source] < held or (
        current.language == code and current.language_source == source
    ):
        return False
    Customer.objects.filter(pk=customer.pk).update(language=code, language_source=source)
    customer.language, customer.language_source = code, source
    if current.language != code:
        record_customer_event(
            customer,
            "customer.language_changed",
            by=None,
            old=current.language,
            new=code,
            source=source,
        )
        return True
    return False


PROFILE_FIELDS = (
    "name",
    "language",
    "preferred_channel",
    "time_zone",
    "notes",
    "customer_since",
    "opted_out",
    "contact_hours_start",
    "contact_hours_end",
)


@transaction.atomic
def update_customer(customer: Customer, *, by: Staff | None, **changes: Any) -> Customer:
    """Change profile fields (preferences, notes, tenure, opt-out).

    Refuses unknown fields (CustomerError 'unknown_field'). Status changes go through
    change_customer_status so leaving always records a reason. Writes customer.updated with
    the names of the changed fields (not their values: the log must not copy personal data).
    """
    refuse_erased(customer)
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise CustomerError(
            gettext("Unknown customer fields: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))},
            code="unknown_field",
        )
    changed = [name for name, value in changes.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, changes[name])
    customer.save(update_fields=[*changed, "updated_at"])
    record_customer_event(customer, "customer.updated", by=by, fields=sorted(changed))
    return customer


@transaction.atomic
def change_customer_status(
    customer: Customer,
    *,
    status: str,
    by: Staff | None,
    reason: str = "",
    note: str = "",
    source: str = "staff",
) -> Customer:
    """Move the relationship to prospect, active, lapsed or left.

    Leaving needs a reason from the research list (CustomerError 'leave_reason_required'):
    that is how the organisation learns whether people leave because nobody cared.
    Writes customer.status_changed (and customer.left with the reason).
    """
    refuse_erased(customer)
    if status not in RelationshipStatus.values:
        raise CustomerError(
            gettext("Choose a valid relationship status."), code="invalid_status", field="status"
        )
    if status == RelationshipStatus.LEFT and reason not in LeaveReasonKind.values:
        raise CustomerError(
            gettext("Say why the customer left: choose one of the reasons."),
            code="leave_reason_required",
            field="reason",
        )
    old = customer.status
    if old == status and status != RelationshipStatus.LEFT:
        return customer
    customer.status = status
    customer.save(update_fields=["status", "updated_at"])
    record_customer_event(customer, "customer.status_changed", by=by, old=old, new=status)
    if status == RelationshipStatus.LEFT:
        LeaveReason.objects.create(
            customer=customer,
            reason=reason,
            note=note.strip(),
            source=source,
            recorded_by=by,
            recorded_at=now(),
        )
        record_customer_event(customer, "customer.left", by=by, reason=reason, source=source)
    return customer


@transaction.atomic
def add_important_date(
    customer: Customer,
    *,
    kind: str,
    date: dt.date,
    note: str = "",
    recurring: bool = True,
    by: Staff | None,
) -> ImportantDate:
    """Remember a date that matters to the customer (birthday, "moving house in June").

    Writes customer.date_added.
    """
    refuse_erased(customer)
    if kind not in DateKind.values:
        raise CustomerError(
            gettext("Choose a kind of date."), code="invalid_date_kind", field="kind"
        )
    item = ImportantDate.objects.create(
        customer=customer,
        kind=kind,
        date=date,
        note=note.strip()[:200],
        recurring=recurring,
        created_by=by,
    )
    record_customer_event(customer, "customer.date_added", by=by, date_id=item.pk, kind=kind)
    return item


@transaction.atomic
def remove_important_date(item: ImportantDate, *, by: Staff | None) -> None:
    """Forget an important date. Writes customer.date_removed."""
    record_customer_event(item.customer, "customer.date_removed", by=by, kind=item.kind)
    item.delete()


@dataclass
class TransactionRow:
    """One validated transaction, ready to store; customer already resolved to an id."""

    customer_id: int
    external_id: str
    kind: str
    occurred_at: dt.datetime
    amount: Decimal = Decimal("0")
    currency: str = ""
    status: str = ""
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


UPSERT_COLUMNS = (
    "customer_id",
    "external_id",
    "kind",
    "status",
    "amount",
    "currency",
    "occurred_at",
    "description",
    "metadata",
    "created_at",
    "updated_at",
)


def upsert_transactions(rows: Iterable[TransactionRow]) -> int:
    """Insert or update transactions by external id, in batches of 1000.

    Re-importing the same file changes nothing but updated_at: idempotent by external id.
    Within one batch the last row for an external id wins (PostgreSQL refuses to update the
    same row twice in one statement). One INSERT … ON CONFLICT (external_id) DO UPDATE per
    batch — the same SQL on SQLite and PostgreSQL; written as executemany rather than
    bulk_create(update_conflicts=True) because building a model instance per row made a
    100k-row import three times slower. Returns the number of rows written. Writes no
    event per row.
    """
    written = 0
    batch: dict[str, tuple[Any, ...]] = {}
    ops = connection.ops
    metadata_field = Transaction._meta.get_field("metadata")
    stamp = ops.adapt_datetimefield_value(now())
    fallback_currency = default_currency()
    no_metadata = metadata_field.get_db_prep_save({}, connection)
    for row in rows:
        batch[row.external_id] = (
            row.customer_id,
            row.external_id,
            row.kind,
            row.status,
            ops.adapt_decimalfield_value(row.amount, 14, 2),
            row.currency or fallback_currency,
            ops.adapt_datetimefield_value(row.occurred_at),
            row.description[:300],
            metadata_field.get_db_prep_save(row.metadata, connection)
            if row.metadata
            else no_metadata,
            stamp,
            stamp,
        )
        if len(batch) >= UPSERT_BATCH:
            written += _flush_transactions(list(batch.values()))
            batch.clear()
    if batch:
        written += _flush_transactions(list(batch.values()))
    return written


def _flush_transactions(params: Sequence[tuple[Any, ...]]) -> int:
    table = connection.ops.quote_name(Transaction._meta.db_table)
    columns = ", ".join(UPSERT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(UPSERT_COLUMNS))
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}" for c in UPSERT_COLUMNS if c not in ("external_id", "created_at")
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT (external_id) DO UPDATE SET {updates}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


# ---------------------------------------------------------------------------------------
# Writes for the REST API (customers/api.py). Added by the "api" helper; appended here so
# they sit beside the other customer actions.


class CustomerExists(CustomerError):
    """An email, phone or external id given for a customer already belongs to another one."""

    code = "customer_exists"
    status = 409

    def __init__(self, message: str, *, existing: Customer, field: str | None = None) -> None:
        super().__init__(message, field=field)
        while existing.merged_into_id is not None and existing.merged_into is not None:
            existing = existing.merged_into
        self.existing = existing
        self.extra = {"customer_id": str(existing.pk)}


def _holder_of(
    *,
    external_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    other_than: Customer | None = None,
) -> CustomerExists | None:
    """The refusal to raise when one of these identifiers belongs to someone else."""
    customers = Customer.objects.all()
    points = ContactPoint.objects.select_related("customer")
    if other_than is not None:
        customers = customers.exclude(pk=other_than.pk)
        points = points.exclude(customer_id=other_than.pk)
    if external_id:
        holder = customers.filter(external_id=external_id).first()
        if holder is not None:
            return CustomerExists(
                "This external_id already belongs to another customer.",
                existing=holder,
                field="external_id",
            )
    for kind, value, label in (
        (ContactKind.EMAIL, email, "email"),
        (ContactKind.PHONE, phone, "phone"),
    ):
        if value:
            point = points.filter(kind=kind, value=value).first()
            if point is not None:
                return CustomerExists(
                    f"This {label} already belongs to another customer.",
                    existing=point.customer,
                    field=label,
                )
    return None


def _normalised_or_refuse(kind: str, raw: str, field_name: str) -> str:
    value = normalise_email(raw) if kind == ContactKind.EMAIL else normalise_phone(raw)
    if value is None:
        what = "email address" if kind == ContactKind.EMAIL else "phone number"
        raise CustomerError(
            gettext("“%(value)s” is not a valid %(what)s.") % {"value": raw, "what": what},
            code=f"invalid_{kind}",
            field=field_name,
        )
    return value


@transaction.atomic
def create_customer(
    *,
    name: str = "",
    email: str = "",
    phone: str = "",
    external_id: str = "",
    status: str = RelationshipStatus.ACTIVE,
    language: str = "",
    by: Staff | None = None,
) -> Customer:
    """Create a customer from what an integration knows about them.

    Refuses (CustomerExists, 409 'customer_exists', with the existing customer) when the
    external id, email or phone already belongs to someone: use find_or_create_customer to
    match instead. Writes customer.created.
    """
    email_n = _normalised_or_refuse(ContactKind.EMAIL, email, "email") if email else None
    phone_n = _normalised_or_refuse(ContactKind.PHONE, phone, "phone") if phone else None
    external_id = external_id.strip()
    if status not in RelationshipStatus.values or status == RelationshipStatus.LEFT:
        raise CustomerError(
            gettext("Choose prospect, active or lapsed."), code="invalid_status", field="status"
        )
    conflict = _holder_of(external_id=external_id, email=email_n, phone=phone_n)
    if conflict is not None:
        raise conflict
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                name=name.strip(),
                external_id=external_id or None,
                status=status,
                language=language.strip(),
            )
            for kind, value in ((ContactKind.EMAIL, email_n), (ContactKind.PHONE, phone_n)):
                if value:
                    ContactPoint.objects.create(customer=customer, kind=kind, value=value)
    except IntegrityError:  # a concurrent request took one of them between check and insert
        conflict = _holder_of(external_id=external_id, email=email_n, phone=phone_n)
        if conflict is not None:
            raise conflict from None
        raise
    record_customer_event(customer, "customer.created", by=by, source="api")
    return customer


@transaction.atomic
def change_customer_identity(
    customer: Customer,
    *,
    external_id: str | None = None,
    add_emails: Iterable[str] = (),
    add_phones: Iterable[str] = (),
    by: Staff | None = None,
) -> Customer:
    """Set the customer's external id and add emails and phones (never removes any).

    Refuses (CustomerExists, 409 'customer_exists') when one of them belongs to another
    customer; nothing is changed then. Writes customer.updated with the changed field names.
    """
    refuse_erased(customer)
    emails = [_normalised_or_refuse(ContactKind.EMAIL, v, "add_emails") for v in add_emails]
    phones = [_normalised_or_refuse(ContactKind.PHONE, v, "add_phones") for v in add_phones]
    external_id = external_id.strip() if external_id is not None else None
    new_external = external_id if external_id and external_id != customer.external_id else None
    checks: list[CustomerExists | None] = [
        _holder_of(external_id=new_external, other_than=customer)
    ]
    checks += [_holder_of(email=value, other_than=customer) for value in emails]
    checks += [_holder_of(phone=value, other_than=customer) for value in phones]
    for conflict in checks:
        if conflict is not None:
            if conflict.field == "email":
                conflict.field = "add_emails"
            elif conflict.field == "phone":
                conflict.field = "add_phones"
            raise conflict
    changed: list[str] = []
    try:
        with transaction.atomic():
            if new_external:
                customer.external_id = new_external
                customer.save(update_fields=["external_id", "updated_at"])
                changed.append("external_id")
            for kind, values, label in (
                (ContactKind.EMAIL, emails, "emails"),
                (ContactKind.PHONE, phones, "phones"),
            ):
                for value in dict.fromkeys(values):
                    _, created = ContactPoint.objects.get_or_create(
                        kind=kind, value=value, defaults={"customer": customer}
                    )
                    if created and label not in changed:
                        changed.append(label)
    except IntegrityError:  # a concurrent request took one of them
        conflict = next(
            (
                c
                for c in [
                    _holder_of(external_id=new_external, other_than=customer),
                    *[_holder_of(email=v, other_than=customer) for v in emails],
                    *[_holder_of(phone=v, other_than=customer) for v in phones],
                ]
                if c is not None
            ),
            None,
        )
        if conflict is not None:
            raise conflict from None
        raise
    if changed:
        record_customer_event(customer, "customer.updated", by=by, fields=changed)
    return customer
