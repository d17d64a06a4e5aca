"""Keeping the query planner's statistics fresh (no domain words here).

SQLite chooses indexes from ``sqlite_stat1``, which only ``ANALYZE`` writes; a database that
grew from empty never has it, and then the planner guesses: at 1M cases the API's case list
read the table through the wrong index (1.6 s instead of a few ms) until the file was
analysed. SQLite's advice (sqlite.org/lang_analyze.html, "Recommended usage pattern") is
``PRAGMA optimize`` when a connection closes and every few hours in a long-running process,
with ``analysis_limit`` so that it stays cheap, and a full ``ANALYZE`` after a bulk load:

- ``optimize_on_close``: the SQLite backend (core.backends.sqlite3) calls it as it closes a
  connection;
- ``optimize``: the ticker's ``optimize_database`` job;
- ``analyze``: after ``cherish demo`` and ``cherish import``.

PostgreSQL's autovacuum analyses tables as they change; after a bulk load ``analyze`` runs
``ANALYZE`` so the first minutes are planned right too.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, connection

# Rows ANALYZE reads per index when SQLite decides (the documented advice is a few hundred
# to a thousand): enough to tell a selective index from a poor one, a few ms at 1M rows.
ANALYSIS_LIMIT = 1000
# How long closing a connection may wait for the write lock that ANALYZE needs: the next
# close tries again, so a busy moment is skipped rather than waited out.
CLOSE_BUSY_MS = 50


def optimize_on_close(sqlite_connection: Any) -> None:
    """``PRAGMA optimize`` on a raw sqlite3 connection about to close; never raises."""
    try:
        sqlite_connection.execute(f"PRAGMA busy_timeout={CLOSE_BUSY_MS}")
        sqlite_connection.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        sqlite_connection.execute("PRAGMA optimize")
    except Exception:
        pass


def optimize() -> list[str]:
    """Analyse what needs it, cheaply: on SQLite every table with indexes and rows that was
    never analysed (``PRAGMA optimize`` before 3.46 only looks at tables this connection queried),
    then ``PRAGMA optimize``. Returns the tables analysed here. Nothing on PostgreSQL, whose
    autovacuum does this."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        never = _never_analysed(cursor)
        for table in never:
            cursor.execute(f'ANALYZE "{table}"')
        cursor.execute("PRAGMA optimize")
    return never


def analyze() -> None:
    """A full ``ANALYZE``, for after a bulk load (demo data, an import)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=0")
        cursor.execute("ANALYZE")


def _never_analysed(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'index'"
        " AND tbl_name NOT LIKE 'sqlite_%' ORDER BY tbl_name"
    )
    indexed = [row[0] for row in cursor.fetchall()]
    try:
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        analysed = {row[0] for row in cursor.fetchall()}
    except DatabaseError:  # no sqlite_stat1: nothing was ever analysed
        analysed = set()
    # An empty table gets no statistics from ANALYZE; it is looked at again once it has rows.
    never = []
    for table in indexed:
        if table not in analysed:
            cursor.execute(f'SELECT 1 FROM "{table}" LIMIT 1')
            if cursor.fetchone() is not None:
                never.append(table)
    return never
