"""Real mail parts for channel tests: an SMTP sink that collects what Cherish sends, the
inbound listener on a free port, and a runner for the tasks tests enqueued."""

from __future__ import annotations

import email
import logging
import socket
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import TestCase
from django_tasks.signals import task_enqueued

from cherish.core.clock import now

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    """A real SMTP server that keeps every message it accepts. stop() / start() simulate an
    outage on the same port."""

    def __init__(self, *, smtputf8: bool = True) -> None:
        self.port = free_port()
        # Relays that advertise SMTPUTF8 take internationalised addresses (RFC 6531).
        self.smtputf8 = smtputf8
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "content": envelope.original_content or envelope.content,
                }
            )
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(item["content"], policy=policy.default)  # type: ignore[misc]
                for item in self.received
            ]


@pytest.fixture
def mail_sink(settings: Any) -> Iterator[MailSink]:
    sink = MailSink()
    sink.start()
    settings.EMAIL_URL = sink.url
    yield sink
    sink.stop()


class TaskQueue:
    """Every task enqueued from any thread, in order; run() calls the due ones' bodies."""

    def __init__(self) -> None:
        self.pending: list[Any] = []
        self.lock = threading.Lock()

    def receive(self, sender: Any, task_result: Any, **kwargs: Any) -> None:
        with self.lock:
            self.pending.append(task_result)

    def names(self) -> list[str]:
        with self.lock:
            return [result.task.name for result in self.pending]

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()

    def run(self, *, include_future: bool = True, limit: int = 1000) -> list[Any]:
        """Run queued tasks (and those they queue) until none is left; returns the values."""
        values = []
        for _ in range(limit):
            with self.lock:
                due = [
                    r
                    for r in self.pending
                    if include_future or r.task.run_after is None or r.task.run_after <= now()
                ]
                if not due:
                    break
                result = due[0]
                self.pending.remove(result)
            values.append(self.call(result.task, *result.args, **result.kwargs))
        return values

    @staticmethod
    def call(task: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a task body as a worker would: what it enqueues on commit is enqueued (the
        test's own transaction would otherwise hold those callbacks back)."""
        with TestCase.captureOnCommitCallbacks(execute=True):
            return task.call(*args, **kwargs)


@pytest.fixture
def tasks() -> Iterator[TaskQueue]:
    queue = TaskQueue()
    task_enqueued.connect(queue.receive, weak=False)
    yield queue
    task_enqueued.disconnect(queue.receive)


@pytest.fixture
def ack_only(settings: Any) -> None:
    """Follow-on steps limited to the acknowledgement, so kind and timing are the test's."""
    settings.CHERISH_INTAKE_FOLLOW_ON = ["cherish.care.tasks.respond_to_contact_task"]


@pytest.fixture
def inbound_smtp(transactional_db: Any, settings: Any) -> Iterator[tuple[str, int]]:
    """Cherish's own inbound listener on a free port; its thread writes to the database."""
    from cherish.intake.email.smtp import make_controller

    port = free_port()
    controller = make_controller("127.0.0.1", port)
    controller.start()
    yield ("127.0.0.1", port)
    controller.stop()


def read_eml(name: str) -> bytes:
    from pathlib import Path

    return (Path(__file__).parent.parent / "data" / "email" / name).read_bytes()


class WebhookReceiver:
    """A subscriber's HTTP endpoint on a free local port: answers ``status`` (200 unless a
    test changes it) and keeps each request's headers and body, in order."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet: a line per request on stderr would bury the tests' output."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()
