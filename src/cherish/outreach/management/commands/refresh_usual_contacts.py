from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from cherish.outreach import actions


class Command(BaseCommand):
    help = "Store each customer's usual contact (owner of their latest case) for the moments page."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        counts = actions.refresh_usual_contacts()
        self.stdout.write(f"{counts} in {time.perf_counter() - started:.1f} s.")
