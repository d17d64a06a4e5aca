"""``cherish fetchmail``: fetch unseen mail from CHERISH_IMAP_URL into Cherish."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from cherish.intake.email.imap import connect, fetch_unseen, parse_imap_url


class Command(BaseCommand):
    help = "Fetch unseen messages from the IMAP mailbox in CHERISH_IMAP_URL."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=settings.CHERISH_IMAP_URL)
        parser.add_argument("--every", type=float, default=0, help="Keep polling every N s.")
        parser.add_argument(
            "--delete", action="store_true", help="Delete fetched mail instead of marking seen."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["url"]:
            raise CommandError("Set CHERISH_IMAP_URL (imaps://user:pass@host/INBOX) or --url.")
        mailbox = parse_imap_url(options["url"])
        while True:
            client = connect(mailbox)
            try:
                outcomes = fetch_unseen(client, mailbox.folder, delete=options["delete"])
            finally:
                with contextlib.suppress(Exception):  # the connection may already be gone
                    client.logout()
            statuses = [o.status for o in outcomes]
            self.stdout.write(
                f"Fetched {len(outcomes)} message(s): "
                + ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
            )
            if not options["every"]:
                return
            close_old_connections()
            time.sleep(options["every"])
