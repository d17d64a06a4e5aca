"""The public complaint page, through the real HTTP stack."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from tests.conftest import assert_events

from cherish.cases.models import Attachment, Case, CaseEvent, Message
from cherish.customers.models import ContactPoint, Customer, PossibleDuplicate
from cherish.intake.models import RawContact, RawStatus

URL = "/complain/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # Rate-limit counters live in the (locmem) cache, which outlives a test's transaction.
    cache.clear()


def valid(**changes):
    data = {
        "text": "The sofa I ordered arrived with a torn cushion and nobody replied to my email.",
        "name": "Dana Example",
        "email": "dana@example.com",
        "phone": "",
        "order_reference": "ORD-1234",
        "kind": "complaint",
        "website": "",
    }
    data.update(changes)
    return data


def counts():
    return {
        "cases": Case.objects.count(),
        "customers": Customer.objects.count(),
        "messages": Message.objects.count(),
        "raw": RawContact.objects.count(),
        "attachments": Attachment.objects.count(),
        "events": CaseEvent.objects.count(),
    }


def thanks_page(client, response):
    assert response.status_code == 302
    assert response["Location"].startswith("/complain/thanks/")
    return client.get(response["Location"])


def test_form_is_accessible_without_login(client, db):
    # when
    response = client.get(URL)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert '<label for="id_text">What happened?</label>' in html
    assert 'autocomplete="email"' in html and 'autocomplete="tel"' in html
    assert 'aria-describedby="id_text_hint"' in html
    assert 'class="honeypot"' in html and "Leave this empty" in html
    assert "make a complaint" in html and "ask a question" in html
    assert 'class="public-header"' in html and 'class="topnav"' not in html
    assert "<script>" not in html  # only script files, never inline code


def test_submit_opens_one_case_with_owner_and_thanks_with_reference(client, agent):
    # given
    before = counts()
    # when
    response = client.post(URL, valid())
    page = thanks_page(client, response)
    # then
    case = Case.objects.get()
    assert counts() == {
        **before,
        "cases": 1,
        "customers": 1,
        "messages": 1,
        "raw": 1,
        "events": 3,
    }
    assert case.owner == agent
    assert case.channel == "web" and case.kind == "complaint"
    assert case.order_reference == "ORD-1234"
    assert case.customer.name == "Dana Example"
    message = case.messages.get()
    assert message.direction == "in"
    assert message.body_text.startswith("The sofa I ordered")
    assert_events(case, ["case.opened", "message.added", "case.owner_assigned"])
    raw = RawContact.objects.get()
    assert raw.status == RawStatus.PROCESSED and raw.case_id == case.pk
    assert raw.payload["email"] == "dana@example.com"
    html = page.content.decode()
    assert page.status_code == 200
    assert case.reference in html
    assert "Alice Agent" in html
    assert "What happens next" in html


def test_customer_matched_by_email_case_insensitively(client, agent, customer):
    # when
    thanks_page(client, client.post(URL, valid(email="  CARLA@Example.COM ", name="Carla C.")))
    # then
    case = Case.objects.get()
    assert case.customer_id == customer.pk
    assert Customer.objects.count() == 1


def test_a_normalised_phone_only_suggests_the_customer(client, agent, customer):
    # when
    thanks_page(client, client.post(URL, valid(email="", phone="020 7946 0018")))
    # then a phone is weak evidence: a new record, offered to staff as a possible duplicate
    assert Case.objects.get().customer_id != customer.pk
    assert Customer.objects.count() == 2
    assert PossibleDuplicate.objects.get().reasons == ["same_phone"]


def test_phone_only_contact_is_stored_normalised(client, agent):
    thanks_page(client, client.post(URL, valid(email="", phone="(020) 7946-0999")))
    point = ContactPoint.objects.get()
    assert (point.kind, point.value) == ("phone", "+442079460999")


@pytest.mark.parametrize(
    ("choice", "kind"),
    [
        ("inquiry", "inquiry"),
        ("compliment", "compliment"),
        ("suggestion", "suggestion"),
        ("", "complaint"),
    ],
)
def test_kind_choice_is_kept(client, agent, choice, kind):
    thanks_page(client, client.post(URL, valid(kind=choice)))
    assert Case.objects.get().kind == kind


def test_attachments_are_stored_under_random_names_typed_by_content(client, agent):
    # given: a real PNG whose sender claims it is text, and a PDF
    files = [
        SimpleUploadedFile("photo of damage.png", PNG, content_type="text/plain"),
        SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"),
    ]
    # when
    thanks_page(client, client.post(URL, {**valid(), "attachments": files}))
    # then
    items = {a.original_name: a for a in Attachment.objects.all()}
    assert set(items) == {"photo of damage.png", "receipt.pdf"}
    assert items["photo of damage.png"].content_type == "image/png"
    assert items["receipt.pdf"].content_type == "application/pdf"
    for item in items.values():
        assert item.original_name not in item.file.name
        assert re.fullmatch(r"attachments/[0-9a-f]{2}/[0-9a-f]{32}\.(png|pdf)", item.file.name)
    raw = RawContact.objects.get()
    assert [a["name"] for a in raw.payload["attachments"]] == ["photo of damage.png", "receipt.pdf"]
    assert "content" not in raw.payload["attachments"][0]


def test_thank_you_page_needs_the_signed_token(client, agent):
    # given
    location = client.post(URL, valid())["Location"]
    case = Case.objects.get()
    # then: a guessable URL or a tampered token shows nothing
    assert client.get(f"/complain/thanks/{case.reference}/").status_code == 404
    assert client.get(location[:-3] + "xx/").status_code == 404


def test_markup_in_fields_is_stored_as_text_and_shown_escaped(client, agent):
    # given
    script = "<script>alert('x')</script>"
    # when
    page = thanks_page(
        client, client.post(URL, valid(text=f"Hello {script}", name=f"Eve {script}"))
    )
    # then
    case = Case.objects.get()
    assert case.messages.get().body_text == f"Hello {script}"
    assert case.customer.name == f"Eve {script}"
    html = page.content.decode()
    assert script not in html
    assert "Eve &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


# -- refusals: clear errors, nothing written --------------------------------------------


def refused(client, data, *, status=400):
    before = counts()
    response = client.post(URL, data)
    assert response.status_code == status
    assert counts() == before
    return response.content.decode()


def test_missing_contact_is_refused(client, agent):
    html = refused(client, valid(email="", phone=""))
    assert "There is a problem" in html
    assert '<a href="#id_email">Give an email address or a phone number' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_email_hint id_email_error"' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", "", "Tell us what happened."),
        ("text", "   \n  ", "Tell us what happened."),
        ("name", "", "Tell us your name."),
        ("email", "not-an-email", "Enter an email address like name@example.com."),
        ("phone", "12", "Enter a phone number we can call"),
        ("website", "http://spam.example.com", "This field must be left empty"),
    ],
)
def test_invalid_field_is_refused_with_message(client, agent, field, value, message):
    html = refused(client, valid(**{field: value}))
    assert message in html
    assert f'href="#id_{field}"' in html


def test_ten_megabyte_text_is_refused_with_clear_message(client, agent):
    # when
    html = refused(client, valid(text="a" * (10 * 1024 * 1024)))
    # then
    assert "Please shorten your message to 20,000 characters or fewer" in html
    assert "(it is 10,485,760)" in html
    assert len(html) < 100_000  # the refusal does not echo ten megabytes back


def test_oversize_attachment_is_refused(client, agent, settings):
    # given
    settings.CHERISH_MAX_ATTACHMENT_BYTES = 1024
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 2000, content_type="image/png")
    # when
    html = refused(client, {**valid(), "attachments": [big]})
    # then
    assert "“big.png” is 2.0\xa0KB; each file must be 1.0\xa0KB or smaller." in html


def test_program_renamed_as_image_is_refused(client, agent):
    fake = SimpleUploadedFile("cute-cat.png", EXE, content_type="image/png")
    html = refused(client, {**valid(), "attachments": [fake]})
    assert "“cute-cat.png” is not a file type we accept." in html


def test_too_many_attachments_are_refused(client, agent, settings):
    settings.CHERISH_MAX_ATTACHMENTS = 2
    files = [SimpleUploadedFile(f"p{i}.png", PNG, content_type="image/png") for i in range(3)]
    html = refused(client, {**valid(), "attachments": files})
    assert "Attach at most 2 files (you chose 3)." in html


def test_markup_in_every_field_is_refused_and_escaped(client, agent):
    # given
    script = '<script>alert("pwned")</script>'
    data = dict.fromkeys(("text", "name", "email", "phone", "order_reference"), script)
    data["kind"] = script
    # when
    html = refused(client, data)
    # then
    assert script not in html
    assert "&lt;script&gt;" in html
    assert "Enter an email address like name@example.com." in html


def test_rate_limit_per_address_answers_429(client, agent, settings):
    # given
    settings.CHERISH_PUBLIC_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post(URL, valid(), REMOTE_ADDR="203.0.113.9").status_code == 302
    # when
    before = counts()
    response = client.post(URL, valid(), REMOTE_ADDR="203.0.113.9")
    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "Please wait a little before sending again" in response.content.decode()
    assert counts() == before
    # another address is not affected
    assert client.post(URL, valid(), REMOTE_ADDR="203.0.113.10").status_code == 302


def test_thanks_url_name_is_reversible(db):
    assert reverse("intake:thanks", args=["abc"]) == "/complain/thanks/abc/"


def test_the_same_form_sent_again_is_one_complaint(client, agent):
    # given a complaint whose thank-you page never reached the customer
    client.post(URL, valid())
    case = Case.objects.get()
    before = counts()
    # when the customer sends the same form again
    again = client.post(URL, valid(email="DANA@example.com"))
    # then: the thank-you page of the first, and no second case (what arrived is kept, marked
    # ignored, when it was stored before it could be recognised)
    page = thanks_page(client, again).content.decode()
    assert f'id="case-reference">{case.reference}<' in page
    assert {**counts(), "raw": 0} == {**before, "raw": 0}
    assert RawContact.objects.exclude(status=RawStatus.IGNORED).count() == 1
    # while other words from the same address are a complaint of their own
    client.post(URL, valid(text="And the delivery driver was rude to my mother at the door."))
    assert Case.objects.count() == 2


def test_the_same_words_after_a_refused_first_try_are_taken(client, agent):
    # given a first try whose raw record was marked failed (it never became a case)
    client.post(URL, valid())
    RawContact.objects.update(status=RawStatus.FAILED)
    Case.objects.all().delete()
    # when sent again, then taken as new
    thanks_page(client, client.post(URL, valid()))
    assert Case.objects.count() == 1
    assert RawContact.objects.filter(status=RawStatus.PROCESSED).count() == 1


def test_a_form_sent_again_through_the_batch_applier_stores_nothing(
    client, transactional_db, agent, settings
):
    # given the queued path (outside a transaction: the intake applier stores and applies)
    settings.CHERISH_INTAKE_QUEUE = True
    client.post(URL, valid())
    case = Case.objects.get()
    # when sent again
    page = thanks_page(client, client.post(URL, valid())).content.decode()
    # then: the first's page; the second was refused inside the applier's group commit
    assert f'id="case-reference">{case.reference}<' in page
    assert (Case.objects.count(), RawContact.objects.count()) == (1, 1)
