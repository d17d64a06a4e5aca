"""``cherish optimize_database``: keep the query planner's statistics fresh (core.planner).

The ticker runs it every few hours (CHERISH_PERIODIC); ``--full`` runs a whole ``ANALYZE``,
for after loading data by other means than ``cherish demo`` or ``cherish import``.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from cherish.core import planner


class Command(BaseCommand):
    help = "Refresh the database's planner statistics (PRAGMA optimize; --full: ANALYZE)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--full", action="store_true", help="analyse every table in full")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["full"]:
            planner.analyze()
            self.stdout.write(f"Analysed in {time.perf_counter() - started:.1f} s.")
            return
        tables = planner.optimize()
        self.stdout.write(
            f"Optimised ({len(tables)} tables analysed for the first time)"
            f" in {time.perf_counter() - started:.1f} s."
        )
