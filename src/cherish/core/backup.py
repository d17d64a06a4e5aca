"""Online backup and restore of a one-machine Cherish: the SQLite database and its files.

The database is copied with SQLite's backup API in a single step, which reads one consistent
snapshot while the service keeps writing (WAL lets writers go on beside a reader). Files are
copied after the snapshot: Cherish writes a raw email or an attachment (fsynced) before the
row that names it commits, so every file the snapshot refers to already exists by then. The
copy is checked with ``PRAGMA integrity_check`` and described in ``manifest.json``.

PostgreSQL installations back up with ``pg_dump`` and copy the same files (docs/deploy.md).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cherish.core.clock import now

DATABASE_NAME = "cherish.sqlite3"
FILE_DIRS = ("files", "raw")
MANIFEST = "manifest.json"
# The public form's complaints stored but not yet moved into the database (intake.journal).
JOURNAL_NAME = "intake-journal.sqlite3"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    cases: int
    size_bytes: int
    started_at: str


def _fsync_tree(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _integrity(path: Path) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def _copy_sqlite(source: Path, target: Path) -> bool:
    """Copy the SQLite file ``source`` (one snapshot, while it is written) if it exists."""
    if not source.exists():
        return False
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()
    return True


def _count_cases(db: sqlite3.Connection) -> int:
    try:
        return int(db.execute("SELECT count(*) FROM cases_case").fetchone()[0])
    except sqlite3.Error:
        return 0


def backup_sqlite(database: Path, data_dir: Path, destination: Path) -> BackupResult:
    """Copy the live database and the data directory's files into ``destination`` (new)."""
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty; give a new directory.")
    destination.mkdir(parents=True, exist_ok=True)
    started_at = now().isoformat()
    # The intake journal before the database: a complaint moved from one to the other
    # meanwhile is then in both copies (its move skips it on restore), never in neither.
    journaled = _copy_sqlite(data_dir / JOURNAL_NAME, destination / JOURNAL_NAME)
    target = destination / DATABASE_NAME
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        # pages=-1: the whole database in one step, under one read snapshot.
        source.backup(copy, pages=-1)
        cases = _count_cases(copy)
    finally:
        copy.close()
        source.close()
    for name in FILE_DIRS:
        if (data_dir / name).is_dir():
            shutil.copytree(data_dir / name, destination / name)
    if (data_dir / "secret_key").exists():
        shutil.copy2(data_dir / "secret_key", destination / "secret_key")
    check = _integrity(target)
    if check != "ok":
        raise BackupError(f"the copy failed its integrity check: {check}")
    manifest: dict[str, Any] = {
        "format": 1,
        "database": DATABASE_NAME,
        "started_at": started_at,
        "finished_at": now().isoformat(),
        "cases": cases,
        "integrity_check": check,
        "files": [name for name in FILE_DIRS if (destination / name).is_dir()],
        "journal": JOURNAL_NAME if journaled else None,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync_tree(destination)
    return BackupResult(destination, cases, target.stat().st_size, started_at)


def restore_sqlite(source: Path, database: Path, data_dir: Path, *, force: bool = False) -> int:
    """Put a backup made by backup_sqlite in place; returns the number of cases restored.

    Refuses to overwrite an existing database unless ``force`` (the service must be stopped
    then: a running Cherish would keep writing to the file being replaced).
    """
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{source} has no {MANIFEST}: not a Cherish backup.")
    manifest = json.loads(manifest_path.read_text())
    backup_db = source / manifest["database"]
    check = _integrity(backup_db)
    if check != "ok":
        raise BackupError(f"the backup failed its integrity check: {check}")
    if database.exists() and not force:
        raise BackupError(f"{database} exists; stop Cherish and use --force to replace it.")
    database.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{backup_db}?mode=ro", uri=True)
    dst = sqlite3.connect(database)
    try:
        src.backup(dst, pages=-1)
        cases = _count_cases(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    journal = data_dir / JOURNAL_NAME
    for suffix in ("", "-wal", "-shm"):
        Path(f"{journal}{suffix}").unlink(missing_ok=True)
    if manifest.get("journal"):
        _copy_sqlite(source / manifest["journal"], journal)
    for name in manifest.get("files", []):
        shutil.copytree(source / name, data_dir / name, dirs_exist_ok=True)
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", data_dir / "secret_key")
    _fsync_tree(data_dir)
    return cases
