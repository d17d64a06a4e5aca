"""Desk search that stays fast at a million cases.

What the agent typed decides the path, cheapest first:

- a case reference (``CH-7K2QX9``, ``7k2qx9``)  → the unique index on ``Case.reference``;
- an email address or a phone number           → the unique ``ContactPoint`` value → that
                                                  customer's cases (``case_customer`` index);
- anything else: words                           → full-text indexes over customer names
                                                  (prefix on the last word, for typing) and
                                                  message bodies, each read with a LIMIT.

Full-text indexes
-----------------
SQLite: two FTS5 tables with *external content* (``cases_message_fts`` over
``cases_message.body_text``, ``customers_customer_fts`` over ``customers_customer.name``),
kept in step by SQL triggers on insert, update and delete. Triggers rather than a call in
every action: an erasure that anonymises a message or a name, a bulk import, or a data
migration cannot leave words behind in the index.
PostgreSQL: GIN expression indexes on ``to_tsvector(...)``; PostgreSQL keeps them in step.

``ensure_search_schema()`` creates whatever is missing (``IF NOT EXISTS``) and, on SQLite,
rebuilds the FTS tables from their content tables. It runs lazily before the first search
of a process; deployments should run it once after migrating (it can take a minute on a
large SQLite database), e.g. from a migration or ``cherish shell -c``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q

from cherish.cases.models import Case, Message
from cherish.core.references import normalise_reference
from cherish.customers.models import ContactKind, ContactPoint, Customer
from cherish.customers.normalise import normalise_email, normalise_phone

MAX_TERMS = 8
MAX_MESSAGE_HITS = 500
MAX_CUSTOMER_HITS = 200
MAX_CONTACT_CUSTOMERS = 20

_WORD = re.compile(r"\w+", re.UNICODE)
_PHONE_SHAPE = re.compile(r"^\+?[\d\s().\-/]{6,24}$")

SQLITE_SCHEMA: dict[str, str] = {
    "cases_message_fts": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS cases_message_fts USING fts5("
        "body_text, content='cases_message', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    ),
    "cases_message_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS cases_message_fts_ai AFTER INSERT ON cases_message BEGIN "
        "INSERT INTO cases_message_fts(rowid, body_text) VALUES (new.id, new.body_text); END"
    ),
    "cases_message_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS cases_message_fts_ad AFTER DELETE ON cases_message BEGIN "
        "INSERT INTO cases_message_fts(cases_message_fts, rowid, body_text) "
        "VALUES ('delete', old.id, old.body_text); END"
    ),
    "cases_message_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS cases_message_fts_au AFTER UPDATE OF body_text "
        "ON cases_message BEGIN "
        "INSERT INTO cases_message_fts(cases_message_fts, rowid, body_text) "
        "VALUES ('delete', old.id, old.body_text); "
        "INSERT INTO cases_message_fts(rowid, body_text) VALUES (new.id, new.body_text); END"
    ),
    "customers_customer_fts": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS customers_customer_fts USING fts5("
        "name, content='customers_customer', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
    ),
    "customers_customer_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS customers_customer_fts_ai AFTER INSERT "
        "ON customers_customer BEGIN "
        "INSERT INTO customers_customer_fts(rowid, name) VALUES (new.id, new.name); END"
    ),
    "customers_customer_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS customers_customer_fts_ad AFTER DELETE "
        "ON customers_customer BEGIN "
        "INSERT INTO customers_customer_fts(customers_customer_fts, rowid, name) "
        "VALUES ('delete', old.id, old.name); END"
    ),
    "customers_customer_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS customers_customer_fts_au AFTER UPDATE OF name "
        "ON customers_customer BEGIN "
        "INSERT INTO customers_customer_fts(customers_customer_fts, rowid, name) "
        "VALUES ('delete', old.id, old.name); "
        "INSERT INTO customers_customer_fts(rowid, name) VALUES (new.id, new.name); END"
    ),
}
SQLITE_REBUILD = [
    "INSERT INTO cases_message_fts(cases_message_fts) VALUES ('rebuild')",
    "INSERT INTO customers_customer_fts(customers_customer_fts) VALUES ('rebuild')",
]

# The query must repeat these expressions exactly for PostgreSQL to use the indexes.
PG_MESSAGE_VECTOR = "to_tsvector('english'::regconfig, body_text)"
PG_NAME_VECTOR = "to_tsvector('simple'::regconfig, name)"
POSTGRES_SCHEMA: dict[str, str] = {
    "cases_message_body_fts": (
        "CREATE INDEX IF NOT EXISTS cases_message_body_fts ON cases_message "
        f"USING gin ({PG_MESSAGE_VECTOR})"
    ),
    "customers_customer_name_fts": (
        "CREATE INDEX IF NOT EXISTS customers_customer_name_fts ON customers_customer "
        f"USING gin ({PG_NAME_VECTOR})"
    ),
}

_ready: set[str] = set()


def ensure_search_schema(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Create the full-text tables, triggers or indexes that are missing. True if it did.

    Idempotent and cheap when everything exists (one catalogue read).
    """
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            names = tuple(SQLITE_SCHEMA)
            cursor.execute(
                f"SELECT name FROM sqlite_master WHERE name IN ({','.join('%s' for _ in names)})",
                names,
            )
            present = {row[0] for row in cursor.fetchall()}
        if present == set(names):
            _ready.add(using)
            return False
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for statement in SQLITE_SCHEMA.values():
                cursor.execute(statement)
            # A missing trigger means rows may have changed unseen: rebuild from the content.
            for statement in SQLITE_REBUILD:
                cursor.execute(statement)
        _ready.add(using)
        return True
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                "WHERE c.relname = ANY(%s) AND i.indisvalid",
                [list(POSTGRES_SCHEMA)],
            )
            row = cursor.fetchone()
            if row is not None and row[0] == len(POSTGRES_SCHEMA):
                _ready.add(using)
                return False
            if connection.in_atomic_block:
                # Not inside someone's transaction (pending deferred FK checks refuse it, and
                # it would hold a lock until their commit). Searching works without the
                # index, only slower; the next search outside a transaction builds it.
                return False
            for name, statement in POSTGRES_SCHEMA.items():
                # A failed concurrent build leaves an invalid index that IF NOT EXISTS
                # would keep skipping: drop it first.
                if _pg_invalid(cursor, name):
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                cursor.execute(statement.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY"))
        _ready.add(using)
        return True
    _ready.add(using)
    return False


def _pg_invalid(cursor: CursorWrapper, name: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND NOT i.indisvalid",
        [name],
    )
    return cursor.fetchone() is not None


@dataclass(frozen=True)
class ParsedQuery:
    kind: str  # "empty", "reference", "email", "phone" or "words"
    value: str
    terms: tuple[str, ...]


def parse_query(raw: str) -> ParsedQuery:
    text = " ".join(raw.split())[:200]
    terms = tuple(word.lower() for word in _WORD.findall(text))[:MAX_TERMS]
    if not text:
        return ParsedQuery("empty", "", ())
    reference = normalise_reference(text)
    if reference:
        return ParsedQuery("reference", reference, terms)
    if "@" in text:
        email = normalise_email(text)
        if email:
            return ParsedQuery("email", email, terms)
    if _PHONE_SHAPE.match(text):
        phone = normalise_phone(text)
        if phone:
            return ParsedQuery("phone", phone, terms)
    return ParsedQuery("words", text, terms)


def _sqlite_match(terms: tuple[str, ...], *, prefix_last: bool) -> str:
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    if prefix_last and len(terms[-1]) >= 2:
        quoted[-1] += "*"
    return " ".join(quoted)


def _pg_tsquery(terms: tuple[str, ...], *, prefix_last: bool) -> str:
    # Terms are \w+ only, so they cannot carry tsquery operators.
    parts = list(terms)
    if prefix_last and len(parts[-1]) >= 2:
        parts[-1] += ":*"
    return " & ".join(parts)


def _run(using: str, sql: str, params: Sequence[Any]) -> list[int]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _word_hits(terms: tuple[str, ...], using: str) -> tuple[list[int], list[int]]:
    """(customer ids whose name matches, case ids with a message that matches)."""
    vendor = connections[using].vendor
    if vendor == "sqlite":
        customers = _run(
            using,
            "SELECT rowid FROM customers_customer_fts WHERE customers_customer_fts MATCH %s "
            "ORDER BY rowid DESC LIMIT %s",
            [_sqlite_match(terms, prefix_last=True), MAX_CUSTOMER_HITS],
        )
        cases = _run(
            using,
            "SELECT DISTINCT case_id FROM cases_message WHERE id IN ("
            " SELECT rowid FROM cases_message_fts WHERE cases_message_fts MATCH %s"
            " ORDER BY rowid DESC LIMIT %s)",
            [_sqlite_match(terms, prefix_last=False), MAX_MESSAGE_HITS],
        )
        return customers, cases
    if vendor == "postgresql":
        customers = _run(
            using,
            f"SELECT id FROM customers_customer WHERE {PG_NAME_VECTOR} @@ "
            "to_tsquery('simple'::regconfig, %s) LIMIT %s",
            [_pg_tsquery(terms, prefix_last=True), MAX_CUSTOMER_HITS],
        )
        cases = _run(
            using,
            "SELECT DISTINCT case_id FROM (SELECT case_id FROM cases_message "
            f"WHERE {PG_MESSAGE_VECTOR} @@ plainto_tsquery('english'::regconfig, %s) "
            "ORDER BY id DESC LIMIT %s) AS hits",
            [" ".join(terms), MAX_MESSAGE_HITS],
        )
        return customers, cases
    # Other databases: a bounded substring scan, correct but not fast.

    phrase = " ".join(terms)
    customers = list(
        Customer.objects.filter(name__icontains=phrase).values_list("id", flat=True)[
            :MAX_CUSTOMER_HITS
        ]
    )
    cases = list(
        Message.objects.filter(body_text__icontains=phrase)
        .order_by("-id")
        .values_list("case_id", flat=True)[:MAX_MESSAGE_HITS]
    )
    return customers, cases


def word_hits(terms: tuple[str, ...], using: str = DEFAULT_DB_ALIAS) -> tuple[list[int], list[int]]:
    if not terms:
        return [], []
    if using not in _ready:
        ensure_search_schema(using)
    try:
        return _word_hits(terms, using)
    except OperationalError:
        # The FTS tables went away (a test rolled them back, a migration rebuilt the table):
        # recreate them once and ask again.
        if connections[using].vendor != "sqlite":
            raise
        _ready.discard(using)
        ensure_search_schema(using)
        return _word_hits(terms, using)


def case_filter(raw: str, using: str = DEFAULT_DB_ALIAS) -> Q | None:
    """A filter for the cases matching what was typed; None when nothing was typed.

    Every path reads a bounded number of rows through an index, so the inbox query that
    applies this filter stays bounded too.
    """
    parsed = parse_query(raw)
    if parsed.kind == "empty":
        return None
    # Six letters can be an ordinary word ("DAMAGE"): without such a case, search the words.
    if (
        parsed.kind == "reference"
        and Case.objects.using(using).filter(reference=parsed.value).exists()
    ):
        return Q(reference=parsed.value)
    if parsed.kind in ("email", "phone"):
        kind = ContactKind.EMAIL if parsed.kind == "email" else ContactKind.PHONE
        customer_ids = list(
            ContactPoint.objects.using(using)
            .filter(kind=kind, value=parsed.value)
            .values_list("customer_id", flat=True)[:MAX_CONTACT_CUSTOMERS]
        )
        if customer_ids:
            return Q(customer_id__in=customer_ids)
    customer_ids, case_ids = word_hits(parsed.terms, using)
    if not customer_ids and not case_ids:
        return Q(pk__in=[])
    return Q(customer_id__in=customer_ids) | Q(pk__in=case_ids)
