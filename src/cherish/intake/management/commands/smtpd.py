"""``cherish smtpd``: the inbound mail listener (see cherish.intake.email.smtp)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from cherish.intake.email.smtp import inbound_addresses, make_controller


class Command(BaseCommand):
    help = "Listen for inbound email on CHERISH_SMTP_HOST:CHERISH_SMTP_PORT (127.0.0.1:2525)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.CHERISH_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.CHERISH_SMTP_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = make_controller(options["host"], options["port"])
        controller.start()
        self.stdout.write(
            f"Accepting mail for {', '.join(sorted(inbound_addresses()))} "
            f"on {options['host']}:{options['port']}."
        )
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            controller.stop()
