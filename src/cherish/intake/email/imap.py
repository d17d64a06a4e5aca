"""Polling a mailbox over IMAP, for organisations whose mail lives elsewhere.

Each unseen message is fetched, stored and processed through the same path as SMTP mail,
and only then flagged ``\\Seen`` (or deleted): a crash in between fetches it again, and the
duplicate check by Message-ID keeps it from becoming a second message.
"""

from __future__ import annotations

import imaplib
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from cherish.intake.email.receive import EmailOutcome, receive_email


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    username: str
    password: str
    folder: str
    use_tls: bool


def parse_imap_url(url: str) -> Mailbox:
    """``imaps://user:pass@host[:port]/INBOX`` (TLS) or ``imap://…`` (plain, for tests)."""
    parts = urlsplit(url)
    if parts.scheme not in {"imap", "imaps"}:
        raise ValueError("CHERISH_IMAP_URL must start with imaps:// (or imap://)")
    use_tls = parts.scheme == "imaps"
    return Mailbox(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (993 if use_tls else 143),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        use_tls=use_tls,
    )


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    client: imaplib.IMAP4
    if mailbox.use_tls:
        client = imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=60
        )
    else:
        client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=60)
    client.login(mailbox.username, mailbox.password)
    return client


def fetch_unseen(client: Any, folder: str, *, delete: bool = False) -> list[EmailOutcome]:
    """Process every unseen message in ``folder`` of a logged-in IMAP client."""
    status, _ = client.select(_quote(folder))
    if status != "OK":
        raise RuntimeError(f"Cannot open the IMAP folder {folder!r}")
    status, data = client.uid("SEARCH", None, "UNSEEN")
    if status != "OK":
        raise RuntimeError("IMAP search failed")
    outcomes = []
    for uid in (data[0] or b"").split():
        status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next(
            (part[1] for part in parts or [] if isinstance(part, tuple) and len(part) > 1), None
        )
        if status != "OK" or not isinstance(raw, bytes):
            continue
        outcomes.append(receive_email(raw))
        if delete:
            client.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
        else:
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    if delete:
        client.expunge()
    return outcomes


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
