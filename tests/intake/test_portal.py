from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Case, CaseEvent, CustomerLink, Message
from cherish.cases.outgoing import (
    case_for_token,
    portal_url,
    queue_message_email,
    renew_customer_link,
)
from cherish.core.clock import now
from cherish.core.signing import make_token
from cherish.customers.actions import find_or_create_customer
from cherish.intake.models import RawContact
from cherish.outbox.models import OutgoingEmail

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{24}")


def _without_csrf(html: str) -> str:
    """The page without its CSRF tokens, which are masked afresh on every render, and the
    language switcher's way back (the address the visitor typed)."""
    return re.sub(
        r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value="|name="next" value=")[^"]+',
        r"\1",
        html,
    )


def _token(url: str) -> str:
    found = re.search(r"/c/([^/]+)/$", url)
    assert found is not None
    return found.group(1)


@pytest.fixture
def link(complaint):
    return portal_url(complaint)


@pytest.fixture
def page(client, complaint, link):
    """The customer's page, opened from the emailed link in this client's session."""
    response = client.get(link)
    assert response.status_code == 302
    return response["Location"]


def test_emailed_link_opens_the_case_and_leaves_the_address_bar(client, complaint, link):
    # when
    response = client.get(link, follow=True)
    # then: the page is at /your-case/<reference>/, with no token anywhere in it
    (redirect_to, status), *_ = response.redirect_chain
    assert (redirect_to, status) == (f"/your-case/{complaint.reference}/", 302)
    html = response.content.decode()
    assert response.status_code == 200
    assert complaint.reference in html
    assert _token(link) not in html
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "private, no-store"


def test_customer_sees_status_owner_and_conversation_without_notes(client, complaint, agent, page):
    # given
    case_actions.add_internal_note(complaint, text="SECRET: customer is difficult", by=agent)
    case_actions.reply_to_customer(complaint, text="We are sending a new parcel.", by=agent)
    # when
    response = client.get(page)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<dd id="case-owner">Alice</dd>' in html
    assert "My parcel arrived broken" in html
    assert "We are sending a new parcel." in html
    assert "SECRET" not in html


def test_link_token_is_opaque_and_carries_no_case_id(complaint, link):
    token = _token(link)
    assert TOKEN_SHAPE.fullmatch(token)
    # the first release's tokens were signed JSON holding the case id
    assert "eyJ" not in token and ":" not in token
    link_row = CustomerLink.objects.get(case=complaint)
    assert token.split(".")[0] == link_row.nonce
    # the row alone does not make a working token: the MAC needs the secret key
    assert case_for_token(link_row.nonce) is None
    assert case_for_token(link_row.nonce + ".AAAAAAAAAAAAAAAAAAAAAAAA") is None


def test_link_expires_after_the_configured_days_and_then_opens_nothing(client, complaint, settings):
    # given
    settings.CHERISH_CUSTOMER_LINK_DAYS = 7
    start = now()
    with time_machine.travel(start, tick=False):
        link = portal_url(complaint)
    # when / then: still open on day 6, expired on day 8
    with time_machine.travel(start + dt.timedelta(days=6), tick=False):
        assert client.get(link).status_code == 302
    with time_machine.travel(start + dt.timedelta(days=8), tick=False):
        response = Client().get(link)
        html = response.content.decode()
        assert response.status_code == 410
        assert "This link has expired" in html
        assert complaint.reference not in html and "Carla" not in html
        # and the session it opened earlier no longer shows the page
        assert client.get(f"/your-case/{complaint.reference}/").status_code == 403


def test_every_message_we_send_renews_the_same_link(complaint, agent, settings):
    # given: a link sent on day 0
    settings.CHERISH_CUSTOMER_LINK_DAYS = 30
    start = now()
    with time_machine.travel(start, tick=False):
        first = portal_url(complaint)
    # when: we write to the customer on day 20
    with time_machine.travel(start + dt.timedelta(days=20), tick=False):
        reply = case_actions.reply_to_customer(complaint, text="Any news?", by=agent)
        email = queue_message_email(reply)
    # then: that email carries the same link, now valid until day 50
    assert email is not None and first in email.text_body
    (row,) = CustomerLink.objects.filter(case=complaint)
    assert row.expires_at == start + dt.timedelta(days=50)
    with time_machine.travel(start + dt.timedelta(days=45), tick=False):
        assert case_for_token(_token(first)) == complaint


def test_a_message_after_expiry_sends_a_new_link_and_the_old_one_stays_dead(
    complaint, agent, settings
):
    settings.CHERISH_CUSTOMER_LINK_DAYS = 10
    start = now()
    with time_machine.travel(start, tick=False):
        old = renew_customer_link(complaint)
    with time_machine.travel(start + dt.timedelta(days=11), tick=False):
        new = renew_customer_link(complaint)
        assert new != old
        assert case_for_token(old) is None
        assert case_for_token(new) == complaint


