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

One trap (SQLite 3.40): ``ANALYZE`` writes no ``sqlite_stat1`` row for an index with no
entries (a partial index nothing matches yet: ``cases_case``'s urgent, safety, legal and
public flags), and ``PRAGMA optimize`` re-analyses, with ``analysis_limit``, every table that
has an index without a row, at every close. At 1M cases that replaced the full ANALYZE's
statistics of ``cases_case`` with estimates from 1,000 rows a index, and the inbox's counts
took another plan: 430-1,270 ms of CPU a view instead of 17-23 (bench/README.md, 2026-12-02,
helper desk). So after every analysis such an index gets a row of its own
(``_note_empty_indexes``: one entry, as if it held one row), and the statistics of a full
ANALYZE stay until the next full one.
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
        cursor = sqlite_connection.cursor()
        # First the empty indexes a full ANALYZE left without a row (a database analysed
        # before this was noted), or the optimize below would sample their tables again.
        _note_empty_indexes(cursor, placeholder="?")
        if sqlite_connection.execute("PRAGMA optimize(-1)").fetchall():
            # Something to analyse: do it, then note the empty indexes it left without a
            # row (or the next close analyses the same table again).
            sqlite_connection.execute("PRAGMA optimize")
            _note_empty_indexes(cursor, placeholder="?")
        sqlite_connection.commit()
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
        _note_empty_indexes(cursor)
    return never


def analyze() -> None:
    """A full ``ANALYZE``, for after a bulk load (demo data, an import)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=0")
        cursor.execute("ANALYZE")
        if connection.vendor == "sqlite":
            _note_empty_indexes(cursor)


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


def _note_empty_indexes(cursor: Any, placeholder: str = "%s") -> list[str]:
    """Give each index of an analysed table that ANALYZE left without statistics (it has no
    entries) a ``sqlite_stat1`` row saying one entry, so ``PRAGMA optimize`` no longer takes
    its table for unanalysed and re-analyses it (module docstring). Returns those indexes.
    ``placeholder``: ``?`` on a raw sqlite3 cursor, ``%s`` on Django's."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if cursor.fetchone() is None:  # nothing analysed yet
        return []
    cursor.execute(
        "SELECT m.tbl_name, m.name FROM sqlite_master m"
        " WHERE m.type = 'index' AND m.sql IS NOT NULL"
        " AND m.tbl_name IN (SELECT tbl FROM sqlite_stat1)"
        " AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.idx = m.name)"
    )
    noted = []
    for table, index in cursor.fetchall():
        cursor.execute(f'PRAGMA index_info("{index}")')
        columns = len(cursor.fetchall())
        cursor.execute(
            f"INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ({', '.join([placeholder] * 3)})",
            [table, index, " ".join(["1"] * (columns + 1))],
        )
        noted.append(index)
    if noted:
        # This connection keeps its statistics in memory: read the new rows back.
        cursor.execute("ANALYZE sqlite_master")
    return noted
