"""cherish serve skips migrate and collectstatic when nothing they depend on changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection

from cherish.core import startup


def test_migrate_is_skipped_until_the_applied_migrations_change(
    transactional_db: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    # a data directory that never saw a migrate runs it
    assert not startup.migrated()
    startup.remember_migrated()
    assert startup.migrated()
    # a database migrated (or rolled back) by hand runs it again
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', '2026-01-01')"
        )
    assert not startup.migrated()


def test_collectstatic_is_skipped_until_a_static_file_or_the_manifest_changes(
    settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.STATIC_ROOT = tmp_path / "static"
    source = tmp_path / "source"
    source.mkdir()
    settings.STATICFILES_DIRS = [source]
    (source / "site.css").write_text("body { color: black }")
    assert not startup.static_collected()
    startup.remember_static()
    assert startup.static_collected()
    (source / "site.css").write_text("body { color: navy }")
    assert not startup.static_collected()
