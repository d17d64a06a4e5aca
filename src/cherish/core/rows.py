"""Multi-row INSERTs in plain SQL, for the few paths where the ORM's statement building costs
more CPU than the statement (the intake applier: a batch of complaints).

``RowInsert(Model, ["field", ...])`` inserts rows given as tuples of Python values, in the
order of the fields named, with one ``INSERT ... VALUES (...), (...)`` per chunk of rows, on
SQLite and PostgreSQL alike. Each value is prepared for the database as the ORM prepares it
(``Field.get_db_prep_save``: datetimes, JSON, UUIDs), except the plain ones (text, numbers,
booleans, foreign keys to integer keys) that need nothing. With ``returning=True`` it returns
the new rows' primary keys in the order given (``RETURNING``, as ``bulk_create`` reads them).

Nothing here runs model code: no ``save()``, no signals, no ``auto_now``, no field defaults.
The caller gives every column a value, as the rows the ORM would write have.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import models, transaction
from django.db.models import signals
from django.db.models.base import ModelState

M = TypeVar("M", bound=models.Model)

# SQLite's historical default for the number of "?" in one statement (Django keeps to it too).
MAX_PARAMS = 999

_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField)


def _is_plain(field: models.Field[Any, Any]) -> bool:
    if isinstance(field, models.ForeignKey):
        return isinstance(field.target_field, models.AutoField | models.BigAutoField)
    return isinstance(field, _PLAIN) and not isinstance(
        field, models.AutoField | models.BigAutoField
    )


class JsonText(str):
    """A JSON column's value given as its JSON text, written as it is (not encoded again)."""


