"""Real IMAP in: `cherish fetchmail` talks (imaplib) to a small IMAP4rev1 server on a free port
that holds raw messages from tests/data/email, and everything goes through the one intake path."""

from __future__ import annotations

import os
import re
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tests.outbox.conftest import free_port, read_eml

from cherish.cases.models import Case, Message
from cherish.customers.models import ContactPoint, Customer
from cherish.intake.models import RawContact

USER = "care@example.com"
PASSWORD = "s3cret pass"  # a space, so it has to travel quoted


# --- a minimal IMAP4rev1 server: exactly what imaplib needs for cherish.intake.email.imap ---


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class FakeImapServer:
    """One mailbox folder over plain IMAP on 127.0.0.1. ``drop_on`` names a command (such as
    "UID STORE") at which the server hangs up once, as a crashing server or network would."""

    def __init__(self, username: str = USER, password: str = PASSWORD) -> None:
        self.username = username
        self.password = password
        self.folder = "INBOX"
        self.mails: list[StoredMail] = []
        self.commands: list[str] = []
        self.drop_on: str | None = None
        self.reverse_search = False
        self.lock = threading.Lock()
        self._next_uid = 1
        self._server = _ThreadingServer(("127.0.0.1", 0), _ImapHandler)
        self._server.imap = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, username: str = USER, password: str = PASSWORD) -> str:
        quote = {"@": "%40", " ": "%20", "\\": "%5C", ":": "%3A"}
        user = "".join(quote.get(c, c) for c in username)
        secret = "".join(quote.get(c, c) for c in password)
        return f"imap://{user}:{secret}@127.0.0.1:{self.port}/{self.folder}"

    def add(self, raw: bytes, *flags: str) -> int:
        """Deliver a message (IMAP lines end in CRLF); returns its UID."""
        if b"\r\n" not in raw:
            raw = raw.replace(b"\n", b"\r\n")
        with self.lock:
            uid = self._next_uid
            self._next_uid += 1
            self.mails.append(StoredMail(uid, raw, set(flags)))
        return uid

    def flags(self) -> dict[int, set[str]]:
        with self.lock:
            return {mail.uid: set(mail.flags) for mail in self.mails}


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    imap: FakeImapServer


class _Hangup(Exception):
    pass


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\((?:[^()]|\([^()]*\))*\))|(\S+)')


def _words(text: str) -> list[str]:
    """Quoted strings (unescaped), parenthesised lists (kept whole) and atoms."""
    words = []
    for quoted, listed, atom in _TOKEN.findall(text):
        if quoted or (not listed and not atom):
            words.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            words.append(listed or atom)
    return words