@pytest.mark.parametrize(
    "make",
    [
        lambda case: "nonsense",
        lambda case: "A" * 22 + "." + "B" * 24,
        lambda case: make_token("case", {"c": -1, "v": 0}),
        lambda case: make_token("other-purpose", {"c": case.pk, "v": 0}),
    ],
    ids=["garbage", "forged-mac", "legacy-no-such-case", "legacy-wrong-purpose"],
)
def test_links_we_never_issued_are_not_found(client, complaint, make):
    token = make(complaint)
    assert client.get(f"/c/{token}/").status_code == 404
    assert client.post(f"/c/{token}/").status_code == 404
    assert OutgoingEmail.objects.count() == 0


def test_revoked_link_offers_a_new_one_but_opens_nothing(client, complaint, link):
    Case.objects.filter(pk=complaint.pk).update(portal_version=1)
    response = client.get(link)
    assert response.status_code == 410
    assert complaint.reference not in response.content.decode()


def test_link_of_an_erased_customer_is_not_found(client, complaint, link):
    complaint.customer.__class__.objects.filter(pk=complaint.customer_id).update(erased_at=now())
    assert client.get(link).status_code == 404


def test_old_signed_link_asks_for_a_new_one_sent_to_the_address_on_file(
    client, complaint, django_capture_on_commit_callbacks
):
    # given: a link from the first release, with the case id inside and no expiry
    old = f"/c/{make_token('case', {'c': complaint.pk, 'v': 0})}/"
    # when
    page = client.get(old)
    # then: nothing about the case, an offer instead
    html = page.content.decode()
    assert page.status_code == 410
    assert "Email me a new link" in html
    assert complaint.reference not in html and "Carla" not in html
    # when: the customer asks
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(old)
    # then: a new link goes to the address we have, and the page says only that it may
    assert "If we have an email address for this case" in sent.content.decode()
    email = OutgoingEmail.objects.get()
    assert email.to_address == "carla@example.com"
    new_link = re.search(r"http://\S+/c/\S+/", email.text_body)
    assert new_link is not None
    assert case_for_token(_token(new_link.group(0))) == complaint
    assert CaseEvent.objects.filter(case=complaint, type="customer.link_requested").count() == 1


def test_case_page_without_a_link_looks_the_same_whether_or_not_the_case_exists(client, complaint):
    real = client.get(f"/your-case/{complaint.reference}/")
    made_up = client.get("/your-case/CH-ZZZZZZ/")
    assert (real.status_code, made_up.status_code) == (403, 403)
    real_html = _without_csrf(real.content.decode())
    assert real_html.replace(complaint.reference, "CH-ZZZZZZ") == (
        _without_csrf(made_up.content.decode())
    )
    assert "My parcel arrived broken" not in real.content.decode()


def test_new_link_requests_answer_alike_and_are_limited(
    client, complaint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post("/your-case/CH-ZZZZZZ/new-link/")]
        answers += [client.post(f"/your-case/{complaint.reference}/new-link/") for _ in range(5)]
    assert {_without_csrf(a.content.decode()) for a in answers} == {
        _without_csrf(answers[0].content.decode())
    }
    # three an hour per case: the rest are answered alike but send nothing
    assert OutgoingEmail.objects.filter(to_address="carla@example.com").count() == 3


def test_asking_for_a_new_link_prolongs_no_earlier_one(
    client, complaint, settings, django_capture_on_commit_callbacks
):
    # given: a link that has leaked, 9 days into its 10
    settings.CHERISH_CUSTOMER_LINK_DAYS = 10
    start = now()
    with time_machine.travel(start, tick=False):
        leaked = renew_customer_link(complaint)
    # when: someone who knows the reference asks for a new link on day 9
    with (
        time_machine.travel(start + dt.timedelta(days=9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(f"/your-case/{complaint.reference}/new-link/")
    # then: the customer's new link works on day 11; the leaked one does not
    sent = re.search(r"http://\S+/c/\S+/", OutgoingEmail.objects.get().text_body)
    assert sent is not None
    with time_machine.travel(start + dt.timedelta(days=11), tick=False):
        assert case_for_token(leaked) is None
        assert case_for_token(_token(sent.group(0))) == complaint


def test_reply_with_a_real_photo_is_typed_by_its_content(
    client, complaint, page, tasks, django_capture_on_commit_callbacks
):
    # when: the browser declares a generic type
    upload = SimpleUploadedFile("lid.png", PNG, content_type="application/octet-stream")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page + "reply/", {"text": "Here is the photo.", "files": [upload]})
    # then
    assert (response.status_code, response["Location"]) == (302, page)
    message = complaint.messages.filter(direction="in").last()
    assert message.body_text == "Here is the photo."
    attachment = message.attachments.get()
    assert (attachment.original_name, attachment.content_type) == ("lid.png", "image/png")
    raw = RawContact.objects.get()
    assert (raw.status, raw.message_id, raw.payload["source"]) == (
        "processed",
        message.pk,
        "portal",
    )
    assert tasks.names() == ["run_steps_task"]


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("photo.png", b"MZ\x90\x00 a Windows program", "image/png"),
        ("page.html", b"<script>alert(1)</script>", "text/html"),
    ],
    ids=["program-named-png", "html"],
)
def test_reply_with_a_file_we_do_not_accept_is_refused_and_writes_nothing(
    client, complaint, page, tasks, name, content, declared
):
    before = Message.objects.count()
    upload = SimpleUploadedFile(name, content, content_type=declared)
    response = client.post(page + "reply/", {"text": "See file.", "files": [upload]}, follow=True)
    assert f"“{name}” is not a file type we accept." in response.content.decode()
    assert Message.objects.count() == before
    assert RawContact.objects.count() == 0
    assert tasks.names() == []


