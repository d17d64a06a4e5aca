"""A worker killed after the mail server accepted an email, before the database said "sent".

A real ``cherish worker`` sends a complaint's acknowledgement to a real SMTP server. The
server answers the final DATA dot with 250 and, in the same breath, a writer takes the
database's write lock, as intake does under load: the worker's "sent" has to wait, and the
worker is killed while it waits. Before the sent-journal, its row stayed ``sending``, the
lease ran out, the sweeper queued it again, and the customer got the same email twice.

The other direction must hold as firmly: an email the server never accepted (the worker
killed while the server was still reading it) is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from tests.core import processes
from tests.outbox.conftest import MailSink
from tests.outbox.test_outbox_actions import queue

from cherish.core.clock import now
from cherish.intake.actions import Contact, accept_contact
from cherish.outbox import actions, journal
from cherish.outbox.models import DeliveryStatus, OutgoingEmail
from cherish.outbox.retry import claim
from cherish.outbox.tasks import EMAIL_POLICY, deliver_email_task

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@contextlib.contextmanager
def writer_holding_the_database(name: str) -> Iterator[None]:
    """Another writer holds SQLite's write lock as long as the block runs, as intake does."""
    holder = sqlite3.connect(name, timeout=30, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


class WindowSink(MailSink):
    """A real SMTP server that lets the test act at the moment of the first email's answer.

    ``accept_first``: the first email is kept and, before its 250 goes out, another writer
    takes the database (released by ``release``). Otherwise the first email is held unanswered
    until ``release`` and then refused with 451, as a server that went away would leave it:
    it was never accepted. Every later email is kept and answered 250.
    """

    def __init__(self, *, accept_first: bool) -> None:
        super().__init__()
        self.accept_first = accept_first
        self.first_seen = threading.Event()
        self.released = threading.Event()
        self.holding: contextlib.ExitStack | None = None
        self.database = str(connection.settings_dict["NAME"])

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.first_seen.is_set():
            return await super().handle_DATA(server, session, envelope)
        self.first_seen.set()
        if self.accept_first:
            self.holding = contextlib.ExitStack()
            self.holding.enter_context(writer_holding_the_database(self.database))
            return await super().handle_DATA(server, session, envelope)
        while not self.released.is_set():
            await asyncio.sleep(0.05)
        return "451 4.3.0 Try again later"

    def release(self) -> None:
        self.released.set()
        if self.holding is not None:
            self.holding.close()
            self.holding = None

    def copies(self, message_id: str) -> int:
        return sum(1 for m in self.messages() if m["Message-ID"] == message_id)


@pytest.fixture
def window_sink(request: Any, settings: Any) -> Iterator[WindowSink]:
    if request.param and connection.vendor != "sqlite":
        # The window this pins open is SQLite's one write lock, which intake holds; on
        # PostgreSQL the worker's "sent" waits for no other writer. The journal's own rules
        # are tested below on both.
        pytest.skip("the write lock that widened the window is SQLite's")
    sink = WindowSink(accept_first=request.param)
    sink.start()
    settings.EMAIL_URL = sink.url
    settings.TASKS = DB_TASKS
    yield sink
    sink.release()
    sink.stop()


@pytest.mark.slow
@pytest.mark.parametrize(
    "window_sink",
    [pytest.param(True, id="accepted-then-killed"), pytest.param(False, id="killed-unaccepted")],
    indirect=True,
)
def test_a_worker_killed_at_the_window_sends_an_accepted_email_once_and_an_unaccepted_again(
    transactional_db: Any, agent: Any, window_sink: WindowSink, tmp_path: Path
) -> None:
    # given a complaint whose acknowledgement a real worker process is sending
    env = processes.cherish_env(tmp_path, EMAIL_URL=window_sink.url, TASK_LEASE_S="2")
    case = accept_contact(
        Contact(
            channel="web",
            text="The kettle you sold me leaks from the base. I want it replaced.",
            name="Ada Moss",
            email="ada@example.com",
        )
    ).case
    worker = processes.start(["worker", "--interval", "0.1"], env, tmp_path / "w1.log")
    second: Any = None
    try:
        processes.wait_for(
            window_sink.first_seen.is_set, timeout=120, what="the acknowledgement's DATA"
        )
        (email,) = OutgoingEmail.objects.filter(case_pk=case.pk)
        # when the worker is killed: after the 250, waiting for the database to record
        # "sent" (accepted), or while the server still reads the email (not accepted)
        threading.Event().wait(1.0)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        window_sink.release()
        email.refresh_from_db()
        assert email.status == DeliveryStatus.SENDING
        assert window_sink.copies(email.message_id) == int(window_sink.accept_first)

        # then once its lease lapses the sweeper and a new worker take it up
        second = processes.start(["worker", "--interval", "0.1"], env, tmp_path / "w2.log")
        processes.wait_for(
            lambda: (
                processes.run(["sweep", "-v", "0"], env) is not None
                and OutgoingEmail.objects.filter(pk=email.pk, status=DeliveryStatus.SENT).exists()
            ),
            timeout=120,
            every=1,
            what="the acknowledgement to be recorded sent",
        )
        # one more sweep, and a moment for a second copy to turn up if one were coming
        processes.run(["sweep", "-v", "0"], env)
        threading.Event().wait(2.0)
    finally:
        if second is not None:
            assert processes.stop(second) == 0
        processes.stop(worker)

    # an accepted email is not sent again; the one the server never accepted is, once
    assert window_sink.copies(email.message_id) == 1


def test_a_row_claimed_again_that_the_journal_names_is_recorded_sent_not_sent_again(
    db: Any, mail_sink: Any, tasks: Any
) -> None:
    # given a worker that claimed an email, had it accepted and died before recording it
    (email,) = queue()
    assert claim(OutgoingEmail, email.pk, EMAIL_POLICY) is not None
    assert journal.record([journal.key(email)])
    # when its lease runs out and a queued task takes it up
    with time_machine.travel(now() + dt.timedelta(minutes=6), tick=False):
        assert tasks.call(deliver_email_task, email.pk) == "sent"
    # then
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)
    assert mail_sink.messages() == []


