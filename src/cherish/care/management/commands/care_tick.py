"""Run the care checks once: clocks against targets, and commitments falling due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.care.tasks import check_clocks, check_commitments


class Command(BaseCommand):
    help = "Warn about targets about to be breached, escalate breaches, chase due commitments."

    def handle(self, *args: Any, **options: Any) -> None:
        clocks = check_clocks()
        commitments = check_commitments()
        self.stdout.write(
            "care tick: " + ", ".join(f"{k} {v}" for k, v in {**clocks, **commitments}.items())
        )
