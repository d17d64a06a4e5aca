"""``cherish scorecard_tick`` (periodic): refresh the roll-ups, send the weekly digest."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.scorecard import digest, rollups


class Command(BaseCommand):
    help = "Refresh the scorecard roll-ups and send the managers' weekly digest when due."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rollups.refresh()
        sent = digest.send_due_digests()
        self.stdout.write(f"Roll-ups refreshed ({counts['cells']} cells); {sent} digest(s) sent.")
