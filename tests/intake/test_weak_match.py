"""Defect 5 of issue #9, through the public page: a phone number another customer also has
must not hand that customer's record, name or mailbox to a new complainant."""

from __future__ import annotations

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from tests.conftest import login

from cherish.care.acknowledgement import send_acknowledgement
from cherish.cases.models import Attachment, Case
from cherish.customers.models import Customer, CustomerEvent, PossibleDuplicate
from cherish.outbox.models import OutgoingEmail

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _complain(client, **fields):
    cache.clear()
    data = {
        "text": "My washing machine floods the kitchen every time it spins.",
        "name": "Nina Newcomer",
        "email": "nina@example.com",
        "phone": "",
        "order_reference": "",
        "kind": "complaint",
        "website": "",
    }
    data.update(fields)
    response = client.post("/complain/", data)
    assert response.status_code == 302, response.content
    return client.get(response["Location"])


def test_a_shared_phone_gives_the_newcomer_her_own_record_page_and_mail(client, agent, customer):
    # given Carla, known by email and phone (+44 20 7946 0018)
    carla_points = set(customer.contact_points.values_list("kind", "value"))

    # when a newcomer sends a complaint with a new email, Carla's phone and a photo
    page = _complain(
        client,
        phone="020 7946 0018",
        attachments=[SimpleUploadedFile("flood.png", PNG, content_type="image/png")],
    )

    # then the thank-you page greets her, not Carla
    html = page.content.decode()
    assert "Thank you, Nina Newcomer." in html
    assert "Carla" not in html
    # and the case, the new email and the photo are on a new record, not Carla's
    case = Case.objects.get()
    nina = case.customer
    assert nina.pk != customer.pk and nina.name == "Nina Newcomer"
    assert set(nina.contact_points.values_list("kind", "value")) == {("email", "nina@example.com")}
    assert set(customer.contact_points.values_list("kind", "value")) == carla_points
    assert Attachment.objects.get().message.case.customer_id == nina.pk
    assert not Case.objects.filter(customer=customer).exists()
    assert not CustomerEvent.objects.filter(customer=customer).exists()
    # and the acknowledgement quoting her complaint goes to her address only
    send_acknowledgement(case.messages.get().pk)
    email = OutgoingEmail.objects.get()
    assert email.to_address == "nina@example.com"
    assert "Dear Nina Newcomer," in email.text_body and "Carla" not in email.text_body
    # and staff are offered the pair to review
    pair = PossibleDuplicate.objects.get()
    assert (pair.first_id, pair.second_id, pair.reasons) == (customer.pk, nina.pk, ["same_phone"])


def test_a_known_email_with_another_name_is_not_greeted_with_the_record_name(
    client, agent, customer
):
    # when someone types Carla's address under another name
    page = _complain(client, name="Mallory", email="carla@example.com")

    # then the page shows only what the visitor typed; the mail goes to Carla's own address
    html = page.content.decode()
    assert "Thank you, Mallory." in html
    assert "Carla" not in html
    case = Case.objects.get()
    assert case.customer_id == customer.pk
    send_acknowledgement(case.messages.get().pk)
    assert list(OutgoingEmail.objects.values_list("to_address", flat=True)) == ["carla@example.com"]


def test_a_phone_only_contact_starts_its_own_record(client, agent, customer):
    # when a visitor gives only Carla's phone number
    _complain(client, email="", phone="+44 20 7946 0018", name="Carl")

    # then nothing of Carla's is touched and nobody is mailed
    case = Case.objects.get()
    assert case.customer_id != customer.pk
    assert Customer.objects.count() == 2
    assert send_acknowledgement(case.messages.get().pk) is None
    assert not OutgoingEmail.objects.exists()
    assert PossibleDuplicate.objects.filter(status="open").count() == 1


def test_staff_review_the_pair_agents_dismiss_leads_merge(client, agent, lead, customer, complaint):
    # given a newcomer who shares Carla's phone (both have a case of the agent's team: staff
    # see the customers of their team's cases)
    _complain(client, phone="020 7946 0018")
    nina = Customer.objects.exclude(pk=customer.pk).get()
    desk = login(client, agent)

    # when an agent looks at the review list
    page = desk.get(reverse("outreach:duplicates")).content.decode()

    # then the pair is there with why, and the agent may not merge
    assert "a contact gave this phone number" in page
    assert "Different people" in page and "Keep " not in page
    desk.post(reverse("outreach:merge"), {"survivor": customer.pk, "duplicate": nina.pk})
    nina.refresh_from_db()
    assert nina.merged_into_id is None
    assert not CustomerEvent.objects.filter(type="customer.merged").exists()

    # when a lead merges them
    desk = login(client, lead)
    response = desk.post(reverse("outreach:merge"), {"survivor": customer.pk, "duplicate": nina.pk})

    # then the merge happens and the pair is closed as merged
    assert response.status_code == 302
    nina.refresh_from_db()
    assert nina.merged_into_id == customer.pk
    assert PossibleDuplicate.objects.get().status == "merged"
    assert (
        "a contact gave this phone number"
        not in desk.get(reverse("outreach:duplicates")).content.decode()
    )


def test_a_dismissed_pair_is_not_offered_again(client, agent, customer, complaint):
    # given a newcomer who shares Carla's phone
    _complain(client, phone="020 7946 0018")
    nina = Customer.objects.exclude(pk=customer.pk).get()
    desk = login(client, agent)

    # when the agent says they are different people
    desk.post(
        reverse("outreach:dismiss-duplicate"), {"survivor": customer.pk, "duplicate": nina.pk}
    )

    # then the pair is closed, logged on both, and a new contact does not reopen it
    assert PossibleDuplicate.objects.get().status == "dismissed"
    assert CustomerEvent.objects.filter(type="customer.duplicate_dismissed").count() == 2
    client.logout()
    _complain(client, phone="020 7946 0018")
    assert PossibleDuplicate.objects.get().status == "dismissed"
    page = login(client, agent).get(reverse("outreach:duplicates")).content.decode()
    assert "Nina Newcomer" not in page
