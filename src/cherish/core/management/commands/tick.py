"""``cherish tick``: run the periodic jobs (clocks, reminders, follow-ups, the outbox sweeper).

Each job is a management command named in settings.CHERISH_PERIODIC with its interval; jobs
whose app is not installed are skipped. With ``--loop`` it keeps running (``cherish serve``
starts it that way); without, it runs every due job once, which suits cron or a test.
Jobs are idempotent, so two tickers on two machines do no harm beyond wasted work.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import close_old_connections


class Command(BaseCommand):
    help = "Run periodic jobs once, or forever with --loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        available = get_commands()
        jobs = [(name, every) for name, every in settings.CHERISH_PERIODIC if name in available]
        last_run: dict[str, float] = {}
        while True:
            started = time.monotonic()
            for name, every in jobs:
                if started - last_run.get(name, -1e18) < every:
                    continue
                last_run[name] = started
                # A connection broken by a database restart is dropped here, as Django does
                # between requests; without this every later job would fail on it.
                close_old_connections()
                try:
                    call_command(name, verbosity=0)
                except Exception as error:  # one failing job must not stop the others
                    self.stderr.write(f"periodic job {name} failed: {error!r}")
            if not options["loop"]:
                return
            time.sleep(5)
