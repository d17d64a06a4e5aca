"""Mail that was accepted with 250 must become a case (or be quarantined with a reason): raw
8-bit headers, internationalised addresses, re-used Message-IDs. Real SMTP in and out."""

from __future__ import annotations

import smtplib

import pytest
from tests.outbox.conftest import MailSink

from cherish.cases.models import Case, Message
from cherish.customers.models import ContactPoint
from cherish.intake.actions import mark_raw_failed, store_raw
from cherish.intake.email.receive import process_raw_email
from cherish.intake.models import RawContact
from cherish.outbox.models import OutgoingEmail

CARE = "care@cherish.example.com"


def _mail(
    *,
    sender: str = "Carla Customer <carla@example.com>",
    subject: str = "Broken parcel",
    body: str = "The parcel arrived smashed.",
    message_id: str = "<m-1@mail.example.com>",
    extra: str = "",
    content_type: str = "text/plain; charset=utf-8",
    encoding: str = "utf-8",
) -> bytes:
    return (
        f"{extra}From: {sender}\r\nTo: {CARE}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    ).encode(encoding)


def _send(server, raw: bytes, *, mail_from: str = "carla@example.com") -> dict:
    host, port = server
    options = ["SMTPUTF8", "BODY=8BITMIME"] if not mail_from.isascii() else ["BODY=8BITMIME"]
    with smtplib.SMTP(host, port) as smtp:
        return smtp.sendmail(mail_from, [CARE], raw, mail_options=options)


@pytest.mark.parametrize(
    ("raw", "name", "subject", "text"),
    [
        (
            # RFC 6532: UTF-8 straight in the headers, as modern mail programs send it.
            _mail(sender="Jürgen Müller <juergen@example.de>", subject="Größe falsch"),
            "Jürgen Müller",
            "Größe falsch",
            "The parcel arrived smashed.",
        ),
        (
            # An old mail program: Latin-1 bytes in the headers, the charset declared only
            # for the body.
            _mail(
                sender="Jürgen Müller <juergen@example.de>",
                subject="Größe falsch",
                body="Die Größe stimmt nicht.",
                content_type="text/plain; charset=iso-8859-1",
                encoding="latin-1",
            ),
            "Jürgen Müller",
            "Größe falsch",
            "Die Größe stimmt nicht.",
        ),
        (
            # Windows-1252 declared nowhere (the body says us-ascii): curly quotes, euro sign.
            _mail(
                sender="“Zoë” <zoe@example.fr>",
                subject="Remboursement de 20 €",
                body="Où est mon remboursement de 20 € ?",
                content_type="text/plain; charset=us-ascii",
                encoding="cp1252",
            ),
            "“Zoë”",
            "Remboursement de 20 €",
            "Où est mon remboursement de 20 € ?",
        ),
    ],
    ids=["utf-8-rfc6532", "latin-1-declared-for-body", "windows-1252-undeclared"],
)
def test_raw_8bit_headers_are_decoded_and_open_a_case(
    inbound_smtp, tasks, agent, raw, name, subject, text
):
    # when
    assert _send(inbound_smtp, raw) == {}
    # then
    case = Case.objects.get()
    message = case.messages.get()
    assert (case.customer.name, case.subject, message.subject) == (name, subject, subject)
    assert message.body_text == text
    assert RawContact.objects.get().status == "processed"
    assert tasks.names() == ["run_steps_task"]


def test_a_stored_email_that_failed_on_8bit_headers_is_read_on_retry(transactional_db, agent):
    # given: a mail stored and marked failed, as the old parser left it
    raw_bytes = _mail(sender="Jürgen Müller <juergen@example.de>")
    raw = store_raw("email", raw_bytes=raw_bytes, sender="juergen@example.de")
    mark_raw_failed(raw, "UnicodeEncodeError: surrogates not allowed")
    # when: staff press "try again" (the desk calls process_raw_email)
    outcome = process_raw_email(RawContact.objects.get(pk=raw.pk))
    # then
    assert outcome.status == "processed"
    raw.refresh_from_db()
    assert (raw.status, raw.error) == ("processed", "")
    assert raw.case.customer.name == "Jürgen Müller"


def test_internationalised_address_opens_a_case_and_is_acknowledged_over_smtputf8(
    inbound_smtp, mail_sink, tasks, ack_only, agent
):
    # when: EAI mail (RFC 6531), SMTPUTF8 in the envelope as the listener advertises it
    raw = _mail(sender="José Núñez <josé@exämple.es>", message_id="<eai-1@exämple.es>")
    assert _send(inbound_smtp, raw, mail_from="josé@exämple.es") == {}
    # then: a case for that address, not a quarantined raw message
    case = Case.objects.get()
    assert case.customer.name == "José Núñez"
    assert list(
        ContactPoint.objects.filter(customer=case.customer).values_list("kind", "value")
    ) == [("email", "josé@exämple.es")]
    # and: the acknowledgement reaches that address
    tasks.run()
    (received,) = mail_sink.received
    assert received["rcpt_tos"] == ["josé@exämple.es"]
    (ack,) = mail_sink.messages()
    assert ack["To"] == "josé@exämple.es"
    assert OutgoingEmail.objects.get().status == "sent"


def test_acknowledgement_to_an_internationalised_address_fails_plainly_without_smtputf8(
    inbound_smtp, tasks, ack_only, agent, settings
):
    # given: a relay that does not offer SMTPUTF8
    relay = MailSink(smtputf8=False)
    relay.start()
    settings.EMAIL_URL = relay.url
    try:
        _send(inbound_smtp, _mail(sender="josé@exämple.es"), mail_from="josé@exämple.es")
        # when
        tasks.run()
    finally:
        relay.stop()
    # then: a permanent failure staff can read, not endless retries
    email = OutgoingEmail.objects.get()
    assert email.status == "failed"
    assert email.last_error.startswith(
        "attempt 1: PermanentFailure: the mail server cannot send to this address: "
    )
    assert "SMTPUTF8" in email.last_error
    assert relay.received == []


def test_same_message_id_from_another_sender_is_not_dropped(inbound_smtp, tasks, agent):
    # given
    _send(inbound_smtp, _mail(body="My parcel is late.", message_id="<same@id>"))
    # when: a stranger's software reuses the Message-ID
    other = _mail(
        sender="Dan Other <dan@example.org>", body="My invoice is wrong.", message_id="<same@id>"
    )
    assert _send(inbound_smtp, other, mail_from="dan@example.org") == {}
    # then: both are cases, each for its own customer
    assert sorted(Case.objects.values_list("customer__name", flat=True)) == [
        "Carla Customer",
        "Dan Other",
    ]
    assert list(RawContact.objects.order_by("pk").values_list("status", flat=True)) == [
        "processed",
        "processed",
    ]


def test_same_message_id_and_sender_with_new_text_is_not_dropped(inbound_smtp, tasks, agent):
    _send(inbound_smtp, _mail(body="My parcel is late.", message_id="<same@id>"))
    _send(inbound_smtp, _mail(body="And now it is lost.", message_id="<same@id>"))
    assert sorted(Message.objects.values_list("body_text", flat=True)) == [
        "And now it is lost.",
        "My parcel is late.",
    ]


def test_a_relayed_copy_of_the_same_message_is_a_duplicate(inbound_smtp, tasks, agent):
    # given
    first = _mail(body="My parcel is late.\r\nPlease help.")
    _send(inbound_smtp, first)
    # when: the same message again through another relay (a Received header added, lines
    # re-wrapped with trailing spaces)
    again = _mail(
        body="My parcel is late.  \r\nPlease help.",
        extra="Received: from relay.example.net by mx.example.com; Mon, 2 Sep 2024 09:00\r\n",
    )
    assert _send(inbound_smtp, again) == {}
    # then
    assert Message.objects.count() == 1
    first_raw, second_raw = RawContact.objects.order_by("pk")
    assert (first_raw.status, second_raw.status) == ("processed", "ignored")
    assert second_raw.error == (
        f"Duplicate of an email already received (<m-1@mail.example.com>, raw #{first_raw.pk})"
    )
    assert tasks.names() == ["run_steps_task"]
