"""``cherish serve``: the whole of Cherish on one machine, run by production servers.

Starts gunicorn (web), task workers, the periodic ticker and the inbound mail listener as
child processes under a supervisor (core.supervisor): a child that dies is restarted with
backoff while the others keep serving, and only SIGTERM or SIGINT stops them all. Each piece
also runs on its own (``cherish worker``, ``cherish tick --loop``, ``cherish smtpd``) for the
scale-out path and for systemd (docs/deploy.md).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from cherish.core.supervisor import Supervisor


class Command(BaseCommand):
    help = "Serve Cherish: web server, task worker and inbound mail listener."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("CHERISH_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("CHERISH_WEB_WORKERS", "2"))
        )
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument(
            "--task-workers",
            type=int,
            default=int(os.environ.get("CHERISH_TASK_WORKERS", "1")),
            help="How many task worker processes to run.",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start a task worker.")
        parser.add_argument(
            "--no-smtp", action="store_true", help="Do not start the mail listener."
        )
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        cherish = [sys.executable, "-m", "cherish"]
        children: dict[str, list[str]] = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "cherish.wsgi:application",
                "--bind",
                options["bind"],
                "--workers",
                str(options["workers"]),
                "--threads",
                str(options["threads"]),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "20",
            ],
        }
        available = get_commands()
        if not options["no_worker"]:
            for number in range(1, max(1, options["task_workers"]) + 1):
                children[f"worker-{number}"] = [*cherish, "worker"]
            children["tick"] = [*cherish, "tick", "--loop"]
        if not options["no_smtp"] and "smtpd" in available:
            children["smtpd"] = [*cherish, "smtpd"]
        supervisor = Supervisor(children)
        self.stdout.write(
            f"Cherish is running at http://{options['bind']}/ "
            f"(data in {settings.DATA_DIR}; {', '.join(children)}). Press Ctrl+C to stop."
        )
        self.stdout.flush()
        sys.exit(supervisor.run())
