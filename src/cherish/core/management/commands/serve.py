"""``cherish serve``: the whole of Cherish on one machine, run by production servers.

Starts gunicorn (web), a task worker and the inbound mail listener as child processes and
stops them all together. Each piece also runs on its own (``cherish worker``,
``cherish smtpd``) for the scale-out path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Cherish: web server, task worker and inbound mail listener."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("CHERISH_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("CHERISH_WEB_WORKERS", "2"))
        )
        parser.add_argument("--threads", type=int, default=4)
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
            children["worker"] = [*cherish, "worker"]
            children["tick"] = [*cherish, "tick", "--loop"]
        if not options["no_smtp"] and "smtpd" in available:
            children["smtpd"] = [*cherish, "smtpd"]
        procs = {name: subprocess.Popen(cmd) for name, cmd in children.items()}
        self.stdout.write(
            f"Cherish is running at http://{options['bind']}/ "
            f"(data in {settings.DATA_DIR}; {', '.join(procs)}). Press Ctrl+C to stop."
        )

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                code = proc.poll()
                if code is not None:
                    self.stderr.write(f"{name} exited with status {code}; stopping Cherish.")
                    stopping = True
                    exit_code = code or 1
            time.sleep(0.5)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 25
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if exit_code:
            sys.exit(exit_code)
