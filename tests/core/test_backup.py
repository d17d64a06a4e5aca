"""``cherish backup`` while complaints keep arriving, then ``cherish restore`` into a fresh
data directory: every complaint acknowledged before the backup began is in the copy."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from tests.core import processes

from cherish.intake.actions import Contact, accept_contact, store_raw

pytestmark = pytest.mark.slow


def _intake_until(stop: threading.Event, acknowledged: list[str]) -> None:
    try:
        n = 0
        while not stop.is_set():
            n += 1
            raw = store_raw("email", raw_bytes=f"Subject: leak {n}\r\n\r\nIt leaks.".encode())
            result = accept_contact(
                Contact(
                    channel="email",
                    text=f"Complaint {n}: the roof you fixed leaks again.",
                    name=f"Customer {n}",
                    email=f"backup{n}@example.com",
                ),
                raw=raw,
            )
            # Committed: from here on the customer may be told we have it.
            acknowledged.append(result.case.reference)
    finally:
        connection.close()


def test_an_online_backup_restores_everything_acknowledged_before_it(
    transactional_db: Any, agent: Any, tmp_path: Path
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("cherish backup copies SQLite; PostgreSQL uses pg_dump (docs/deploy.md)")
    # given complaints arriving all the time
    acknowledged: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(target=_intake_until, args=(stop, acknowledged))
    writer.start()
    try:
        processes.wait_for(lambda: len(acknowledged) >= 20, timeout=60, what="some intake")
        # when a backup is taken in the middle of it
        before = list(acknowledged)
        # The live data directory is the test's own: its raw emails are what gets copied.
        env = processes.cherish_env(Path(settings.DATA_DIR))
        out = processes.run(["backup", str(tmp_path / "backup")], env)
        processes.wait_for(lambda: len(acknowledged) >= len(before) + 5, timeout=60, what="more")
    finally:
        stop.set()
        writer.join(timeout=60)
    assert "Backed up" in out

    # then restoring it into a fresh directory brings back every complaint acknowledged
    # before the backup started
    fresh = tmp_path / "fresh"
    fresh_env = processes.cherish_env(fresh)
    del fresh_env["CHERISH_DATABASE_URL"]
    restored = processes.run(["restore", str(tmp_path / "backup")], fresh_env)
    assert restored.startswith("Restored ")
    db = sqlite3.connect(fresh / "cherish.sqlite3")
    references = {row[0] for row in db.execute("SELECT reference FROM cases_case")}
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw_files = db.execute("SELECT raw_path FROM intake_rawcontact WHERE raw_path != ''").fetchall()
    db.close()
    assert set(before) <= references
    assert len(references) < len(acknowledged)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["integrity_check"] == "ok"
    assert manifest["cases"] == len(references)
    # every raw email the restored rows point at came along
    assert raw_files and all((fresh / "raw" / path).exists() for (path,) in raw_files)

    # and a restore never overwrites a database by accident
    with pytest.raises(subprocess.CalledProcessError) as refused:
        processes.run(["restore", str(tmp_path / "backup")], fresh_env)
    assert "use --force" in refused.value.stderr
