from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.outreach import actions


class Command(BaseCommand):
    help = "Schedule follow-ups after transactions and send the ones that are due."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduled = actions.schedule_follow_ups()
        counts = actions.send_due_follow_ups()
        parts = ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in sorted(counts.items()))
        self.stdout.write(f"{scheduled} follow-ups scheduled; due: {parts or 'none'}.")
