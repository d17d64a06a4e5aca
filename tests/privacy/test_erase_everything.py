"""The one eraser (#9.7): after an erasure no column of any model holds the customer's words,
name, email or phone; files go only when the erasure commits."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction
from django.test import Client
from tests.api.conftest import post_json
from tests.conftest import integration_api, login

from cherish import privacy
from cherish.care import actions as care_actions
from cherish.cases import actions as case_actions
from cherish.cases.models import Attachment, Case, CaseEvent, Message
from cherish.core.clock import now
from cherish.customers.actions import TransactionRow, upsert_transactions
from cherish.customers.models import Customer
from cherish.feedback import actions as feedback_actions
from cherish.feedback.models import Measure, Question, Survey
from cherish.outbox.models import OutgoingEmail, WebhookSubscription
from cherish.staff.models import Staff
from cherish.staff.principal import KeyScope
from cherish.triage.models import TriageRecord
from cherish.triage.tasks import triage_message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NAME = "Quintessa Vortigern"
EMAIL = "quintessa.vortigern@example.org"
PHONE = "+44 20 7946 0321"
# Everything that identifies her or is hers: the scan looks for each, case-insensitively.
TRACES = [
    "Quintessa",
    "Vortigern",
    EMAIL,
    "7946 0321",
    "79460321",
    "zanzibarian",
    "marmalade",
    "Q-ORDER-77",
]
TEXT = (
    "Quintessa here. My zanzibarian marmalade blender exploded in my kitchen, order Q-ORDER-77. "
    "Call me on +44 20 7946 0321. This is the third time, my 90 year old mother is frightened "
    "and if it is not fixed today I am going to my solicitor and switching provider."
)


@pytest.fixture(autouse=True)
def _surveys(db: Any) -> None:
    from cherish.feedback import queries
    from cherish.feedback.demo import seed_builtin_surveys

    seed_builtin_surveys()
    queries.forget_questions()


def _she_complains_and_is_cared_for(agent: Staff, lead: Staff) -> Case:
    """Everything a real customer leaves behind, through the real doors."""
    WebhookSubscription.objects.create(
        name="CRM",
        url="https://crm.example.com/hook",
        secret="s",
        event_types=["survey.answered", "case.opened", "message.added"],
    )
    shop = integration_api(*KeyScope)
    created = post_json(
        shop,
        "/api/v1/cases",
        {
            "customer": {"name": NAME, "email": EMAIL, "phone": PHONE, "external_id": "crm-q77"},
            "text": TEXT,
            "subject": "Zanzibarian marmalade blender exploded",
            "order": "Q-ORDER-77",
            "attachments": [
                {
                    "filename": "quintessa-receipt.png",
                    "content_type": "image/png",
                    "content_base64": base64.b64encode(PNG).decode(),
                }
            ],
        },
        **{"Idempotency-Key": "q77-first"},
    )
    assert created.status_code == 201, created.content
    case = Case.objects.get(reference=created.json()["reference"])
    triage_message(case.messages.get().pk)
    assert TriageRecord.objects.filter(case=case).exists()
    case_actions.reply_to_customer(
        case, text="Dear Quintessa, we are so sorry about the zanzibarian blender.", by=agent
    )
    case_actions.add_internal_note(
        case, text="Quintessa Vortigern rang again about the marmalade blender, @lena", by=agent
    )
    care_actions.record_fair_outcome(case, text="Quintessa wants a new zanzibarian one", by=agent)
    care_actions.record_resolution(case, text="Refunded Quintessa for the marmalade", by=agent)
    care_actions.record_commitment(
        case,
        what="Call Quintessa on 7946 0321",
        due_at=now() + dt.timedelta(days=2),
        how="call",
        by=agent,
    )
    customer = case.customer
    upsert_transactions(
        [
            TransactionRow(
                customer_id=customer.pk,
                external_id="Q-ORDER-77",
                kind="order",
                amount=Decimal("99.00"),
                currency="GBP",
                occurred_at=now(),
                description="Zanzibarian marmalade blender for Quintessa",
                metadata={"gift_note": "For Quintessa Vortigern"},
            )
        ]
    )
    invitation = feedback_actions.invite(Survey.objects.get(key="after-case"), customer, case=case)
    comment = Question.objects.get(survey__key="after-case", measure=Measure("comment"))
    csat = Question.objects.get(survey__key="after-case", measure=Measure("csat"))
    feedback_actions.record_answers(
        invitation,
        {csat.pk: 5, comment.pk: "Alice was wonderful with my zanzibarian blender - Quintessa"},
    )
    assert OutgoingEmail.objects.filter(to_address=EMAIL).exists()
    return case


def _text_columns(model: type[models.Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]


def _traces_left() -> list[str]:
    """Every (model, column, trace) that still holds something of hers."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        columns = _text_columns(model)
        if not columns:
            continue
        for row in model._default_manager.values_list(*columns):
            for column, value in zip(columns, row, strict=True):
                if value in (None, "", [], {}):
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                lowered = text.lower()
                found += [
                    f"{model._meta.label}.{column}: {trace}"
                    for trace in TRACES
                    if trace.lower() in lowered
                ]
    return sorted(set(found))


