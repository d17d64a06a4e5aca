"""The query planner's statistics are kept (core.planner): SQLite has none until analysed."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from cherish.core import planner

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL's autovacuum analyses its tables"
)


def _stat_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return set()
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()}


@sqlite_only
def test_optimize_analyses_the_tables_never_analysed_once(complaint):
    # given: a database that grew from empty, never analysed
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
    # when
    first = call_command("optimize_database", stdout=io.StringIO())
    analysed = _stat_tables()
    again = planner.optimize()
    # then
    assert first is None
    assert {"cases_case", "customers_customer", "customers_contactpoint"} <= analysed
    assert "customers_importantdate" not in analysed  # empty: nothing to learn yet
    assert again == []


@sqlite_only
def test_a_full_analyze_covers_every_indexed_table(complaint):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
    call_command("optimize_database", "--full", stdout=io.StringIO())
    assert "cases_case" in _stat_tables()
    assert planner.optimize() == []


def test_optimize_and_analyze_run_on_postgresql_too(db):
    # PostgreSQL: nothing to do periodically, a plain ANALYZE after a bulk load.
    planner.analyze()
    assert planner.optimize() == [] or connection.vendor == "sqlite"


def test_the_ticker_optimizes_every_few_hours():
    assert ("optimize_database", 3 * 3600) in settings.CHERISH_PERIODIC


def test_optimize_on_close_analyses_what_the_connection_queried(tmp_path: Path):
    # given: a table with a poor and a good index, queried, never analysed
    raw = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INT, b INT)")
    raw.execute("CREATE INDEX t_a ON t (a)")
    raw.execute("CREATE INDEX t_b ON t (b)")
    raw.executemany("INSERT INTO t (a, b) VALUES (?, ?)", [(i % 3, i) for i in range(3000)])
    raw.execute("SELECT * FROM t WHERE a = 1 AND b > 5").fetchall()
    # when
    planner.optimize_on_close(raw)
    # then
    assert {row[1] for row in raw.execute("SELECT * FROM sqlite_stat1")} == {"t_a", "t_b"}
    raw.close()


def test_optimize_on_close_never_raises():
    broken = mock.Mock(execute=mock.Mock(side_effect=sqlite3.OperationalError("locked")))
    planner.optimize_on_close(broken)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_closing_a_django_connection_runs_optimize():
    other = connections.create_connection("default")
    other.ensure_connection()
    raw = other.connection
    with mock.patch.object(planner, "optimize_on_close") as optimize_on_close:
        other.close()
    optimize_on_close.assert_called_once_with(raw)


def test_an_import_analyses_what_it_stored(db, tmp_path: Path):
    csv = tmp_path / "customers.csv"
    csv.write_text("name,email\nAda Lovelace,ada@example.com\n")
    with mock.patch.object(planner, "analyze") as analyze:
        call_command("import", "customers", str(csv), "--no-progress", stdout=io.StringIO())
    analyze.assert_called_once_with()


def _table_with_an_empty_partial_index(path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, owner INT, open INT, flag INT)")
    raw.executemany(
        "INSERT INTO t (owner, open, flag) VALUES (?, ?, 0)",
        [(i % 50, int(i % 3 == 0)) for i in range(20_000)],
    )
    raw.execute("CREATE INDEX t_mine ON t (owner, open)")
    raw.execute("CREATE INDEX t_flag ON t (owner) WHERE flag = 1")  # no entries
    return raw


def test_a_full_analysis_survives_optimize_on_close_beside_an_empty_partial_index(
    tmp_path: Path,
):
    # given: a full ANALYZE (it writes no row for the empty index), then the table queried
    raw = _table_with_an_empty_partial_index(tmp_path / "db.sqlite3")
    raw.execute("PRAGMA analysis_limit=0")
    raw.execute("ANALYZE")  # as a database analysed before the note existed
    full = raw.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 't_mine'").fetchone()
    raw.execute("SELECT count(*) FROM t WHERE owner = 1 AND open").fetchall()
    # when: connections close, again and again
    for _ in range(3):
        planner.optimize_on_close(raw)
    # then: nothing is re-analysed with a sampling limit; the full statistics stay
    assert raw.execute("PRAGMA optimize(-1)").fetchall() == []
    assert raw.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 't_mine'").fetchone() == full
    assert full == ("20000 400 200",)
    raw.close()


def test_without_the_note_sqlite_re_analyses_the_table_at_every_close(tmp_path: Path):
    # The trap itself (SQLite 3.40): an empty partial index keeps its table "unanalysed".
    raw = _table_with_an_empty_partial_index(tmp_path / "db.sqlite3")
    raw.execute("ANALYZE")
    raw.execute("SELECT count(*) FROM t WHERE owner = 1 AND open").fetchall()
    assert raw.execute("PRAGMA optimize(-1)").fetchall() == [('ANALYZE "main"."t"',)]
    raw.close()


def test_optimize_on_close_notes_the_empty_indexes_of_what_it_analysed(tmp_path: Path):
    raw = _table_with_an_empty_partial_index(tmp_path / "db.sqlite3")
    raw.execute("SELECT count(*) FROM t WHERE owner = 1 AND open").fetchall()
    planner.optimize_on_close(raw)
    stats = dict(raw.execute("SELECT idx, stat FROM sqlite_stat1").fetchall())
    assert stats["t_flag"] == "1 1"
    assert raw.execute("PRAGMA optimize(-1)").fetchall() == []
    raw.close()


@sqlite_only
def test_a_full_analyze_notes_the_cases_empty_flag_indexes(complaint):
    # given: no case is flagged urgent, so its partial index is empty
    planner.analyze()
    with connection.cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'case_flag_urgent'")
        noted = cursor.fetchone()
    assert noted is not None
