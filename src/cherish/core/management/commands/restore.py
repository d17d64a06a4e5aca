"""``cherish restore SRC``: put a backup made by ``cherish backup`` in this data directory.

Restore into a fresh data directory (``CHERISH_DATA_DIR``), or stop Cherish and pass
``--force`` to replace the current database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cherish.core.backup import BackupError, restore_sqlite


class Command(BaseCommand):
    help = "Restore a backup made by `cherish backup` into the configured data directory."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="A directory written by `cherish backup`.")
        parser.add_argument(
            "--force", action="store_true", help="Replace an existing database (stop Cherish)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("sqlite3"):
            raise CommandError("On PostgreSQL restore with pg_restore (docs/deploy.md).")
        try:
            cases = restore_sqlite(
                Path(options["source"]),
                Path(db["NAME"]),
                Path(settings.DATA_DIR),
                force=options["force"],
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restored {cases} case(s) into {db['NAME']}.")
