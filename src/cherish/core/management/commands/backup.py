"""``cherish backup DEST``: an online backup of the SQLite database and the data files.

Safe while Cherish runs and takes complaints (core.backup). On PostgreSQL use ``pg_dump``
and copy the files as docs/deploy.md shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cherish.core.backup import BackupError, backup_sqlite


class Command(BaseCommand):
    help = "Back up the database and data files into a new directory, while Cherish runs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("destination", help="A new or empty directory.")

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("sqlite3"):
            raise CommandError(
                "cherish backup copies SQLite. On PostgreSQL use pg_dump and copy the data "
                "directory's files/ and raw/ (see docs/deploy.md, 'Backups')."
            )
        try:
            result = backup_sqlite(
                Path(db["NAME"]), Path(settings.DATA_DIR), Path(options["destination"])
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Backed up {result.cases} case(s), {result.size_bytes / 1e6:.1f} MB of database, "
            f"as of {result.started_at}, to {result.path}."
        )
