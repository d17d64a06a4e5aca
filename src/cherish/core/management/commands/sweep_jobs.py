"""``cherish sweep_jobs``: queue again the leased jobs whose worker died or whose wake-up was lost.

``cherish tick`` runs it every CHERISH_PERIODIC interval; cron can run it too. Several at
once do no harm: a job woken twice still runs once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.core.pipeline import retry_failed_jobs, sweep_jobs


class Command(BaseCommand):
    help = "Re-queue background jobs whose worker died or whose queue entry was lost."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="Also run again, with a fresh set of attempts, the jobs that gave up.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry_failed"]:
            retried = retry_failed_jobs()
            self.stdout.write(f"Queued {retried} failed job(s) again.")
        counts = sweep_jobs()
        if options["verbosity"] >= 1 and (any(counts.values()) or options["verbosity"] >= 2):
            self.stdout.write(
                f"Re-queued {counts['lapsed']} job(s) whose worker was lost and "
                f"{counts['lost']} whose wake-up was lost; purged {counts['purged']} old."
            )
