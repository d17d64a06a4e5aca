from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from cherish.cases import actions as case_actions
from cherish.outbox.models import WebhookDelivery, WebhookSubscription
from cherish.outbox.tasks import deliver_webhook_task


@pytest.fixture
def subscription(db, receiver):
    return WebhookSubscription.objects.create(
        name="CRM", url=receiver.url, secret="s3cret", event_types=[]
    )


def test_case_events_are_delivered_signed(subscription, receiver, agent, customer, tasks):
    # given
    case, _ = case_actions.open_case(customer, text="The heater is broken.")
    case_actions.add_internal_note(case, text="Call the engineer.", by=agent)
    # then: the note is not published, the opening and the message are
    deliveries = list(WebhookDelivery.objects.order_by("id"))
    assert [d.event_type for d in deliveries] == ["case.created", "message.added"]
    # when
    for delivery in deliveries:
        assert tasks.call(deliver_webhook_task, delivery.pk) == "sent"
    # then
    first = receiver.requests[0]
    body = first["body"]
    timestamp = first["headers"]["X-Cherish-Timestamp"]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert first["headers"]["X-Cherish-Signature"] == "sha256=" + expected
    document = json.loads(body)
    assert document["type"] == "case.created"
    assert document["data"]["case"] == case.reference
    assert document["data"]["data"] == {"channel": "web", "kind": "complaint"}
    assert json.loads(receiver.requests[1]["body"])["data"]["data"]["excerpt"] == (
        "The heater is broken."
    )
    assert WebhookDelivery.objects.filter(status="sent", response_code=200).count() == 2


def test_subscription_only_gets_the_events_it_asked_for(subscription, agent, customer):
    subscription.event_types = ["case.stage_changed"]
    subscription.save()
    case, _ = case_actions.open_case(customer, text="Hello")
    case_actions.change_stage(case, stage="listening", by=agent)
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == [
        "case.stage_changed"
    ]


def test_no_subscription_means_no_delivery_rows(db, agent, customer):
    case_actions.open_case(customer, text="Hello")
    assert WebhookDelivery.objects.count() == 0


def test_server_error_is_retried_and_gone_stops(subscription, receiver, agent, customer, tasks):
    # given
    case_actions.open_case(customer, text="Hello")
    first, second = WebhookDelivery.objects.order_by("id")
    tasks.clear()
    # when
    receiver.status = 503
    assert tasks.call(deliver_webhook_task, first.pk) == "pending"
    receiver.status = 410
    assert tasks.call(deliver_webhook_task, second.pk) == "failed"
    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts, first.response_code) == ("pending", 1, 503)
    assert "HTTP 503" in first.last_error
    assert (second.status, second.response_code) == ("failed", 410)
    assert tasks.names() == ["deliver_webhook_task"]
