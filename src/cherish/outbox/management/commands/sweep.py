"""``cherish sweep``: re-enqueue outbox rows whose delivery task was lost.

Run it from cron, or with ``--every 60`` as a long-running companion of ``cherish worker``.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cherish.outbox.actions import sweep_outbox


class Command(BaseCommand):
    help = "Re-enqueue outgoing emails and webhook deliveries stuck past their due time."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--every", type=float, default=0, help="Keep running, sweeping every N seconds."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        while True:
            counts = sweep_outbox()
            if options["verbosity"] >= 1 and (any(counts.values()) or not every):
                self.stdout.write(
                    f"Re-enqueued {counts['emails']} email(s), {counts['webhooks']} webhook(s);"
                    f" recorded as sent, accepted before a worker died: "
                    f"{counts['emails_accepted_before']} email(s), "
                    f"{counts['webhooks_accepted_before']} webhook(s)."
                )
            if not every:
                return
            close_old_connections()
            time.sleep(every)
