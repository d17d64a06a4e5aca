"""``cherish purge_idempotency_keys``: forget stored API responses older than a day, and
rate-limit counters of windows long gone (core.ratelimit).

A client retries within minutes; a key kept for 24 hours covers every sensible retry while
the table stays small. Run by ``cherish tick`` every hour.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand

from cherish.core import ratelimit
from cherish.core.clock import now
from cherish.intake import journal
from cherish.intake.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete idempotency keys older than --hours (default 24)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--hours", type=int, default=24)

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = now() - dt.timedelta(hours=options["hours"])
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        ratelimit.purge_old_windows()
        journal.purge_old_rates()  # the public form's counters, kept in the intake journal
        if options["verbosity"]:
            self.stdout.write(
                f"Deleted {deleted} idempotency keys older than {cutoff:%Y-%m-%d %H:%M}."
            )
