"""Real SMTP in, real SMTP out: smtplib talks to Cherish's listener, an aiosmtpd sink
collects what Cherish sends."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from tests.outbox.conftest import free_port, read_eml

from cherish.cases.models import Case, Message
from cherish.customers.models import Customer
from cherish.intake.models import RawContact
from cherish.outbox.models import OutgoingEmail

CARE = "care@cherish.example.com"


def send(server, raw: bytes, *, mail_from: str = "carla@example.com", to=(CARE,)) -> dict:
    host, port = server
    if b"\r\n" not in raw:  # smtplib sends bytes as they are; SMTP lines end in CRLF
        raw = raw.replace(b"\n", b"\r\n")
    with smtplib.SMTP(host, port) as smtp:
        return smtp.sendmail(mail_from, list(to), raw)


def assert_nothing_but_raw(status: str) -> RawContact:
    (raw,) = RawContact.objects.all()
    assert raw.status == status
    assert Case.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Message.objects.count() == 0
    assert OutgoingEmail.objects.count() == 0
    return raw


def test_complaint_opens_a_case_acknowledged_once_by_the_owner_and_reply_threads(
    inbound_smtp, mail_sink, tasks, ack_only, agent
):
    # when: a customer complains by email
    assert send(inbound_smtp, read_eml("complaint_plain.eml")) == {}
    # then: a case is open before the 250 came back
    case = Case.objects.get()
    first = case.messages.get()
    assert (case.channel, case.owner_id, case.subject) == ("email", agent.pk, first.subject)
    assert first.external_id == "<complaint-1@mail.example.com>"
    assert first.body_text.endswith("I want this sorted out this week.\n\nCarla")
    assert RawContact.objects.get().status == "processed"
    assert tasks.names() == ["run_steps_task"]
    # when: the follow-on work runs
    tasks.run()
    # then: exactly one acknowledgement, in the owner's name, quoting the customer
    (ack,) = mail_sink.messages()
    assert ack["From"] == "Alice Agent at Cherish Demo Company <care@cherish.example.com>"
    assert ack["To"] == "carla@example.com"
    assert f"[{case.reference}]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<complaint-1@mail.example.com>"
    assert ack["Auto-Submitted"] == "auto-replied"
    body = ack.get_body(("plain",)).get_content()
    assert "my parcel (order 4711) arrived with the lid smashed" in body
    assert "/c/" in body and "Alice Agent" in body
    assert "thank you for your inquiry" not in body.lower()
    stored = case.messages.get(direction="out")
    assert stored.is_automatic and stored.external_id == ack["Message-ID"]

    # when: the customer answers the acknowledgement, quoting it
    reply = read_eml("reply_gmail_quote.eml").replace(b"IN_REPLY_TO", ack["Message-ID"].encode())
    assert send(inbound_smtp, reply) == {}
    tasks.run()
    # then: same case, quote stripped, and no second acknowledgement
    assert Case.objects.count() == 1
    latest = case.messages.filter(direction="in").last()
    assert latest.body_text == "Thanks Alice. Here is a photo of the lid, it is really bad."
    assert len(mail_sink.messages()) == 1


def test_reference_in_subject_threads_a_new_email_into_the_case(inbound_smtp, tasks, agent):
    send(inbound_smtp, read_eml("complaint_plain.eml"))
    case = Case.objects.get()
    message = EmailMessage()
    message["From"] = "Carla Customer <carla@example.com>"
    message["To"] = CARE
    message["Subject"] = f"More about {case.reference.lower()}"
    message["Message-ID"] = "<more-1@mail.example.com>"
    message.set_content("I forgot to say: the box was wet too.")
    send(inbound_smtp, message.as_bytes())
    assert Case.objects.count() == 1
    assert case.messages.filter(direction="in").count() == 2


@pytest.mark.parametrize(
    ("name", "mail_from"),
    [
        ("auto_replied.eml", "carla@example.com"),
        ("mailing_list.eml", "bounces@shop.example.net"),
        ("bounce_dsn.eml", ""),
    ],
    ids=["auto-replied", "mailing-list", "bounce"],
)
def test_automatic_mail_opens_nothing_and_gets_no_answer(
    inbound_smtp, mail_sink, tasks, ack_only, agent, name, mail_from
):
    assert send(inbound_smtp, read_eml(name), mail_from=mail_from) == {}
    raw = assert_nothing_but_raw("ignored")
    assert raw.error.startswith("Automatic mail, not answered:")
    assert tasks.names() == []
    assert mail_sink.messages() == []


def test_malformed_mime_is_stored_shown_as_unreadable_and_accepted(
    inbound_smtp, tasks, agent, client
):
    # when
    assert send(inbound_smtp, read_eml("malformed_mime.eml")) == {}
    # then: 250 (it is safe with us), stored, nothing else written
    raw = assert_nothing_but_raw("failed")
    assert "No valid sender address" in raw.error
    assert raw.raw_size == len(read_eml("malformed_mime.eml"))
    assert tasks.names() == []
    client.force_login(agent.user)
    page = client.get("/desk/unreadable/")
    assert page.status_code == 200
    assert "No valid sender address" in page.content.decode()


def test_attachment_over_the_limit_is_dropped_with_a_note_and_kept_raw(
    inbound_smtp, tasks, agent, settings
):
    # given: a 20 MB attachment, over CHERISH_MAX_ATTACHMENT_BYTES (10 MB)
    message = EmailMessage()
    message["From"] = "Carla Customer <carla@example.com>"
    message["To"] = CARE
    message["Subject"] = "Video of the damage"
    message["Message-ID"] = "<big-1@mail.example.com>"
    message.set_content("The video shows the courier dropping the parcel.")
    message.add_attachment(
        b"\0" * (20 * 1024 * 1024), maintype="video", subtype="mp4", filename="damage.mp4"
    )
    raw_bytes = message.as_bytes()
    # when
    assert send(inbound_smtp, raw_bytes) == {}
    # then
    case = Case.objects.get()
    stored = case.messages.get()
    assert stored.attachments.count() == 0
    assert stored.body_text == (
        "The video shows the courier dropping the parcel.\n\n"
        "[Not attached, kept in the original email: damage.mp4 (20 MB, over the limit)]"
    )
    raw = RawContact.objects.get()
    assert raw.status == "processed" and raw.raw_size > 20 * 1024 * 1024


def test_message_over_the_size_limit_is_refused_with_552_and_not_stored(
    transactional_db, settings, agent
):
    from cherish.intake.email.smtp import make_controller

    settings.CHERISH_SMTP_MAX_MESSAGE_BYTES = 100_000
    port = free_port()
    controller = make_controller("127.0.0.1", port)
    controller.start()
    try:
        message = EmailMessage()
        message["From"] = "carla@example.com"
        message["To"] = CARE
        message["Subject"] = "big"
        message.set_content("x" * 200_000)
        with pytest.raises(smtplib.SMTPException) as error:
            send(("127.0.0.1", port), message.as_bytes())
        assert "552" in str(error.value)
    finally:
        controller.stop()
    assert RawContact.objects.count() == 0
    assert Case.objects.count() == 0


def test_unknown_recipient_is_refused_with_550(inbound_smtp, agent):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
        send(inbound_smtp, read_eml("complaint_plain.eml"), to=["someone@cherish.example.com"])
    assert error.value.recipients["someone@cherish.example.com"][0] == 550
    assert RawContact.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "customer_name", "text_start"),
    [
        (
            "iso2022jp.eml",
            "山田花子",
            "お世話になっております。\n注文した荷物が壊れた状態で届きました。",
        ),
        ("koi8r.eml", "Иван Петров", "Здравствуйте!\nМоя посылка пришла разбитой"),
    ],
    ids=["iso-2022-jp", "koi8-r"],
)
def test_unusual_charsets_arrive_readable(inbound_smtp, agent, name, customer_name, text_start):
    assert send(inbound_smtp, read_eml(name)) == {}
    case = Case.objects.get()
    assert case.customer.name == customer_name
    assert case.messages.get().body_text.startswith(text_start)


def test_header_injection_attempt_never_reaches_outgoing_headers(
    inbound_smtp, mail_sink, tasks, ack_only, agent
):
    # when
    assert send(inbound_smtp, read_eml("header_injection.eml"), mail_from="eve@example.com") == {}
    tasks.run()
    # then: the case is Eve's, and the acknowledgement goes to Eve only
    case = Case.objects.get()
    assert case.customer.name == "Eve Bcc: victim@example.org"
    assert case.subject == "Broken Bcc: victim@example.org"
    (received,) = mail_sink.received
    assert received["rcpt_tos"] == ["eve@example.com"]
    (ack,) = mail_sink.messages()
    assert ack["Bcc"] is None
    assert "\n" not in ack["Subject"]
    assert Customer.objects.count() == 1


def test_same_email_delivered_twice_is_stored_twice_but_added_once(inbound_smtp, tasks, agent):
    send(inbound_smtp, read_eml("complaint_plain.eml"))
    send(inbound_smtp, read_eml("complaint_plain.eml"))
    assert Message.objects.count() == 1
    assert sorted(RawContact.objects.values_list("status", flat=True)) == ["ignored", "processed"]


def test_a_database_lost_mid_way_answers_451_and_the_retry_opens_the_case(
    inbound_smtp, tasks, agent, monkeypatch
):
    # given the database connection fails after the raw mail is stored (PostgreSQL crashed)
    from django.db import OperationalError

    from cherish.intake.email import receive

    real_accept = receive.accept_contact

    def crashed(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(receive, "accept_contact", crashed)
    raw = read_eml("complaint_plain.eml")
    # when: the listener must not say 250 for mail that is not a case
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(inbound_smtp, raw)
    assert refused.value.smtp_code == 451
    assert Case.objects.count() == 0
    # and when the sender retries once the database is back
    monkeypatch.setattr(receive, "accept_contact", real_accept)
    assert send(inbound_smtp, raw) == {}
    # then one case, from the retry
    assert Case.objects.count() == 1
    assert RawContact.objects.filter(status="processed").count() == 1
