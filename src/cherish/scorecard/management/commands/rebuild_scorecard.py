"""``cherish rebuild_scorecard``: recompute the scorecard's roll-ups from the domain rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cherish.core.clock import now
from cherish.scorecard import rollups


class Command(BaseCommand):
    help = "Rebuild the scorecard roll-ups from scratch (and optionally check them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Afterwards, compare every period and filter with a from-scratch "
            "recomputation (slow: for small databases and tests).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        at = now()
        counts = rollups.rebuild(at=at)
        self.stdout.write(f"Rebuilt the facts of {counts['cases']} cases, {counts['cells']} cells.")
        if options["check"]:
            from cherish.scorecard.checks import compare_with_scratch

            problems = compare_with_scratch(at=at)
            if problems:
                raise CommandError("Roll-ups differ from a recomputation:\n" + "\n".join(problems))
            self.stdout.write("Every roll-up equals a from-scratch recomputation.")
