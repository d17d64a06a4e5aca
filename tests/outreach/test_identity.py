import io
import json
import zipfile

from django.core import serializers
from django.urls import reverse
from tests.conftest import login

from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Attachment, Case, CaseEvent, Message
from cherish.core.clock import now
from cherish.customers.actions import add_important_date, find_or_create_customer
from cherish.customers.models import ContactPoint, Customer, CustomerEvent, Transaction
from cherish.outreach import identity


def make_twin(name="Carla Custmer", email="carla+shop@example.com"):
    twin, _ = find_or_create_customer(name=name, email=email)
    return twin


def test_duplicates_found_by_mailbox_and_similar_name(customer):
    # given
    twin = make_twin()
    find_or_create_customer(name="Zed Unrelated", email="zed@example.com")
    # when
    pairs = identity.find_duplicates()
    # then
    assert len(pairs) == 1
    assert {pairs[0].first.pk, pairs[0].second.pk} == {customer.pk, twin.pk}
    assert "same email address" in pairs[0].reasons
    assert "similar name" in pairs[0].reasons


def test_merge_moves_everything_and_unmerge_restores_it(customer, complaint, agent, txn):
    # given
    twin = make_twin()
    twin_case, _ = case_actions.open_case(twin, text="Where is my refund?", channel="email")
    txn(twin, "T-1", now())
    add_important_date(twin, kind="birthday", date=now().date(), by=agent)
    twin_points = set(ContactPoint.objects.filter(customer=twin).values_list("pk", flat=True))
    # when
    event = identity.merge_customers(customer, twin, by=agent)
    # then
    twin.refresh_from_db()
    assert twin.merged_into_id == customer.pk
    assert Case.objects.get(pk=twin_case.pk).customer_id == customer.pk
    assert not CaseEvent.objects.filter(customer=twin).exists()
    assert Transaction.objects.get(external_id="T-1").customer_id == customer.pk
    assert ContactPoint.objects.filter(customer=customer, pk__in=twin_points).count() == 1
    assert customer.important_dates.count() == 1
    assert event.type == "customer.merged"
    assert CustomerEvent.objects.filter(customer=twin, type="customer.merged_into").exists()
    # when: undone from the event history
    identity.unmerge_customers(event, by=agent)
    # then
    twin.refresh_from_db()
    assert twin.merged_into_id is None
    assert Case.objects.get(pk=twin_case.pk).customer_id == twin.pk
    assert Case.objects.get(pk=complaint.pk).customer_id == customer.pk
    assert Transaction.objects.get(external_id="T-1").customer_id == twin.pk
    assert (
        set(ContactPoint.objects.filter(customer=twin).values_list("pk", flat=True)) == twin_points
    )
    assert CaseEvent.objects.filter(case=twin_case).exclude(customer=twin).count() == 0
    assert CustomerEvent.objects.filter(type="customer.unmerged").count() == 2


def test_merge_and_unmerge_through_desk(client, manager, customer, complaint):
    # given a manager at the desk (merging needs a lead or a manager; the twin has no case
    # yet, so only someone who sees every customer finds it)
    desk_client = login(client, manager)
    twin = make_twin()
    # when
    response = desk_client.post(
        reverse("outreach:merge"), {"survivor": customer.pk, "duplicate": twin.pk}
    )
    # then
    assert response.status_code == 302
    assert Customer.objects.get(pk=twin.pk).merged_into_id == customer.pk
    page = desk_client.get(reverse("outreach:customer", args=[customer.pk]))
    assert b"Undo merge" in page.content
    event = CustomerEvent.objects.get(type="customer.merged")
    desk_client.post(reverse("outreach:unmerge", args=[customer.pk, event.pk]))
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None
    # and a second undo is refused without changes
    desk_client.post(reverse("outreach:unmerge", args=[customer.pk, event.pk]))
    assert CustomerEvent.objects.filter(type="customer.unmerged").count() == 2


def test_merge_into_itself_refused(customer, agent):
    import pytest

    from cherish.outreach.errors import OutreachError

    with pytest.raises(OutreachError):
        identity.merge_customers(customer, customer, by=agent)
    assert not CustomerEvent.objects.filter(type="customer.merged").exists()


def _customer_with_attachment(customer, agent):
    case, _ = case_actions.open_case(
        customer,
        text="My name is Carla and my card 4242 was charged twice.",
        channel="email",
        subject="Charged twice, Carla here",
        attachments=[NewAttachment("receipt.pdf", "application/pdf", b"%PDF carla receipt")],
    )
    case_actions.reply_to_customer(case, text="Sorry Carla, refunding now.", by=agent)
    return case


def test_export_is_a_zip_with_json_and_attachments(client, customer, agent, manager):
    # given
    _customer_with_attachment(customer, agent)
    desk_client = login(client, manager)
    # when
    response = desk_client.post(reverse("outreach:export", args=[customer.pk]))
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data = json.loads(archive.read("customer.json"))
    assert data["customer"]["name"] == "Carla Customer"
    assert data["cases"][0]["messages"][0]["body_text"].startswith("My name is Carla")
    [attachment] = [n for n in archive.namelist() if n.startswith("attachments/")]
    assert archive.read(attachment) == b"%PDF carla receipt"
    assert CustomerEvent.objects.filter(customer=customer, type="customer.exported").count() == 1


def test_erase_leaves_nothing_personal_and_keeps_counts(
    client, customer, agent, lead, django_capture_on_commit_callbacks
):
    # given
    case = _customer_with_attachment(customer, agent)
    desk_client = login(client, lead)
    attachment = Attachment.objects.get()
    path = attachment.file.path
    counts_before = (Case.objects.count(), Message.objects.count(), CaseEvent.objects.count())
    kinds_before = list(Case.objects.values_list("kind", "stage", "is_open", "created_at"))
    # when
    with django_capture_on_commit_callbacks(execute=True):  # files go when it commits
        response = desk_client.post(
            reverse("outreach:erase", args=[customer.pk]), {"confirm": "ERASE"}
        )
    # then
    assert response.status_code == 302
    dump = serializers.serialize(
        "json",
        [
            *Customer.objects.all(),
            *ContactPoint.objects.all(),
            *Case.objects.all(),
            *Message.objects.all(),
            *CaseEvent.objects.all(),
            *CustomerEvent.objects.all(),
        ],
    )
    for secret in ("Carla", "carla@example.com", "+442079460018", "4242", "receipt"):
        assert secret not in dump, secret
    assert not Attachment.objects.exists()
    import os

    assert not os.path.exists(path)
    assert (
        Case.objects.count(),
        Message.objects.count(),
        CaseEvent.objects.count(),
    ) == counts_before
    assert list(Case.objects.values_list("kind", "stage", "is_open", "created_at")) == kinds_before
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.opted_out
    assert CustomerEvent.objects.filter(customer=customer, type="customer.erased").count() == 1
    assert case.pk


def test_erase_needs_typed_confirmation(client, complaint, customer, lead):
    desk_client = login(client, lead)
    desk_client.post(reverse("outreach:erase", args=[customer.pk]), {"confirm": "yes"})
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert customer.name == "Carla Customer"
