"""The inbound SMTP listener (aiosmtpd).

Answers, and why:
- RCPT to an address not in CHERISH_INBOUND_ADDRESSES → ``550`` (we are not an open relay);
- a message over CHERISH_SMTP_MAX_MESSAGE_BYTES → ``552`` (aiosmtpd's size limit);
- DATA → the raw bytes are stored and processed, and ``250`` is sent only after the commit.
  Mail that cannot be parsed is still stored (shown on the desk's "could not read" list) and
  also gets ``250``: it is safe with us, and a sender retrying it would only store it again;
- the raw bytes could not be stored (disk full, database down) → ``451``, so the sending
  server keeps the mail and tries again later.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections

from cherish.intake.email.receive import receive_email

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 35 * 1024 * 1024  # a 20 MB attachment is ~27 MB once base64'd


def max_message_bytes() -> int:
    return int(getattr(settings, "CHERISH_SMTP_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES))


def inbound_addresses() -> set[str]:
    return {address.strip().lower() for address in settings.CHERISH_INBOUND_ADDRESSES}


def _receive_in_thread(content: bytes, mail_from: str) -> str:
    close_old_connections()
    try:
        outcome = receive_email(content, envelope_sender=mail_from)
    except Exception:
        logger.exception("Could not store an inbound email")
        return "451 4.3.0 Temporary failure storing the message, please try again later"
    finally:
        close_old_connections()
    logger.info("Inbound email %s: %s %s", outcome.raw.pk, outcome.status, outcome.detail)
    return "250 2.0.0 Message accepted"


class CherishHandler:
    def __init__(self, workers: int = 4) -> None:
        # Django's ORM is synchronous: each message is stored and processed on a worker thread.
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtpd")
        self.addresses = inbound_addresses()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.strip().lower() not in self.addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, _receive_in_thread, content, envelope.mail_from or ""
        )


def make_controller(host: str | None = None, port: int | None = None) -> Controller:
    """A started-on-demand listener on CHERISH_SMTP_HOST:CHERISH_SMTP_PORT (or the given)."""
    return Controller(
        CherishHandler(),
        hostname=host or settings.CHERISH_SMTP_HOST,
        port=port if port is not None else settings.CHERISH_SMTP_PORT,
        data_size_limit=max_message_bytes(),
        decode_data=False,
        enable_SMTPUTF8=True,
        ident="Cherish",
    )