def test_after_an_erasure_no_column_of_any_model_holds_anything_of_hers(
    agent: Staff, lead: Staff, django_capture_on_commit_callbacks: Any
) -> None:
    # given: her complaint, triage, replies, notes, care records, survey, mail and webhooks
    case = _she_complains_and_is_cared_for(agent, lead)
    assert len(_traces_left()) > 20  # the scan sees her everywhere before
    attachment = Attachment.objects.get()
    path = attachment.file.path
    counts = (Case.objects.count(), Message.objects.count(), CaseEvent.objects.count())
    # when
    with django_capture_on_commit_callbacks(execute=True):
        privacy.erase_customer(case.customer, by=lead)
    # then: nothing of hers in any text or JSON column of any model
    assert _traces_left() == []
    assert not os.path.exists(path)
    # the rows stay for the figures (plus nothing but the customer's own erased event)
    assert (Case.objects.count(), Message.objects.count(), CaseEvent.objects.count()) == counts
    customer = Customer.objects.get(pk=case.customer_id)
    assert customer.erased_at is not None and customer.opted_out


def test_a_rolled_back_erasure_deletes_no_file(
    agent: Staff, customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    # given: a case with an attachment
    case, _ = case_actions.open_case(customer, text="Photo attached", channel="web")
    case_actions.add_inbound_message(
        case,
        text="Here it is",
        channel="web",
        attachments=[case_actions.NewAttachment("photo.png", "image/png", PNG)],
    )
    path = Attachment.objects.get().file.path
    # when: the erasure's transaction fails after the eraser ran
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        privacy.erase_customer(customer, by=agent)
        raise RuntimeError("the disk filled up")
    # then: rows and file are both still there
    assert os.path.exists(path)
    assert Attachment.objects.count() == 1
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_the_desk_erases_and_exports_through_the_one_eraser(
    admin_staff: Staff, agent: Staff, customer: Customer, complaint: Case
) -> None:
    client = login(Client(), admin_staff)
    exported = client.post(f"/desk/customers/{customer.pk}/export/")
    assert exported.status_code == 200
    erased = client.post(f"/desk/customers/{customer.pk}/erase/", {"confirm": "ERASE"})
    assert erased.status_code == 302
    assert Customer.objects.get(pk=customer.pk).erased_at is not None
    assert Message.objects.get(case=complaint).body_text == "[erased]"


def test_every_app_that_keeps_customer_data_has_a_place_in_the_eraser() -> None:
    """A new app whose models point at a customer, case or message must say how it forgets."""
    personal = {"customers.Customer", "cases.Case", "cases.Message", "feedback.SurveyResponse"}
    needing = set()
    for model in apps.get_models():
        if not model.__module__.startswith("cherish."):
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model and f.related_model._meta.label in personal:
                needing.add(model._meta.app_label)
    assert needing - set(privacy.APPS) == set()
    for app in privacy.APPS:
        module = import_module(f"cherish.{app}.privacy")
        assert callable(module.forget_customer) and callable(module.export_customer)