def test_the_sweeper_records_a_lapsed_row_the_journal_names_as_sent(
    db: Any, mail_sink: Any, tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given two emails a dead worker held: one accepted by the server, one not
    accepted, unaccepted = queue(2)
    for email in (accepted, unaccepted):
        assert claim(OutgoingEmail, email.pk, EMAIL_POLICY) is not None
    journal.record([journal.key(accepted)])
    tasks.clear()
    # when the sweeper runs after their leases lapsed
    with time_machine.travel(now() + dt.timedelta(minutes=6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            counts = actions.sweep_outbox()
        assert (counts["emails_accepted_before"], counts["emails"]) == (1, 1)
        assert tasks.run() == ["sent"]
    # then the accepted one is recorded sent without a second copy; the other is sent
    accepted.refresh_from_db()
    unaccepted.refresh_from_db()
    assert (accepted.status, unaccepted.status) == ("sent", "sent")
    assert [m["Message-ID"] for m in mail_sink.messages()] == [unaccepted.message_id]


def test_only_an_accepted_email_enters_the_journal(db: Any, mail_sink: Any, tasks: Any) -> None:
    # given one email the server is down for and one it takes
    down, up = queue(2)
    mail_sink.stop()
    assert tasks.call(deliver_email_task, down.pk) == "pending"
    mail_sink.start()
    assert tasks.call(deliver_email_task, up.pk) == "sent"
    # then
    assert journal.accepted([journal.key(down), journal.key(up)]) == {journal.key(up)}


def test_a_journal_that_cannot_be_written_leaves_delivery_as_it_was(
    db: Any, mail_sink: Any, tasks: Any, settings: Any, tmp_path: Path
) -> None:
    # given a data directory the journal cannot be created in
    settings.DATA_DIR = tmp_path / "missing" / "dir"
    (email,) = queue()
    # when
    assert tasks.call(deliver_email_task, email.pk) == "sent"
    # then the email went out once and is recorded; asking the journal finds nothing
    email.refresh_from_db()
    assert email.status == "sent"
    assert len(mail_sink.messages()) == 1
    assert journal.accepted([journal.key(email)]) == set()
