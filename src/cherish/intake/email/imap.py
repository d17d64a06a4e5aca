"""Polling a mailbox over IMAP, for organisations whose mail lives elsewhere.

Each unseen message is fetched (``BODY.PEEK[]``, which leaves it unseen), stored and processed
through the same path as SMTP mail, and only then flagged ``\\Seen`` (or deleted): a crash in
between fetches it again, and the duplicate check (Message-ID, sender and content) keeps it from
becoming a second message.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from cherish.intake.email.receive import EmailOutcome, receive_email

logger = logging.getLogger(__name__)

# What a broken or unreachable mailbox raises: imaplib's own errors (refused login, BAD, a
# dropped connection is IMAP4.abort) and socket/TLS errors (refused, timeout, certificate).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.error, OSError)


class ImapError(Exception):
    """The mailbox could not be reached, logged into or read; the message says which."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    username: str
    password: str
    folder: str
    use_tls: bool

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


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
    """A logged-in client, or ImapError saying whether the server or the login failed."""
    client: imaplib.IMAP4
    try:
        if mailbox.use_tls:
            client = imaplib.IMAP4_SSL(
                mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=60
            )
        else:
            client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=60)
    except CONNECTION_ERRORS as error:
        raise ImapError(
            f"Cannot reach the IMAP server {mailbox.address}: {_describe(error)}"
        ) from error
    try:
        # imaplib quotes the password but sends the user name as it is: quote it too, so a
        # name such as DOMAIN\care or one with a space is a valid IMAP string.
        client.login(_quote(mailbox.username), mailbox.password)
    except CONNECTION_ERRORS as error:
        with contextlib.suppress(Exception):
            client.shutdown()
        raise ImapError(
            f"IMAP login as {mailbox.username!r} on {mailbox.address} failed: {_describe(error)}"
        ) from error
    return client


def fetch_unseen(client: Any, folder: str, *, delete: bool = False) -> list[EmailOutcome]:
    """Process every unseen message in ``folder`` of a logged-in IMAP client, oldest first.

    Raises ImapError when the folder cannot be read or the connection breaks; what was
    processed by then is committed, and what was not flagged yet is fetched again next time.
    """
    status, data = _ask(client, "select", _quote(folder))
    if status != "OK":
        raise ImapError(f"Cannot open the IMAP folder {folder!r}: {_describe(data)}")
    status, data = _ask(client, "uid", "SEARCH", None, "UNSEEN")
    if status != "OK":
        raise ImapError(f"IMAP search in {folder!r} failed: {_describe(data)}")
    # Oldest first (UIDs grow with arrival), so a complaint is opened before its reply.
    uids = sorted((data[0] or b"").split(), key=int)
    flag = "(\\Deleted)" if delete else "(\\Seen)"
    outcomes = []
    for uid in uids:
        status, parts = _ask(client, "uid", "FETCH", uid, "(BODY.PEEK[])")
        raw = next(
            (part[1] for part in parts or [] if isinstance(part, tuple) and len(part) > 1), None
        )
        if status != "OK" or not isinstance(raw, bytes):
            logger.warning("IMAP message UID %s in %r could not be fetched", uid.decode(), folder)
            continue
        outcomes.append(receive_email(raw))
        status, data = _ask(client, "uid", "STORE", uid, "+FLAGS", flag)
        if status != "OK":
            # Stored and processed already: the next poll fetches it again and the
            # duplicate check marks it a repeat.
            logger.warning(
                "IMAP message UID %s could not be flagged %s: %s",
                uid.decode(),
                flag,
                _describe(data),
            )
    if delete:
        _ask(client, "expunge")
    return outcomes


def _ask(client: Any, method: str, *args: Any) -> tuple[str, Any]:
    """One IMAP command; a broken connection or a BAD answer becomes ImapError."""
    try:
        status, data = getattr(client, method)(*args)
    except CONNECTION_ERRORS as error:
        command = f"UID {args[0]}" if method == "uid" else method.upper()
        raise ImapError(f"IMAP {command} failed: {_describe(error)}") from error
    return str(status), data


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _describe(value: object) -> str:
    """Readable text for an error or IMAP response data (imaplib hands both over as bytes)."""
    if isinstance(value, imaplib.IMAP4.error) and value.args:
        value = value.args[0]
    elif isinstance(value, BaseException):
        return str(value) or type(value).__name__
    items = value if isinstance(value, list | tuple) else [value]
    return " ".join(
        item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        for item in items
        if item is not None
    )