class RowInsert:
    """A prepared multi-row INSERT of ``fields`` (attribute names) into ``model``'s table;
    without ``fields``: every column but an auto-incremented primary key and generated ones."""

    def __init__(
        self,
        model: type[models.Model],
        fields: Sequence[str] | None = None,
        *,
        returning: bool | None = None,
    ) -> None:
        self.model = model
        pk = model._meta.pk
        auto = isinstance(pk, models.AutoField | models.BigAutoField)
        self.fields: list[models.Field[Any, Any]] = []
        if fields is None:
            # A generated column is the database's to write (it refuses a value).
            self.fields = [
                f for f in model._meta.concrete_fields if not (auto and f is pk) and not f.generated
            ]
        else:
            for name in fields:
                field = model._meta.get_field(name)
                assert isinstance(field, models.Field), name  # a column, not a relation
                self.fields.append(field)
        self.attnames = [str(field.attname) for field in self.fields]
        # By default the new keys are read back when the database draws them.
        self.returning = auto if returning is None else returning
        # Per database vendor: (the start of the statement, one row's placeholders, the
        # preparers by position, the statements by number of rows).
        self._prepared: dict[str, tuple[str, str, list[tuple[int, Any]], dict[int, str]]] = {}

    def _prepare(self, connection: Any) -> tuple[str, str, list[tuple[int, Any]], dict[int, str]]:
        found = self._prepared.get(connection.vendor)
        if found is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(str(field.column)) for field in self.fields)
            head = f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES "
            row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
            preparers = [
                (position, field)
                for position, field in enumerate(self.fields)
                if not _is_plain(field)
            ]
            found = self._prepared[connection.vendor] = (head, row, preparers, {})
        return found

    def run(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert ``rows`` in the caller's transaction; the new primary keys with
        ``returning``, else an empty list."""
        if not rows:
            return []
        connection = transaction.get_connection()
        head, row, preparers, statements = self._prepare(connection)
        prepare: list[tuple[int, Callable[[Any], Any]]] = [
            (position, _preparer(field, connection)) for position, field in preparers
        ]
        per_chunk = max(1, MAX_PARAMS // len(self.fields))
        keys: list[Any] = []
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            sql = statements.get(len(chunk))
            if sql is None:
                sql = head + ", ".join([row] * len(chunk))
                if self.returning:
                    sql += f" RETURNING {connection.ops.quote_name(self.model._meta.pk.column)}"
                statements[len(chunk)] = sql
            params: list[Any] = []
            for values in chunk:
                if prepare:
                    values = list(values)
                    for position, convert in prepare:
                        values[position] = convert(values[position])
                params.extend(values)
            found = execute(connection, sql, params)
            if self.returning:
                keys.extend(key[0] for key in found)
        return keys

    def add(self, objects: Sequence[models.Model]) -> None:
        """Insert model instances, as ``bulk_create`` does but without its statement
        building: each column's value is read from the instance (defaults included, as
        ``__init__`` set them; ``auto_now`` is not applied), and a key the database draws is
        set on it."""
        keys = self.run([[getattr(obj, name) for name in self.attnames] for obj in objects])
        pk = str(self.model._meta.pk.attname)
        alias = transaction.get_connection().alias
        for n, obj in enumerate(objects):
            if keys:
                setattr(obj, pk, keys[n])
            obj._state.adding = False
            obj._state.db = alias


def _preparer(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any]:
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        # The rows of one statement mostly share one time object (a batch's "now" in
        # created_at, updated_at, ...): adapt it once (a datetime is immutable). A preparer
        # lives for one ``run``, in one thread.
        last: list[Any] = [None, None]

        def prepare_time(value: Any) -> Any:
            if value is None:
                return None
            if value is not last[0]:
                last[:] = [value, adapt(value)]
            return last[1]

        return prepare_time

    if isinstance(field, models.JSONField) and connection.vendor == "sqlite":
        # What JSONField.get_db_prep_save writes on SQLite (None as SQL NULL, anything else
        # as json.dumps with the field's encoder), without its three calls deep of checks
        # for expressions: a batch of complaints writes about fifteen JSON values each.
        encoder = field.encoder

        def prepare_json(value: Any) -> Any:
            if isinstance(value, JsonText):
                return str(value)
            return None if value is None else json.dumps(value, cls=encoder)

        return prepare_json

    def prepare(value: Any) -> Any:
        if isinstance(value, JsonText):
            value = json.loads(value)
        return field.get_db_prep_save(value, connection)

    return prepare


class Maker(Generic[M]):
    """Unsaved model instances, as ``model(**values)`` makes them, for the rows a batch
    inserts with ``RowInsert.add``: ``Maker(Case)(reference=..., customer=customer, ...)``.

    ``Model.__init__`` is generic: for every field it looks the value up among the keyword
    arguments, asks the field for its default and sets the attribute through its descriptor,
    and a foreign key given as an instance goes through the relation's descriptor too. Seven
    instances a complaint cost the intake applier about a tenth of its CPU (issue #14); here
    each model's defaults are read once and an instance is its attribute dictionary filled in
    one go (a case: 17 against 59 µs). Values are taken as given, as ``__init__`` takes them;
    a relation given as an instance sets its ``_id`` and is cached on the new instance, as
    its descriptor does. A model with ``pre_init``/``post_init`` receivers or an ``__init__``
    of its own is made by ``__init__`` (they must run), and so is one given a name that is
    not one of its fields (``__init__`` says which)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        # The defaults no instance can change in place (None, text, numbers, ...) are
        # copied; the others (callables, lists and dictionaries) are made for each instance.
        self.fixed: dict[str, Any] = {}
        self.made: list[tuple[str, Callable[[], Any]]] = []
        # A relation's name: its column's attribute and the related model's attribute it holds.
        self.relations: dict[str, tuple[str, str]] = {}
        self.attnames: set[str] = set()
        other_relations = False
        for field in model._meta.concrete_fields:
            if field.generated:
                continue  # the database's to compute: unset until read back, as __init__ leaves it
            attname = str(field.attname)
            self.attnames.add(attname)
            if isinstance(field, models.ForeignKey):
                self.relations[field.name] = (attname, str(field.target_field.attname))
            elif field.is_relation:
                other_relations = True
            if field.has_default() and callable(field.default):
                self.made.append((attname, field.default))
                continue
            value = field.get_default()
            if isinstance(value, list | dict | set):
                self.made.append((attname, field.get_default))
            else:
                self.fixed[attname] = value
        # Made by __init__: a relation other than a foreign key, or a model with an __init__
        # of its own (none of the applier's have either).
        self.own_init = other_relations or model.__init__ is not models.Model.__init__
        self.names = frozenset(self.attnames | self.relations.keys())

    def __call__(self, **values: Any) -> M:
        model = self.model
        if (
            self.own_init
            or not values.keys() <= self.names
            or signals.pre_init.has_listeners(model)
            or signals.post_init.has_listeners(model)
        ):
            return model(**values)
        obj = model.__new__(model)
        state = obj._state = ModelState()
        attributes = obj.__dict__
        attributes.update(self.fixed)
        for attname, make in self.made:
            attributes[attname] = make()
        relations = self.relations
        for name, value in values.items():
            relation = relations.get(name)
            if relation is None:
                attributes[name] = value
            else:
                attributes[relation[0]] = None if value is None else getattr(value, relation[1])
                state.fields_cache[name] = value
        return obj


class RowSelect:
    """Model instances read with a plain SELECT of every column: ``RowSelect(Model,
    "key_hash = %s AND revoked_at IS NULL").fetch([digest])``.

    What ``Model.objects.raw`` gives, without its per-query work (matching the cursor's
    columns to fields, building converters): the statement and the converters (the ones the
    ORM applies: dates on SQLite, JSON, UUIDs) are prepared once per database vendor.

    ``related`` names relations read in the same statement, as ``select_related`` reads them
    (a LEFT JOIN each, every column; the instance comes cached on its relation, ``None`` where
    there is none): foreign keys of the model and reverse one-to-ones (``care`` for a case's
    ``CareState``). With ``related`` the model's own columns in ``where`` need its table name
    (``"cases_case"."reference" = %s``): the joined tables have columns of the same names.
    """

    def __init__(
        self, model: type[models.Model], where: str, *, related: Sequence[str] = ()
    ) -> None:
        self.model = model
        self.where = where
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [str(field.attname) for field in self.fields]
        # Each relation: its field (or reverse relation), the related model, whether it is a
        # reverse one-to-one, that model's attribute names and where its primary key is.
        self.related: list[tuple[Any, type[models.Model], bool, list[str], int]] = []
        for name in related:
            relation: Any = model._meta.get_field(name)
            if not isinstance(relation, models.ForeignKey | models.OneToOneRel):
                raise TypeError(f"{name}: neither a foreign key nor a reverse one-to-one")
            meta = relation.related_model._meta
            fields = list(meta.concrete_fields)
            self.related.append(
                (
                    relation,
                    relation.related_model,
                    isinstance(relation, models.OneToOneRel),
                    [str(field.attname) for field in fields],
                    fields.index(meta.pk),
                )
            )
        self._prepared: dict[str, tuple[str, list[tuple[int, list[Any], Any]]]] = {}

    def _prepare(self, connection: Any) -> tuple[str, list[tuple[int, list[Any], Any]]]:
        found = self._prepared.get(connection.vendor)
        if found is None:
            quote = connection.ops.quote_name
            table = quote(self.model._meta.db_table)
            # (alias, model) for the model and each related table, in the order of the columns.
            tables: list[tuple[str, type[models.Model]]] = [(self.model._meta.db_table, self.model)]
            joins = []
            for n, (relation, related_model, reverse, _, _) in enumerate(self.related):
                alias = f"cherish_r{n}"
                if reverse:
                    on = (
                        f"{quote(alias)}.{quote(relation.field.column)}"
                        f" = {table}.{quote(self.model._meta.pk.column)}"
                    )
                else:
                    on = (
                        f"{quote(alias)}.{quote(relation.target_field.column)}"
                        f" = {table}.{quote(relation.column)}"
                    )
                joins.append(
                    f" LEFT JOIN {quote(related_model._meta.db_table)} {quote(alias)} ON {on}"
                )
                tables.append((alias, related_model))
            columns: list[str] = []
            converters = []
            for alias, model in tables:
                for field in model._meta.concrete_fields:
                    column = field.get_col(alias)
                    found_converters = connection.ops.get_db_converters(
                        column
                    ) + column.get_db_converters(connection)
                    if found_converters:
                        converters.append((len(columns), found_converters, column))
                    columns.append(f"{quote(alias)}.{quote(str(field.column))}")
            head = f"SELECT {', '.join(columns)} FROM {table}{''.join(joins)} WHERE "
            found = self._prepared[connection.vendor] = (head, converters)
        return found

    def fetch(self, params: Sequence[Any], *, where: str | None = None) -> list[Any]:
        """The rows ``where`` (default: the one given when made) selects; ``where`` for a
        condition whose shape varies by call (a number of placeholders)."""
        connection = transaction.get_connection()
        head, converters = self._prepare(connection)
        rows = execute(connection, head + (self.where if where is None else where), params)
        found = []
        width = len(self.fields)
        for row in rows:
            values = list(row)
            for position, functions, column in converters:
                value = values[position]
                for convert in functions:
                    value = convert(value, column, connection)
                values[position] = value
            obj = self.model.from_db(connection.alias, self.attnames, values[:width])
            start = width
            for relation, related_model, reverse, attnames, pk_at in self.related:
                end = start + len(attnames)
                part = values[start:end]
                related_obj = (
                    None
                    if part[pk_at] is None
                    else related_model.from_db(connection.alias, attnames, part)
                )
                relation.set_cached_value(obj, related_obj)
                if reverse and related_obj is not None:
                    relation.field.set_cached_value(related_obj, obj)
                start = end
            found.append(obj)
        return found


def select_in(
    model: type[models.Model], columns: Sequence[str], column: str, values: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM`` ``model``'s table ``WHERE column IN (values)``, in plain SQL,
    in the current transaction's connection: for the lookups a batch makes of keys it already
    has (the ORM's building of such a query cost more CPU than the query). ``columns`` and
    ``column`` are database column names; at most ``MAX_PARAMS`` values."""
    if not values:
        return []
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    return execute(
        connection,
        f"SELECT {', '.join(quote(name) for name in columns)}"
        f" FROM {quote(model._meta.db_table)}"
        f" WHERE {quote(column)} IN ({', '.join(['%s'] * len(values))})",
        list(values),
    )


def execute(connection: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement with "%s" placeholders on ``connection`` and return its rows (none
    for most INSERTs). On SQLite, when no one records the statements (``DEBUG``, a test's
    ``CaptureQueriesContext``), on the DB-API connection itself: Django's cursor and its
    wrappers are a dozen Python calls a statement, around statements SQLite runs in tens of
    microseconds (an API key's read: 42 against 61 µs through Django's cursor; issue #14).
    Errors are Django's either way; the writer queue is the transaction's, not the
    statement's (core.backends.sqlite3)."""
    if connection.vendor != "sqlite" or connection.queries_logged:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
    from cherish.core.backends.sqlite3.base import qmark

    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        found = connection.connection.execute(qmark(sql), params)
        return found.fetchall() if found.description else []
