"""What ``cherish serve`` may skip when it starts again on the same code and data.

Every start used to load the whole migration graph (to find nothing to apply) and run
``collectstatic`` (hashing and compressing every static file again): several seconds of CPU
before any child could start, which after a crash or a power cut is time customers cannot
post. Each step leaves a stamp, a fingerprint of what it depended on, in the data directory;
a later start skips the step while the fingerprint is unchanged:

- migrations: the migration files of every installed app (names, sizes, times) and the
  number of migrations the database records as applied. New code, or a database migrated
  or rolled back by hand, changes it and the real ``migrate`` runs.
- static files: every file the static finders see (path, size, time) and the manifest
  ``collectstatic`` wrote. A change, or a missing manifest, runs it again.

A stamp is only a shortcut: deleting it (or any doubt) means the full step runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection


def _stamp(name: str) -> Path:
    return Path(settings.DATA_DIR) / f".{name}.stamp"


def _files(roots: list[Path]) -> list[tuple[str, int, int]]:
    found = []
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            for filename in filenames:
                path = Path(dirpath) / filename
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return sorted(found)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _migrations_fingerprint() -> str | None:
    roots = []
    for config in apps.get_app_configs():
        folder = Path(config.path) / "migrations"
        if folder.is_dir():
            roots.append(folder)
    files = [f for f in _files(roots) if f[0].endswith(".py")]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM django_migrations")
            applied = cursor.fetchone()[0]
    except DatabaseError:
        return None  # no table yet: a fresh database
    finally:
        connection.close()
    return _digest(settings.DATABASES["default"].get("NAME"), files, applied)


def _static_fingerprint() -> str:
    from django.contrib.staticfiles.finders import get_finders

    roots: list[Path] = []
    for finder in get_finders():
        for storage in getattr(finder, "storages", {}).values():
            location = getattr(storage, "location", None)
            if location:
                roots.append(Path(location))
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    written = manifest.stat().st_mtime_ns if manifest.exists() else None
    return _digest(sorted(set(roots)), _files(sorted(set(roots))), written)


def _matches(name: str, fingerprint: str | None) -> bool:
    try:
        return fingerprint is not None and _stamp(name).read_text() == fingerprint
    except OSError:
        return False


def _write(name: str, fingerprint: str | None) -> None:
    if fingerprint is None:
        return
    # A read-only data directory: the next start runs the step again.
    with contextlib.suppress(OSError):
        _stamp(name).write_text(fingerprint)


def migrated() -> bool:
    """True when nothing changed since the last ``migrate`` this data directory saw."""
    return _matches("migrated", _migrations_fingerprint())


def remember_migrated() -> None:
    _write("migrated", _migrations_fingerprint())


def static_collected() -> bool:
    return _matches("static", _static_fingerprint())


def remember_static() -> None:
    _write("static", _static_fingerprint())
