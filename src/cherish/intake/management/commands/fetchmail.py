"""``cherish fetchmail``: fetch unseen mail from CHERISH_IMAP_URL into Cherish.

Run once (``cherish fetchmail``), a failure to reach the server, log in or read the folder ends
the command with ``CommandError: …`` and exit status 1; nothing is imported or flagged. With
``--every N`` the command keeps polling: such a failure is logged (and written to stderr) and
the next poll comes N seconds later.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from cherish.intake.email.imap import (
    ImapError,
    Mailbox,
    connect,
    fetch_unseen,
    parse_imap_url,
)

logger = logging.getLogger(__name__)


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
        try:
            mailbox = parse_imap_url(options["url"])
        except ValueError as error:
            raise CommandError(f"CHERISH_IMAP_URL is not usable: {error}") from error
        while True:
            try:
                self.poll(mailbox, delete=options["delete"])
            except ImapError as error:
                if not options["every"]:
                    raise CommandError(str(error)) from error
                logger.error("%s", error)
                self.stderr.write(str(error))
            if not options["every"]:
                return
            close_old_connections()
            time.sleep(options["every"])

    def poll(self, mailbox: Mailbox, *, delete: bool) -> None:
        client = connect(mailbox)
        try:
            outcomes = fetch_unseen(client, mailbox.folder, delete=delete)
        finally:
            with contextlib.suppress(Exception):  # the connection may already be gone
                client.logout()
        statuses = [o.status for o in outcomes]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
        self.stdout.write(f"Fetched {len(outcomes)} message(s)" + (f": {counts}" if counts else ""))
