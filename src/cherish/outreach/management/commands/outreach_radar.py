from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from cherish.outreach import radar


class Command(BaseCommand):
    help = "Recompute the silent-churn radar's score for every customer."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        stored = radar.compute_churn_scores()
        self.stdout.write(f"{stored} customers scored in {time.perf_counter() - started:.1f} s.")
