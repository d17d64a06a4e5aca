"""Send the status updates due now (care.customer_updates): commitment news, interval updates."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.care.customer_updates import send_due_updates


class Command(BaseCommand):
    help = "Keep customers informed: status updates at their interval and on commitment changes."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = send_due_updates()
        self.stdout.write("customer updates: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
