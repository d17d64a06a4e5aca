"""Every message of a corpus of real-world mail, written by others, through the real SMTP
listener: each one becomes a case, a threaded reply, or a quarantined raw message with the
reason staff see. Where the messages come from: tests/data/email/corpus/*/SOURCE.md.

The corpus is delivered once, in file order, to one mailbox (as a real inbox receives it: a
later copy of an earlier message is a duplicate of it). A module fixture records what each
message became, then empties the database; each parametrised test checks one message's
record against EXPECTED.tsv, a reviewed list, and needs no database of its own (pytest-django
runs such tests last, so the flush cannot take seeded rows from tests that run later).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from tests.outbox.conftest import free_port

from cherish.core.emailaddress import normalise_address
from cherish.intake.email.smtp import make_controller
from cherish.intake.models import RawContact
from cherish.staff.actions import create_staff
from cherish.staff.models import AssignmentRule, Team

CORPUS = Path(__file__).parent.parent / "data" / "email" / "corpus"
CARE = "care@cherish.example.com"
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_MAIL = {"SOURCE.md", "LICENSE.txt", "NOTICE.txt", "EXPECTED.tsv"}
MESSAGES = sorted(
    str(path.relative_to(CORPUS))
    for path in CORPUS.rglob("*")
    if path.is_file() and path.name not in NOT_MAIL
)


@dataclass(frozen=True)
class Outcome:
    status: str  # case | reply | ignored | failed | received (never processed)
    reason: str
    linked: bool  # the raw record points at a case and a message
    text: str = ""
    stored: tuple[str, ...] = ()  # every text the message wrote to the case and customer
    has_email: bool = False


def _expected() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (CORPUS / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, outcome, *reason = line.split("\t")
        rows[name] = (outcome, reason[0] if reason else "")
    return rows


EXPECTED = _expected()


def _envelope_sender(raw: bytes) -> str:
    """MAIL FROM as the last relay saw it: the Return-Path it recorded, else the From."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for name in ("Return-Path", "From"):
        found = re.search(rf"^{name}:[ \t]*(.*)$", head, re.IGNORECASE | re.MULTILINE)
        if found is None:
            continue
        if name == "Return-Path" and found.group(1).strip() == "<>":
            return ""
        for _, address in getaddresses([found.group(1)]):
            if normalise_address(address):
                return address
    return "unknown-sender@example.net"


def _deliver(port: int, raw: bytes) -> None:
    # An MTA hands on CRLF lines; some fixtures are stored with bare LF.
    raw = re.sub(rb"(?<!\r)\n", b"\r\n", raw)
    mail_from = _envelope_sender(raw)
    options = ["SMTPUTF8", "BODY=8BITMIME"] if not mail_from.isascii() else ["BODY=8BITMIME"]
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        assert smtp.sendmail(mail_from, [CARE], raw, mail_options=options) == {}


def _outcome(raw: RawContact) -> Outcome:
    linked = raw.case is not None and raw.message is not None
    if raw.status != "processed" or raw.case is None or raw.message is None:
        return Outcome(raw.status, raw.error, linked)
    message = raw.message
    customer = raw.case.customer
    first = raw.case.messages.order_by("created_at", "id").first()
    stored = [message.body_text, message.subject, customer.name, raw.case.subject]
    stored += [point.value for point in customer.contact_points.all()]
    stored += [attachment.original_name for attachment in message.attachments.all()]
    return Outcome(
        "case" if first == message else "reply",
        raw.error,
        linked,
        text=message.body_text,
        stored=tuple(stored),
        has_email=customer.contact_points.filter(kind="email").exists(),
    )


@pytest.fixture(scope="module")
def outcomes(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Outcome]]:
    with django_db_blocker.unblock():
        team = Team.objects.create(name="Customer Care")
        create_staff(
            username="alice",
            password="x",
            display_name="Alice Agent",
            email="a@example.com",
            team=team,
        )
        AssignmentRule.objects.create(kind="complaint", team=team)
        port = free_port()
        controller = make_controller("127.0.0.1", port)
        controller.start()
        try:
            found: dict[str, Outcome] = {}
            for name in MESSAGES:
                _deliver(port, (CORPUS / name).read_bytes())
                raw = RawContact.objects.select_related("case__customer", "message").latest("pk")
                found[name] = _outcome(raw)
            yield found
        finally:
            controller.stop()
            # This module shares one database across its tests; leave it empty behind.
            call_command("flush", interactive=False, verbosity=0)


# The one test here that uses the database directly: its marker also makes pytest-django
# create the test database when this module runs alone.
@pytest.mark.django_db
def test_expected_outcomes_list_every_corpus_message_and_nothing_else():
    assert sorted(EXPECTED) == MESSAGES


@pytest.mark.parametrize("name", MESSAGES)
def test_message_becomes_a_case_a_reply_or_is_quarantined_with_its_reason(outcomes, name):
    outcome = outcomes[name]
    expected_status, expected_reason = EXPECTED[name]
    assert (outcome.status, outcome.reason[: len(expected_reason)]) == (
        expected_status,
        expected_reason,
    )
    if outcome.status in ("case", "reply"):
        assert outcome.linked
        # Lone surrogates (undecoded bytes) are what made PostgreSQL and SQLite refuse rows.
        assert [value for value in outcome.stored if _SURROGATE.search(value)] == []
        assert outcome.text.strip()
        assert outcome.has_email
    else:
        assert outcome.status in ("ignored", "failed"), "never left unprocessed"
        assert not outcome.linked
        assert outcome.reason.strip()
