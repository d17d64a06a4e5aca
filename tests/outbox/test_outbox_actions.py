from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from cherish.core.clock import now
from cherish.outbox import actions
from cherish.outbox.models import DeliveryStatus, OutgoingEmail
from cherish.outbox.tasks import deliver_email_task


def queue(n: int = 1, **overrides):
    emails = []
    for i in range(n):
        fields = {
            "to": f"customer{i}@example.com",
            "subject": "About your parcel",
            "text": f"Hello number {i}",
            "case_reference": "CH-ABCDEF",
            **overrides,
        }
        emails.append(actions.queue_email(**fields))
    return emails


def test_queue_email_enqueues_delivery_only_after_commit(
    db, tasks, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        (email,) = queue()
    # then
    assert tasks.names() == ["deliver_email_task"]
    assert email.status == DeliveryStatus.PENDING
    assert email.subject == "About your parcel [CH-ABCDEF]"
    assert email.message_id.startswith("<") and email.message_id.endswith("@cherish.example.com>")


def test_rolled_back_caller_leaves_no_email_and_no_task(transactional_db, tasks):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the action failed")
    assert OutgoingEmail.objects.count() == 0
    assert tasks.names() == []


def test_delivery_sends_text_and_html_with_threading_headers(db, mail_sink, tasks):
    # given
    (email,) = queue(
        html="<p>Hello</p>",
        from_name="Alice Agent at Cherish Demo Company",
        in_reply_to="<customer-1@example.com>",
        references=["<customer-1@example.com>"],
    )
    # when
    assert tasks.call(deliver_email_task, email.pk) == "sent"
    # then
    (sent,) = mail_sink.messages()
    assert sent["Message-ID"] == email.message_id
    assert sent["In-Reply-To"] == "<customer-1@example.com>"
    assert sent["References"] == "<customer-1@example.com>"
    assert sent["Subject"] == "About your parcel [CH-ABCDEF]"
    assert sent["From"] == "Alice Agent at Cherish Demo Company <care@cherish.example.com>"
    assert [p.get_content_type() for p in sent.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "")


def test_second_run_of_a_sent_email_sends_nothing(db, mail_sink, tasks):
    (email,) = queue()
    tasks.call(deliver_email_task, email.pk)
    assert tasks.call(deliver_email_task, email.pk) == "skipped"
    assert len(mail_sink.messages()) == 1


def test_header_injection_in_name_and_subject_never_reaches_headers(db, mail_sink, tasks):
    # given: values a customer could have typed into a form or an email header
    (email,) = queue(
        subject="Broken\r\nBcc: victim@example.org",
        from_name="Eve\nBcc: victim@example.org",
    )
    # when
    tasks.call(deliver_email_task, email.pk)
    # then
    (received,) = mail_sink.received
    assert received["rcpt_tos"] == ["customer0@example.com"]
    (sent,) = mail_sink.messages()
    assert sent["Bcc"] is None
    assert sent["Subject"] == "Broken Bcc: victim@example.org [CH-ABCDEF]"
    assert "\n" not in sent["From"]


def test_recipient_with_line_breaks_is_refused(db, tasks):
    with pytest.raises(actions.OutboxError) as error:
        queue(to="customer@example.com\r\nCc: victim@example.org")
    assert error.value.code == "invalid_recipient"
    assert OutgoingEmail.objects.count() == 0
    assert tasks.names() == []


def test_failed_delivery_is_recorded_and_retried_with_backoff(db, settings, tasks):
    # given: nothing listens on the mail port
    from tests.outbox.conftest import free_port

    settings.EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    (email,) = queue()
    tasks.clear()
    # when
    with time_machine.travel(now(), tick=False):
        assert tasks.call(deliver_email_task, email.pk) == "pending"
        started = now()
    # then
    email.refresh_from_db()
    assert email.status == DeliveryStatus.PENDING
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    assert email.next_attempt_at == started + dt.timedelta(seconds=60)
    (retry,) = tasks.pending
    assert retry.task.name == "deliver_email_task"
    assert retry.task.run_after == email.next_attempt_at


def test_email_fails_for_good_after_the_last_attempt(db, settings, tasks):
    from tests.outbox.conftest import free_port

    settings.EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    (email,) = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(attempts=9)
    tasks.clear()
    assert tasks.call(deliver_email_task, email.pk) == "failed"
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 10)
    assert tasks.names() == []


