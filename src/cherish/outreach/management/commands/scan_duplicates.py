from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from cherish.outreach import identity


class Command(BaseCommand):
    help = "Find possible duplicate customers and store them for the desk's duplicates page."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        counts = identity.scan_duplicates()
        self.stdout.write(f"{counts} in {time.perf_counter() - started:.1f} s.")
