from __future__ import annotations

import email
from email import policy

import pytest
from tests.outbox.conftest import read_eml

from cherish.intake.email.auto import automatic_reason
from cherish.intake.email.parse import UnreadableEmail, parse_email
from cherish.intake.email.quotes import strip_quotes_and_signature


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("outlook_reply.eml", "Still no refund, it has been two weeks."),
        ("german_reply.eml", "Das Problem besteht weiterhin."),
        ("koi8r.eml", "Здравствуйте!\nМоя посылка пришла разбитой, прошу вернуть деньги."),
        (
            "complaint_plain.eml",
            "Hello,\n\nmy parcel (order 4711) arrived with the lid smashed and nobody answers"
            " the phone.\nI want this sorted out this week.\n\nCarla",
        ),
    ],
    ids=["outlook-block-and-iphone", "german-schrieb", "russian-pishet", "dash-dash-signature"],
)
def test_quoted_history_and_signatures_are_stripped(db, name, text):
    parsed = parse_email(read_eml(name))
    assert parsed.text == text
    assert len(parsed.full_text) > len(parsed.text)


@pytest.mark.parametrize(
    "header",
    [
        "Le 2 sept. 2024 à 09:00, Cherish <care@example.com> a écrit :",
        "El lun, 2 sept 2024 a las 9:00, Cherish (<care@example.com>) escribió:",
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "On Mon, 2 Sep 2024 at 09:00, Cherish Care <care@example.com> wrote:",
    ],
)
def test_quote_headers_in_other_languages_cut_the_history(header):
    assert strip_quotes_and_signature(f"My answer.\n\n{header}\nold text") == "My answer."


def test_wrapped_gmail_quote_header_is_recognised():
    text = (
        "Yes please.\n\nOn Mon, 2 Sep 2024 at 09:00, Cherish Care <care@example.com>\nwrote:\n> hi"
    )
    assert strip_quotes_and_signature(text) == "Yes please."


def test_text_that_is_all_quote_keeps_the_full_text(db):
    raw = b"From: a@example.com\r\nSubject: fwd\r\n\r\n> only a quote\r\n"
    assert parse_email(raw).text == "> only a quote"


def test_html_only_mail_becomes_text_and_sanitised_html(db):
    parsed = parse_email(read_eml("html_only.eml"))
    assert (
        parsed.text == "The driver was rude and threw my parcel over the fence.\n\nPlease call me."
    )
    assert "<script" not in parsed.html and "<b>rude</b>" in parsed.html


def test_unknown_charset_falls_back_to_windows_1252_instead_of_failing(db):
    parsed = parse_email(read_eml("unknown_charset.eml"))
    assert parsed.text == "Die Lieferung ist kaputt üäö und niemand hilft."


def test_attachments_are_kept(db):
    parsed = parse_email(read_eml("with_attachment.eml"))
    (attachment,) = parsed.attachments
    assert (attachment.name, attachment.content_type) == ("damage.png", "image/png")
    assert attachment.content == b"\x89PNG fake image bytes"


def test_attachments_over_the_limit_are_named_in_the_text(db, settings):
    settings.CHERISH_MAX_ATTACHMENT_BYTES = 5
    parsed = parse_email(read_eml("with_attachment.eml"))
    assert parsed.attachments == []
    assert parsed.text == (
        "See the photo attached.\n\n"
        "[Not attached, kept in the original email: damage.png (0 MB, over the limit)]"
    )


def test_encoded_display_name_cannot_smuggle_another_address(db):
    parsed = parse_email(read_eml("header_injection.eml"))
    assert parsed.sender_email == "eve@example.com"
    assert parsed.sender_name == "Eve Bcc: victim@example.org"
    assert parsed.subject == "Broken Bcc: victim@example.org"


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"Subject: hi\r\n\r\nno sender"])
def test_mail_without_sender_is_unreadable(db, raw):
    with pytest.raises(UnreadableEmail):
        parse_email(raw)


def test_reply_ids_come_from_in_reply_to_then_references(db):
    raw = (
        b"From: a@example.com\r\nSubject: Re: x\r\nIn-Reply-To: <b@x>\r\n"
        b"References: <a@x> <b@x>\r\n\r\nok\r\n"
    )
    assert parse_email(raw).in_reply_to == ["<b@x>", "<a@x>"]


def test_case_reference_is_read_from_the_subject(db):
    raw = b"From: a@example.com\r\nSubject: Re: Your case [CH-7K2QX9]\r\n\r\nok\r\n"
    assert parse_email(raw).case_reference == "CH-7K2QX9"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: no", None),
        ("Precedence: junk", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("List-Unsubscribe: <mailto:u@example.com>", "mailing list (List-Unsubscribe)"),
        ("X-Autoreply: yes", "X-Autoreply: yes"),
        ("X-Autorespond: yes", "X-Autorespond: yes"),
        ("Content-Type: multipart/report; report-type=delivery-status", "delivery or read report"),
    ],
)
def test_automatic_mail_is_recognised(headers, expected):
    message = email.message_from_string(
        f"From: Someone <someone@example.com>\n{headers}\n\nbody", policy=policy.default
    )
    assert automatic_reason(message) == expected


def test_null_sender_and_mailer_daemon_are_automatic():
    message = email.message_from_string(
        "From: MAILER-DAEMON@example.org\n\nbody", policy=policy.default
    )
    assert automatic_reason(message) == "sent by mailer-daemon"
    person = email.message_from_string("From: p@example.org\n\nbody", policy=policy.default)
    assert automatic_reason(person, envelope_sender="") == "null envelope sender (bounce)"
    assert automatic_reason(person, envelope_sender="p@example.org") is None


def test_imap_url_is_read():
    from cherish.intake.email.imap import parse_imap_url

    box = parse_imap_url("imaps://care%40example.com:p%40ss@imap.example.com/Support%20Inbox")
    assert (box.host, box.port, box.username, box.password, box.folder, box.use_tls) == (
        "imap.example.com",
        993,
        "care@example.com",
        "p@ss",
        "Support Inbox",
        True,
    )