def test_outage_then_recovery_delivers_every_email_exactly_once(
    db, mail_sink, tasks, django_capture_on_commit_callbacks
):
    # given: three emails go out while the mail server is up
    with django_capture_on_commit_callbacks(execute=True):
        queue(3)
    assert tasks.run() == ["sent"] * 3
    # when: the server goes down while more emails are queued and tried
    mail_sink.stop()
    with django_capture_on_commit_callbacks(execute=True):
        down = [e.pk for e in queue(4, subject="While the server was down")]
    assert tasks.run(include_future=False) == ["pending"] * 4
    rows = OutgoingEmail.objects.filter(pk__in=down)
    assert sorted(rows.values_list("status", "attempts")) == [("pending", 1)] * 4
    assert len(tasks.pending) == 4  # each retry is scheduled for later
    # the server comes back, but say the scheduled retries were lost with the task queue
    mail_sink.start()
    lost = list(tasks.pending)
    tasks.clear()
    with time_machine.travel(now() + dt.timedelta(hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert actions.sweep_outbox() == {
                "emails_accepted_before": 0,
                "emails": 4,
                "webhooks_accepted_before": 0,
                "webhooks": 0,
                "emails_pulled_forward": 0,
            }
            # a second sweeper right after enqueues nothing more
            assert actions.sweep_outbox() == {
                "emails_accepted_before": 0,
                "emails": 0,
                "webhooks_accepted_before": 0,
                "webhooks": 0,
                "emails_pulled_forward": 0,
            }
        assert tasks.run() == ["sent"] * 4
        # and the lost retries turning up after all send nothing twice
        assert [tasks.call(r.task, *r.args) for r in lost] == ["skipped"] * 4
    # then
    ids = [m["Message-ID"] for m in mail_sink.messages()]
    assert len(ids) == 7
    assert set(ids) == set(OutgoingEmail.objects.values_list("message_id", flat=True))
    assert OutgoingEmail.objects.filter(status="sent").count() == 7


def test_a_sweeps_task_lost_after_all_is_replaced_one_grace_period_later(
    db, mail_sink, tasks, django_capture_on_commit_callbacks
):
    # given: an email whose worker vanished mid-send, and a sweep whose task is then lost
    # too (its process killed between its commit and the enqueue)
    (email,) = queue()
    from cherish.outbox.retry import claim
    from cherish.outbox.tasks import EMAIL_POLICY

    assert claim(OutgoingEmail, email.pk, EMAIL_POLICY) is not None
    tasks.clear()
    swept_at = now() + dt.timedelta(minutes=6)
    with (
        time_machine.travel(swept_at, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert actions.sweep_outbox()["emails"] == 1
    tasks.clear()
    # when: sweeps run within the grace period, then just after it
    with (
        time_machine.travel(swept_at + actions.SWEEP_GRACE / 2, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert actions.sweep_outbox()["emails"] == 0
    with time_machine.travel(swept_at + actions.SWEEP_GRACE + dt.timedelta(seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert actions.sweep_outbox()["emails"] == 1
        # then: the email goes out, once
        assert tasks.run() == ["sent"]
    assert len(mail_sink.messages()) == 1
    email.refresh_from_db()
    assert email.status == "sent"


def test_worker_that_died_mid_send_is_taken_over_after_its_lease(
    db, mail_sink, tasks, django_capture_on_commit_callbacks
):
    # given: a worker claimed the email and vanished
    (email,) = queue()
    from cherish.outbox.retry import claim
    from cherish.outbox.tasks import EMAIL_POLICY

    assert claim(OutgoingEmail, email.pk, EMAIL_POLICY) is not None
    tasks.clear()
    assert tasks.call(deliver_email_task, email.pk) == "skipped"
    # when: the lease runs out and the sweeper runs
    with time_machine.travel(now() + dt.timedelta(minutes=6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert actions.sweep_outbox() == {
                "emails_accepted_before": 0,
                "emails": 1,
                "webhooks_accepted_before": 0,
                "webhooks": 0,
                "emails_pulled_forward": 0,
            }
            # a second sweep before the task ran queues no second task for it
            assert actions.sweep_outbox()["emails"] == 0
        assert tasks.run() == ["sent"]
    # then
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)
    assert len(mail_sink.messages()) == 1


def test_retry_now_resets_a_failed_email(db, tasks, django_capture_on_commit_callbacks):
    (email,) = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status="failed", attempts=10, last_error="attempt 10: boom"
    )
    tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.retry_email_now(email)
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("pending", 0, "attempt 10: boom")
    assert tasks.names() == ["deliver_email_task"]


def test_retry_now_refused_for_a_sent_email(db, tasks):
    (email,) = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(status="sent")
    tasks.clear()
    with pytest.raises(actions.OutboxError) as error:
        actions.retry_email_now(email)
    assert error.value.code == "already_sent"
    assert OutgoingEmail.objects.get(pk=email.pk).status == "sent"
    assert tasks.names() == []


def test_render_template_fills_only_plain_placeholders(db):
    from cherish.outbox.models import MessageTemplate

    MessageTemplate.objects.create(
        key="t.test", subject="Hi {name}", body="{name} {name.__class__} {unknown} {0}"
    )
    subject, body = actions.render_template("t.test", {"name": "{customer_name}"})
    assert subject == "Hi {customer_name}"
    assert body == "{customer_name} {name.__class__} {unknown} {0}"


def test_acknowledgement_templates_are_seeded(db):
    from cherish.outbox.models import MessageTemplate

    keys = set(MessageTemplate.objects.filter(key__startswith="ack.").values_list("key", flat=True))
    assert keys == {"ack.complaint", "ack.inquiry", "ack.compliment", "ack.suggestion"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:1025", ("127.0.0.1", 1025, "", "", False, False)),
        (
            "smtp+tls://u%40x:pw@mail.example.com",
            ("mail.example.com", 587, "u@x", "pw", True, False),
        ),
        ("smtps://mail.example.com", ("mail.example.com", 465, "", "", False, True)),
    ],
)
def test_email_url_is_read(url, expected):
    from cherish.outbox.delivery import parse_email_url

    server = parse_email_url(url)
    assert (
        server.host,
        server.port,
        server.username,
        server.password,
        server.starttls,
        server.implicit_tls,
    ) == expected


def test_sweep_sends_backed_off_emails_as_soon_as_the_mail_server_answers(
    db, mail_sink, tasks, django_capture_on_commit_callbacks
):
    # given emails whose first attempt met a mail server that was down
    mail_sink.stop()
    emails = queue(3)
    tasks.clear()
    for email in emails:
        assert tasks.call(deliver_email_task, email.pk) == "pending"
    tasks.clear()
    # and that kept failing until their next try is a quarter of an hour away
    OutgoingEmail.objects.update(attempts=4, next_attempt_at=now() + dt.timedelta(minutes=15))
    # when the sweeper runs while the server is still down, nothing is pulled forward
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.sweep_outbox()["emails_pulled_forward"] == 0
    assert tasks.names() == []
    # when the server is back, the next sweep makes them all due at once
    mail_sink.start()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.sweep_outbox()["emails_pulled_forward"] == 3
    # then they go out now, not at the end of their backoff, each exactly once
    assert tasks.run(include_future=False) == ["sent"] * 3
    assert sorted(m["To"] for m in mail_sink.messages()) == [e.to_address for e in emails]


def test_sweep_does_not_pull_forward_mail_the_server_refused(db, mail_sink, tasks, settings):
    # given an email refused for a reason other than an outage (here: no such user, retried)
    (email,) = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        attempts=1,
        next_attempt_at=now() + dt.timedelta(minutes=30),
        last_error="attempt 1: SMTPDataError: (451, b'try later')",
    )
    # when / then: the server answers, but this email keeps its backoff
    assert actions.sweep_outbox()["emails_pulled_forward"] == 0
