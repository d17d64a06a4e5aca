from __future__ import annotations

from tests.conftest import login
from tests.outbox.conftest import read_eml

from cherish.cases.models import Case
from cherish.customers.models import Customer
from cherish.intake.email.receive import receive_email
from cherish.intake.models import RawContact
from cherish.outbox import actions as outbox_actions
from cherish.outbox.models import OutgoingEmail


def test_unreadable_list_shows_the_error_and_reads_again(desk_client, agent, settings):
    # given: an email without a readable sender
    outcome = receive_email(read_eml("malformed_mime.eml"))
    assert outcome.status == "failed"
    # when
    page = desk_client.get("/desk/unreadable/").content.decode()
    # then
    assert "No valid sender address" in page
    assert f"/desk/unreadable/{outcome.raw.pk}/raw/" in page
    download = desk_client.get(f"/desk/unreadable/{outcome.raw.pk}/raw/")
    assert b"".join(download.streaming_content) == read_eml("malformed_mime.eml")
    desk_client.post(f"/desk/unreadable/{outcome.raw.pk}/retry/")
    assert RawContact.objects.get().status == "failed"


def test_unreadable_list_is_for_staff_only(client, db):
    response = client.get("/desk/unreadable/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_phone_call_logged_for_existing_customer_enters_intake(
    desk_client, agent, customer, complaint
):
    # when
    response = desk_client.post(
        f"/desk/log-contact/?customer={customer.pk}",
        {
            "channel": "phone",
            "kind": "complaint",
            "customer": customer.pk,
            "text": "Called: the replacement never came.",
        },
    )
    # then
    case = Case.objects.exclude(pk=complaint.pk).get()
    assert response.status_code == 302
    assert (case.customer_id, case.channel, case.kind_set_by_staff) == (customer.pk, "phone", True)
    message = case.messages.get()
    assert (message.author_id, message.body_text) == (
        agent.pk,
        "Called: the replacement never came.",
    )
    raw = RawContact.objects.get(channel="phone")
    assert (raw.channel, raw.status, raw.payload["staff"]) == ("phone", "processed", agent.pk)
    assert Customer.objects.count() == 1


def test_logging_a_new_customer_without_any_contact_detail_is_refused(desk_client, agent):
    response = desk_client.post(
        "/desk/log-contact/",
        {"channel": "visit", "kind": "complaint", "name": "Walk-in", "text": "Rude staff."},
    )
    assert response.status_code == 200
    assert "email or phone number" in response.content.decode()
    assert Case.objects.count() == 0
    assert RawContact.objects.count() == 0


def test_task_page_shows_failed_email_with_error_and_retries_it(
    client, manager, tasks, django_capture_on_commit_callbacks
):
    desk_client = login(client, manager)  # the outbox is for managers and administrators
    email = outbox_actions.queue_email(to="x@example.com", subject="Hi", text="Hello")
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status="failed", attempts=10, last_error="attempt 10: ConnectionRefusedError"
    )
    page = desk_client.get("/desk/outbox/").content.decode()
    assert "ConnectionRefusedError" in page and "Retry now" in page
    with django_capture_on_commit_callbacks(execute=True):
        desk_client.post(f"/desk/outbox/email/{email.pk}/retry/")
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 0)
    assert tasks.names() == ["deliver_email_task"]
