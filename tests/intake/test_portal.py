from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Case, CaseEvent, Message
from cherish.cases.outgoing import case_for_token, portal_token, queue_message_email
from cherish.core.signing import make_token
from cherish.customers.actions import find_or_create_customer
from cherish.intake.models import RawContact


@pytest.fixture
def page_url(complaint):
    return f"/c/{portal_token(complaint)}/"


def test_customer_sees_status_owner_and_conversation_without_notes(
    client, complaint, agent, page_url
):
    # given
    case_actions.add_internal_note(complaint, text="SECRET: customer is difficult", by=agent)
    case_actions.reply_to_customer(complaint, text="We are sending a new parcel.", by=agent)
    # when
    response = client.get(page_url)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert complaint.reference in html
    assert '<dd id="case-owner">Alice</dd>' in html
    assert "My parcel arrived broken" in html
    assert "We are sending a new parcel." in html
    assert "SECRET" not in html
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        make_token("case", {"c": -1, "v": 0}),
        make_token("other-purpose", {"c": 1, "v": 0}),
    ],
    ids=["garbage", "no-such-case", "wrong-purpose"],
)
def test_bad_tokens_are_not_found(client, complaint, token):
    assert client.get(f"/c/{token}/").status_code == 404


def test_revoked_token_is_not_found(client, complaint, page_url):
    Case.objects.filter(pk=complaint.pk).update(portal_version=1)
    assert client.get(page_url).status_code == 404


def test_a_token_for_one_case_never_shows_another(client, complaint, agent):
    other_customer, _ = find_or_create_customer(name="Olga", email="olga@example.com")
    other, _ = case_actions.open_case(other_customer, text="Olga's private problem")
    html = client.get(f"/c/{portal_token(complaint)}/").content.decode()
    assert "Olga" not in html
    attachment_msg = case_actions.add_inbound_message(
        other,
        text="photo",
        channel="web",
        attachments=[NewAttachment("olga.png", "image/png", b"olga")],
    )
    public_id = attachment_msg.attachments.get().public_id
    assert client.get(f"/c/{portal_token(complaint)}/files/{public_id}/").status_code == 404
    assert client.get(f"/c/{portal_token(other)}/files/{public_id}/").status_code == 200


def test_attachment_download_is_forced_and_not_sniffed(client, complaint):
    message = case_actions.add_inbound_message(
        complaint,
        text="photo",
        channel="web",
        attachments=[NewAttachment("<b>x</b>.html", "text/html", b"<script>alert(1)</script>")],
    )
    public_id = message.attachments.get().public_id
    response = client.get(f"/c/{portal_token(complaint)}/files/{public_id}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_customer_reply_with_file_goes_through_intake(
    client, complaint, page_url, tasks, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            page_url + "reply/",
            {"text": "Here is the photo.", "files": [SimpleUploadedFile("lid.jpg", b"jpeg")]},
        )
    # then
    assert response.status_code == 302
    message = complaint.messages.filter(direction="in").last()
    assert message.body_text == "Here is the photo."
    assert message.attachments.get().original_name == "lid.jpg"
    raw = RawContact.objects.get()
    assert (raw.status, raw.message_id, raw.payload["source"]) == (
        "processed",
        message.pk,
        "portal",
    )
    assert tasks.names() == ["run_steps_task"]


def test_empty_reply_is_refused_and_writes_nothing(client, complaint, page_url, tasks):
    before = Message.objects.count()
    response = client.post(page_url + "reply/", {"text": "   "}, follow=True)
    assert "Write your message first." in response.content.decode()
    assert Message.objects.count() == before
    assert RawContact.objects.count() == 0
    assert tasks.names() == []


def test_solved_button_records_the_event_once(client, complaint, page_url):
    client.post(page_url + "solved/")
    client.post(page_url + "solved/")
    assert CaseEvent.objects.filter(case=complaint, type="customer.confirmed_solved").count() == 1


def test_every_outgoing_email_carries_the_case_link(complaint, agent):
    reply = case_actions.reply_to_customer(complaint, text="Your refund is on its way.", by=agent)
    email = queue_message_email(reply)
    assert email is not None
    # Tokens carry a timestamp, so compare what the link opens rather than its exact text.
    link = re.search(r"http://\S+/c/(\S+)/", email.text_body)
    assert link is not None and case_for_token(link.group(1)) == complaint
    assert email.from_name == "Alice Agent at Cherish Demo Company"
    assert email.subject == f"Your case [{complaint.reference}]"
    reply.refresh_from_db()
    assert reply.external_id == email.message_id
    assert queue_message_email(reply) == email  # once per message