class _ImapHandler(socketserver.StreamRequestHandler):
    server: _ThreadingServer

    def handle(self) -> None:
        self.imap = self.server.imap
        self.state = "NONAUTH"
        self.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Fake IMAP ready")
        try:
            while line := self.rfile.readline():
                tag, _, rest = line.rstrip(b"\r\n").decode().partition(" ")
                words = _words(rest)
                if not words:
                    self.send(f"{tag} BAD Empty command".encode())
                    continue
                command, args = words[0].upper(), words[1:]
                if command == "UID" and args:
                    command, args = f"UID {args[0].upper()}", args[1:]
                with self.imap.lock:
                    self.imap.commands.append(f"{command} {' '.join(args)}".strip())
                    if self.imap.drop_on == command:
                        self.imap.drop_on = None
                        return
                if self.dispatch(tag, command, args) == "LOGOUT":
                    return
        except (_Hangup, ConnectionError):
            return

    def send(self, data: bytes) -> None:
        self.wfile.write(data + b"\r\n")

    def dispatch(self, tag: str, command: str, args: list[str]) -> str:
        needs = {"SELECT": "AUTH", "UID SEARCH": "SELECTED", "UID FETCH": "SELECTED"}
        needs |= {"UID STORE": "SELECTED", "EXPUNGE": "SELECTED"}
        order = ["NONAUTH", "AUTH", "SELECTED"]
        if command in needs and order.index(self.state) < order.index(needs[command]):
            self.send(f"{tag} BAD {command} not allowed now".encode())
            return command
        if command == "CAPABILITY":
            self.send(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN")
        elif command == "NOOP":
            pass
        elif command == "LOGOUT":
            self.send(b"* BYE Logging out")
        elif command == "LOGIN":
            if args != [self.imap.username, self.imap.password]:
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials".encode())
                return command
            self.state = "AUTH"
        elif command == "SELECT":
            if args != [self.imap.folder]:
                self.send(f"{tag} NO [NONEXISTENT] No such mailbox".encode())
                return command
            with self.imap.lock:
                count, uidnext = len(self.imap.mails), self.imap._next_uid
            self.send(b"* FLAGS (\\Seen \\Deleted)")
            self.send(f"* {count} EXISTS".encode())
            self.send(b"* 0 RECENT")
            self.send(b"* OK [UIDVALIDITY 1] UIDs valid")
            self.send(f"* OK [UIDNEXT {uidnext}] Predicted next UID".encode())
            self.state = "SELECTED"
            self.send(f"{tag} OK [READ-WRITE] SELECT completed".encode())
            return command
        elif command == "UID SEARCH":
            if args not in (["UNSEEN"], ["ALL"]):
                self.send(f"{tag} BAD Only UNSEEN and ALL are searched here".encode())
                return command
            with self.imap.lock:
                uids = [
                    str(m.uid)
                    for m in self.imap.mails
                    if args == ["ALL"] or "\\Seen" not in m.flags
                ]
            if self.imap.reverse_search:  # RFC 3501 promises no order
                uids.reverse()
            self.send(" ".join(["* SEARCH", *uids]).encode())
        elif command == "UID FETCH":
            if len(args) != 2 or args[1].upper() not in ("(BODY.PEEK[])", "(BODY[])", "(RFC822)"):
                self.send(f"{tag} BAD Only BODY.PEEK[], BODY[] and RFC822 are fetched".encode())
                return command
            item = args[1].upper().strip("()")
            for seq, mail in self.select(args[0]):
                if item != "BODY.PEEK[]":  # fetching without PEEK marks the message seen
                    mail.flags.add("\\Seen")
                name = "RFC822" if item == "RFC822" else "BODY[]"
                head = f"* {seq} FETCH (UID {mail.uid} {name} {{{len(mail.raw)}}}"
                self.wfile.write(head.encode() + b"\r\n" + mail.raw + b")\r\n")
        elif command == "UID STORE":
            if len(args) != 3 or args[1].upper() != "+FLAGS":
                self.send(f"{tag} BAD Only +FLAGS is stored".encode())
                return command
            new = set(args[2].strip("()").split())
            for seq, mail in self.select(args[0]):
                mail.flags |= new
                flags = " ".join(sorted(mail.flags))
                self.send(f"* {seq} FETCH (UID {mail.uid} FLAGS ({flags}))".encode())
        elif command == "EXPUNGE":
            with self.imap.lock:
                mails = self.imap.mails
                for seq in range(len(mails), 0, -1):
                    if "\\Deleted" in mails[seq - 1].flags:
                        del mails[seq - 1]
                        self.send(f"* {seq} EXPUNGE".encode())
        else:
            self.send(f"{tag} BAD Unknown command {command}".encode())
            return command
        self.send(f"{tag} OK {command} completed".encode())
        return command

    def select(self, uid_set: str) -> list[tuple[int, StoredMail]]:
        wanted = {int(uid) for uid in uid_set.split(",")}
        with self.imap.lock:
            return [(i, m) for i, m in enumerate(self.imap.mails, 1) if m.uid in wanted]


@pytest.fixture
def imap(transactional_db: Any, settings: Any) -> Iterator[FakeImapServer]:
    """A running IMAP server whose URL is CHERISH_IMAP_URL; fetchmail writes to the database
    outside any test transaction, as in production."""
    server = FakeImapServer()
    server.start()
    settings.CHERISH_IMAP_URL = server.url()
    yield server
    server.stop()


def fetchmail(*args: str) -> str:
    out = StringIO()
    call_command("fetchmail", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def complaint_from(address: str, name: str, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = "care@cherish.example.com"
    message["Subject"] = "Wrong size delivered"
    message["Message-ID"] = message_id
    message.set_content("You sent me shoes in size 38, I ordered 42.")
    return message.as_bytes()


def assert_nothing_imported() -> None:
    assert RawContact.objects.count() == 0
    assert Case.objects.count() == 0
    assert Message.objects.count() == 0


# --- tests ---


def test_poll_opens_a_case_per_new_complaint_through_the_intake_path(
    imap, agent, customer, tasks, ack_only
):
    # given: two complaints, one from a known customer, and one message read long ago
    carla = imap.add(read_eml("complaint_plain.eml"))
    dan = imap.add(complaint_from("dan@example.com", "Dan Doe", "<dan-1@mail.example.com>"))
    old = imap.add(complaint_from("old@example.com", "Old Mail", "<old-1@example.com>"), "\\Seen")
    # when
    output = fetchmail()
    # then: one case each, stored raw first, the known customer matched
    assert output == "Fetched 2 message(s): 2 processed"
    assert list(RawContact.objects.values_list("channel", "status")) == [("email", "processed")] * 2
    carla_case = Case.objects.get(customer=customer)
    assert (carla_case.channel, carla_case.owner_id) == ("email", agent.pk)
    assert carla_case.subject == "My parcel arrived broken"
    first = carla_case.messages.get()
    assert first.external_id == "<complaint-1@mail.example.com>"
    assert first.body_text.endswith("I want this sorted out this week.\n\nCarla")
    dan_case = Case.objects.exclude(pk=carla_case.pk).get()
    assert dan_case.customer.name == "Dan Doe"
    assert ContactPoint.objects.get(value="dan@example.com").customer_id == dan_case.customer_id
    assert Customer.objects.count() == 2
    assert tasks.names() == ["run_steps_task", "run_steps_task"]
    # and: fetched without marking them read, flagged \Seen only once processed
    fetches = [c for c in imap.commands if c.startswith("UID FETCH")]
    assert fetches == [f"UID FETCH {carla} (BODY.PEEK[])", f"UID FETCH {dan} (BODY.PEEK[])"]
    assert imap.flags() == {carla: {"\\Seen"}, dan: {"\\Seen"}, old: {"\\Seen"}}
    assert imap.commands[-1] == "LOGOUT"


def test_second_poll_imports_nothing_twice(imap, agent):
    # given: a poll that imported a complaint
    imap.add(read_eml("complaint_plain.eml"))
    assert fetchmail() == "Fetched 1 message(s): 1 processed"
    # when: the next poll runs
    output = fetchmail()
    # then: nothing new is stored or opened
    assert output == "Fetched 0 message(s)"
    assert RawContact.objects.count() == 1
    assert Case.objects.count() == 1
    assert Message.objects.count() == 1


def test_auto_reply_in_the_mailbox_opens_nothing(imap, agent, tasks):
    # given
    uid = imap.add(read_eml("auto_replied.eml"))
    # when
    output = fetchmail()
    # then: kept raw as ignored, no case or customer, and not fetched again
    assert output == "Fetched 1 message(s): 1 ignored"
    raw = RawContact.objects.get()
    assert raw.status == "ignored"
    assert raw.error.startswith("Automatic mail, not answered:")
    assert Case.objects.count() == 0
    assert Customer.objects.count() == 0
    assert tasks.names() == []
    assert imap.flags() == {uid: {"\\Seen"}}


def test_reply_to_the_acknowledgement_threads_into_its_case(
    imap, mail_sink, tasks, ack_only, agent
):
    # given: a complaint polled and acknowledged by email
    imap.add(read_eml("complaint_plain.eml"))
    fetchmail()
    case = Case.objects.get()
    tasks.run()
    (ack,) = mail_sink.messages()
    # when: the customer's answer to the acknowledgement lands in the mailbox
    reply = read_eml("reply_gmail_quote.eml").replace(b"IN_REPLY_TO", ack["Message-ID"].encode())
    imap.add(reply)
    output = fetchmail()
    tasks.run()
    # then: same case, quote stripped, and no second acknowledgement
    assert output == "Fetched 1 message(s): 1 processed"
    assert Case.objects.count() == 1
    latest = case.messages.filter(direction="in").last()
    assert latest.body_text == "Thanks Alice. Here is a photo of the lid, it is really bad."
    assert len(mail_sink.messages()) == 1


def test_complaint_and_its_follow_up_in_one_poll_are_read_in_arrival_order(imap, agent):
    # given: a complaint and a follow-up naming it, and a server that lists UIDs newest first
    imap.reverse_search = True
    imap.add(read_eml("complaint_plain.eml"))
    follow_up = read_eml("reply_gmail_quote.eml").replace(
        b"IN_REPLY_TO", b"<complaint-1@mail.example.com>"
    )
    imap.add(follow_up)
    # when
    fetchmail()
    # then: the follow-up joins the case the complaint opened
    case = Case.objects.get()
    assert list(case.messages.values_list("external_id", flat=True)) == [
        "<complaint-1@mail.example.com>",
        "<complaint-1-reply@mail.example.com>",
    ]


def test_connection_lost_before_flagging_fetches_again_without_a_duplicate(imap, agent):
    # given: a server that hangs up when asked to flag the message
    uid = imap.add(read_eml("complaint_plain.eml"))
    imap.drop_on = "UID STORE"
    # when
    with pytest.raises(CommandError, match=r"^IMAP UID STORE failed: "):
        fetchmail()
    # then: the case is open, the message still unseen
    assert Case.objects.count() == 1
    assert imap.flags() == {uid: set()}
    # when: the next poll reads it again
    output = fetchmail()
    # then: recognised as the same email, flagged now
    assert output == "Fetched 1 message(s): 1 duplicate"
    assert Message.objects.count() == 1
    assert list(RawContact.objects.order_by("pk").values_list("status", flat=True)) == [
        "processed",
        "ignored",
    ]
    assert imap.flags() == {uid: {"\\Seen"}}


def test_delete_option_removes_fetched_mail_from_the_server(imap, agent):
    imap.add(read_eml("complaint_plain.eml"))
    imap.add(read_eml("auto_replied.eml"))
    output = fetchmail("--delete")
    assert output == "Fetched 2 message(s): 1 ignored, 1 processed"
    assert imap.flags() == {}
    assert "EXPUNGE" in imap.commands
    assert Case.objects.count() == 1


def test_wrong_password_is_a_clear_error_and_imports_nothing(imap, agent, settings):
    # given
    uid = imap.add(read_eml("complaint_plain.eml"))
    settings.CHERISH_IMAP_URL = imap.url(password="guessed")
    # when / then
    with pytest.raises(CommandError) as error:
        fetchmail()
    assert str(error.value) == (
        f"IMAP login as 'care@example.com' on 127.0.0.1:{imap.port} failed: "
        "[AUTHENTICATIONFAILED] Invalid credentials"
    )
    assert_nothing_imported()
    assert imap.flags() == {uid: set()}
    assert not any(c.startswith(("SELECT", "UID")) for c in imap.commands)


def test_unknown_folder_is_a_clear_error(imap, agent):
    imap.add(read_eml("complaint_plain.eml"))
    with pytest.raises(CommandError, match=r"^Cannot open the IMAP folder 'Support': "):
        fetchmail("--url", imap.url().replace("/INBOX", "/Support"))
    assert_nothing_imported()


def test_user_name_with_backslash_and_space_logs_in(transactional_db, agent):
    # given: an Exchange-style user name, which is only valid IMAP when quoted
    server = FakeImapServer(username="CORP\\care desk", password="pw")
    server.start()
    try:
        server.add(read_eml("complaint_plain.eml"))
        # when
        output = fetchmail("--url", server.url("CORP\\care desk", "pw"))
    finally:
        server.stop()
    # then
    assert output == "Fetched 1 message(s): 1 processed"


def test_server_down_is_a_clear_error(transactional_db, agent, settings):
    # given: nothing listens on the port
    port = free_port()
    settings.CHERISH_IMAP_URL = f"imap://{USER}:pw@127.0.0.1:{port}/INBOX"
    # when / then
    with pytest.raises(CommandError, match=rf"^Cannot reach the IMAP server 127.0.0.1:{port}: "):
        fetchmail()
    assert_nothing_imported()


def test_server_down_ends_the_cherish_command_with_status_1_and_no_traceback(tmp_path):
    # given: the command as cron would run it, configured through the environment
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cherish.settings",
        "CHERISH_DATA_DIR": str(tmp_path),
        "CHERISH_IMAP_URL": f"imap://{USER}:pw@127.0.0.1:{port}/INBOX",
    }
    root = Path(__file__).resolve().parents[2]
    # when
    done = subprocess.run(
        [sys.executable, "-m", "cherish.cli", "fetchmail"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert done.returncode == 1
    assert f"CommandError: Cannot reach the IMAP server 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
