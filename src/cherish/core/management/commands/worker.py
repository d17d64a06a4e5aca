"""``cherish worker``: runs background tasks from the configured backend."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a background task worker (database queue by default, RQ with Redis)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=0.5)
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--burst", action="store_true", help="RQ only: stop when idle.")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.TASKS["default"]["BACKEND"]
        if backend.startswith("django_tasks_rq"):
            argv = ["default", "--with-scheduler"]
            if options["burst"]:
                argv.append("--burst")
            call_command("rqworker", *argv)
            return
        kwargs: dict[str, Any] = {"interval": options["interval"], "no_startup_delay": True}
        if options["max_tasks"]:
            kwargs["max_tasks"] = options["max_tasks"]
        call_command("db_worker", **kwargs)
