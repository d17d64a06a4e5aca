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