def test_empty_reply_is_refused_and_writes_nothing(client, complaint, page, tasks):
    before = Message.objects.count()
    response = client.post(page + "reply/", {"text": "   "}, follow=True)
    assert "Write your message first." in response.content.decode()
    assert Message.objects.count() == before
    assert RawContact.objects.count() == 0
    assert tasks.names() == []


def test_posts_without_the_session_write_nothing(complaint, link):
    stranger = Client()
    for path in ("reply/", "solved/"):
        response = stranger.post(f"/your-case/{complaint.reference}/{path}", {"text": "x"})
        assert response.status_code == 403
    assert complaint.messages.filter(direction="in").count() == 1
    assert not CaseEvent.objects.filter(case=complaint, type="customer.confirmed_solved").exists()


def test_same_origin_form_posts_pass_the_csrf_check(complaint, link):
    # given: a browser-like client that enforces CSRF, as Chromium posts the page's forms
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(link, follow=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    # when: Origin is the page's own, as Referrer-Policy: same-origin lets browsers send it
    response = browser.post(
        f"/your-case/{complaint.reference}/solved/",
        {"csrfmiddlewaretoken": token.group(1)},
        HTTP_ORIGIN="http://testserver",
    )
    # then
    assert response.status_code == 302
    assert CaseEvent.objects.filter(case=complaint, type="customer.confirmed_solved").exists()


def test_solved_button_records_the_event_once(client, complaint, page):
    client.post(page + "solved/")
    client.post(page + "solved/")
    assert CaseEvent.objects.filter(case=complaint, type="customer.confirmed_solved").count() == 1


def test_a_link_for_one_case_never_shows_another(client, complaint, page):
    other_customer, _ = find_or_create_customer(name="Olga", email="olga@example.com")
    other, _ = case_actions.open_case(other_customer, text="Olga's private problem")
    attachment_msg = case_actions.add_inbound_message(
        other,
        text="photo",
        channel="web",
        attachments=[NewAttachment("olga.png", "image/png", b"olga")],
    )
    public_id = attachment_msg.attachments.get().public_id
    assert "Olga" not in client.get(page).content.decode()
    assert client.get(f"/your-case/{other.reference}/").status_code == 403
    assert client.get(f"{page}files/{public_id}/").status_code == 404
    assert client.get(f"/your-case/{other.reference}/files/{public_id}/").status_code == 403
    client.get(portal_url(other))
    assert client.get(f"/your-case/{other.reference}/files/{public_id}/").status_code == 200


def test_attachment_download_is_forced_and_not_sniffed(client, complaint, page):
    message = case_actions.add_inbound_message(
        complaint,
        text="photo",
        channel="web",
        attachments=[NewAttachment("<b>x</b>.html", "text/html", b"<script>alert(1)</script>")],
    )
    public_id = message.attachments.get().public_id
    response = client.get(f"{page}files/{public_id}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_every_outgoing_email_carries_the_case_link(complaint, agent):
    reply = case_actions.reply_to_customer(complaint, text="Your refund is on its way.", by=agent)
    email = queue_message_email(reply)
    assert email is not None
    link = re.search(r"http://\S+/c/(\S+)/", email.text_body)
    assert link is not None and case_for_token(link.group(1)) == complaint
    assert email.from_name == "Alice Agent at Cherish Demo Company"
    assert email.subject == f"Your case [{complaint.reference}]"
    reply.refresh_from_db()
    assert reply.external_id == email.message_id
    assert queue_message_email(reply) == email  # once per message
