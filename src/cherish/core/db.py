"""Small query-planning helpers shared by the apps (no domain words here)."""

from __future__ import annotations

from typing import Any

from django.db import models


class Unindexed(models.Func):
    """A column (or expression) that SQLite must not seek an index with: ``+"col"`` (SQLite's
    documented way to take a term out of index selection). The value is the same.

    For a big list in another order than its filter's index: SQLite would read every row the
    filter's index finds and sort them all, where reading an index in the wanted order and
    checking the filter on each entry stops after one page. Other databases get the plain
    column (PostgreSQL weighs the LIMIT itself).
    """

    def __init__(self, expression: str | Any, **extra: Any) -> None:
        super().__init__(
            models.F(expression) if isinstance(expression, str) else expression, **extra
        )

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"+{sql}", params


class MonthDay(models.Func):
    """A date's month and day as one integer, ``month * 100 + day`` (29 February -> 229), for
    a stored column that finds a date's anniversaries in any year with one index range.

    Written without Django's date functions: on SQLite those are functions Django registers
    on its own connections, and a generated column using them could not be written by any
    other client (the bench builder's sqlite3, the sqlite3 shell). SQLite stores a date as
    ``YYYY-MM-DD`` text.
    """

    output_field = models.IntegerField()

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CAST(EXTRACT(MONTH FROM {sql}) AS integer) * 100"
            f" + CAST(EXTRACT(DAY FROM {sql}) AS integer))"
        ), [*params, *params]

    def as_sqlite(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CAST(substr({sql}, 6, 2) AS integer) * 100 + CAST(substr({sql}, 9, 2) AS integer))",
            [*params, *params],
        )
