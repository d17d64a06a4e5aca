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
