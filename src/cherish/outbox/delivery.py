"""Talking to the outside: SMTP for email, HTTPS POST for webhooks."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import smtplib
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings

from cherish.core.text import one_line
from cherish.outbox.models import OutgoingEmail, WebhookDelivery
from cherish.outbox.retry import PermanentFailure

SMTP_TIMEOUT_S = 30
WEBHOOK_TIMEOUT_S = 10
SIGNATURE_HEADER = "X-Cherish-Signature"
TIMESTAMP_HEADER = "X-Cherish-Timestamp"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    implicit_tls: bool = False


def parse_email_url(url: str) -> SmtpServer:
    """``smtp://[user:pass@]host[:port]``; ``smtp+tls://`` uses STARTTLS, ``smtps://`` TLS."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtp+tls", "smtps"}:
        raise ValueError(
            f"CHERISH_EMAIL_URL must start with smtp://, smtp+tls:// or smtps://: {url}"
        )
    default_port = {"smtp": 25, "smtp+tls": 587, "smtps": 465}[scheme]
    return SmtpServer(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or default_port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        starttls=scheme == "smtp+tls",
        implicit_tls=scheme == "smtps",
    )


def build_email(email: OutgoingEmail) -> EmailMessage:
    """The MIME message: plain text plus (when given) HTML, threading headers, our From."""
    from_address = settings.DEFAULT_FROM_EMAIL
    message = EmailMessage()
    user, _, domain = from_address.partition("@")
    message["From"] = Address(display_name=one_line(email.from_name), username=user, domain=domain)
    message["To"] = one_line(email.to_address, 254)
    message["Subject"] = one_line(email.subject, 300)
    message["Date"] = formatdate(email.created_at.timestamp(), localtime=False, usegmt=True)
    message["Message-ID"] = one_line(email.message_id, 255)
    message["Reply-To"] = from_address
    if email.in_reply_to:
        message["In-Reply-To"] = one_line(email.in_reply_to, 255)
    if email.references:
        message["References"] = one_line(email.references, 4000)
    if email.is_automatic:
        # RFC 3834: automatic responders must not answer this; Exchange honours the other.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    for name, value in (email.headers or {}).items():
        if name.lower() not in {k.lower() for k in message}:
            message[one_line(name, 60)] = one_line(str(value), 500)
    message.set_content(email.text_body)
    if email.html_body:
        message.add_alternative(email.html_body, subtype="html")
    return message


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings for the mail server, made once per process.

    Building a default context loads the system's certificate bundle: about 80 ms of CPU,
    which was most of the cost of sending one email over plain SMTP when it was built for
    every email whether TLS was used or not.
    """
    return ssl.create_default_context()


def send_email(email: OutgoingEmail) -> dict[str, Any]:
    """Hand the email to the configured SMTP server; raise on any refusal.

    5xx answers are permanent (retrying cannot help); everything else is retried.
    """
    with SmtpSession() as session:
        return session.send(email)


class SmtpSession:
    """One connection to the mail server for several emails (a worker's batch of
    acknowledgements): one TCP and SMTP greeting instead of one per email.

    After any failure the connection is dropped and the next email opens a new one; when the
    server could not be reached at all, the rest of the batch fails with the same error at
    once instead of each waiting for its own connection to be refused.
    """

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.unreachable: BaseException | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        if self.unreachable is not None:
            raise self.unreachable
        server = parse_email_url(settings.EMAIL_URL)
        try:
            smtp: smtplib.SMTP
            if server.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=SMTP_TIMEOUT_S, context=tls_context()
                )
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_S)
        except (OSError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as error:
            self.unreachable = error
            raise
        try:
            if server.starttls:
                smtp.starttls(context=tls_context())
            if server.username:
                smtp.login(server.username, server.password)
        except BaseException:
            _quit(smtp)
            raise
        return smtp

    def send(self, email: OutgoingEmail) -> dict[str, Any]:
        """Send one email on the session's connection; raise as ``send_email`` does."""
        message = build_email(email)
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            refused = self.smtp.send_message(
                message, from_addr=settings.DEFAULT_FROM_EMAIL, to_addrs=[email.to_address]
            )
            if refused:
                raise PermanentFailure(f"recipient refused: {refused}")
        except BaseException:
            self.close()
            _raise_classified()
            raise
        return {}

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _raise_classified() -> None:
    """Inside ``except``: re-raise the SMTP error being handled as a PermanentFailure when
    retrying cannot help; return (the caller re-raises it as it is) otherwise."""
    error = sys.exc_info()[1]
    if isinstance(error, smtplib.SMTPNotSupportedError):
        # An internationalised address (RFC 6531) needs SMTPUTF8 from our relay; retrying
        # the same relay cannot help, and the desk's outbox list shows this reason.
        raise PermanentFailure(f"the mail server cannot send to this address: {error}") from error
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        return
    if (
        isinstance(error, smtplib.SMTPResponseException)
        and 500 <= error.smtp_code < 600
        and not isinstance(error, smtplib.SMTPSenderRefused)
    ):
        raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error


def smtp_answers(timeout_s: float = 5) -> bool:
    """Whether the configured SMTP server takes connections again (connect, EHLO, QUIT)."""
    server = parse_email_url(settings.EMAIL_URL)
    try:
        if server.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=timeout_s, context=tls_context()
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout_s)
        with smtp:
            return bool(200 <= smtp.ehlo()[0] < 300)
    except (OSError, smtplib.SMTPException):
        return False


def webhook_body(delivery: WebhookDelivery) -> bytes:
    document = {
        "id": delivery.pk,
        "type": delivery.event_type,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>." + body`` with the shared secret.

    Signing the timestamp with the body lets a receiver refuse replays of old deliveries.
    """
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookFailed(Exception):
    def __init__(self, message: str, *, code: int | None) -> None:
        super().__init__(message)
        self.error_fields = {"response_code": code}


class WebhookGone(PermanentFailure):
    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.error_fields = {"response_code": code}


def post_webhook(delivery: WebhookDelivery) -> dict[str, Any]:
    """POST the signed event; 2xx is success, 410 Gone stops retrying, the rest retries."""
    subscription = delivery.subscription
    body = webhook_body(delivery)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Cherish-Webhooks/1",
            "X-Cherish-Event": delivery.event_type,
            "X-Cherish-Delivery": str(delivery.pk),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            code = int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == 410:
            raise WebhookGone("410 Gone: the receiver asked us to stop", code=410) from error
        raise WebhookFailed(f"HTTP {error.code}", code=error.code) from error
    except (urllib.error.URLError, OSError) as error:
        raise WebhookFailed(f"could not connect: {error}", code=None) from error
    return {"response_code": code}
