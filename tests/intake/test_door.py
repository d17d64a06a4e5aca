"""One door in: every channel's contact is stored raw, added to a case, and followed by the one
ordered pipeline (triage, then care's respond step), driven through each channel's real edge."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from tests.outreach.conftest import add_transaction

from cherish.care import actions as care_actions
from cherish.cases.models import Case, Message, Stage
from cherish.cases.outgoing import portal_url
from cherish.core.clock import now
from cherish.core.models import Job
from cherish.customers.actions import find_or_create_customer
from cherish.intake.actions import Contact, RawMaterial, accept_contact
from cherish.intake.apikeys import create_api_key
from cherish.intake.email.receive import receive_email
from cherish.intake.models import RawContact, RawStatus
from cherish.outreach import actions as outreach_actions
from cherish.outreach.models import FollowUp, FollowUpRule
from cherish.staff.principal import KeyScope

Sender = Callable[[Client, Any], Message]


def _api(**headers: str) -> Client:
    _, key = create_api_key("webshop", scopes=list(KeyScope))
    return Client(headers={"Authorization": f"Bearer {key}", **headers})


def web_form(client: Client, complaint: Case) -> Message:
    client.post(
        "/complain/",
        {"text": "The sofa arrived torn.", "name": "Dana", "email": "dana@example.com"},
    )
    return Message.objects.get(body_text="The sofa arrived torn.")


def api_case(client: Client, complaint: Case) -> Message:
    body = {"customer": {"email": "dana@example.com"}, "text": "The blender broke."}
    response = _api().post("/api/v1/cases", json.dumps(body), content_type="application/json")
    return Message.objects.get(pk=response.json()["message_id"])


def api_message(client: Client, complaint: Case) -> Message:
    response = _api().post(
        f"/api/v1/cases/{complaint.reference}/messages",
        json.dumps({"direction": "in", "text": "And the lid is cracked."}),
        content_type="application/json",
    )
    return Message.objects.get(pk=response.json()["id"])


def email(client: Client, complaint: Case) -> Message:
    receive_email(
        b"From: Dana <dana@example.com>\r\nTo: care@example.com\r\n"
        b"Subject: Broken kettle\r\nMessage-ID: <k1@example.com>\r\n\r\nThe kettle leaks.\r\n"
    )
    return Message.objects.get(external_id="<k1@example.com>")


def portal_reply(client: Client, complaint: Case) -> Message:
    client.get(portal_url(complaint))  # the emailed link opens the page in this session
    client.post(f"/your-case/{complaint.reference}/reply/", {"text": "Here is more detail."})
    return Message.objects.get(body_text="Here is more detail.")


def staff_logged(client: Client, complaint: Case) -> Message:
    client.force_login(complaint.owner.user)
    client.post(
        "/desk/log-contact/",
        {"channel": "phone", "kind": "complaint", "phone": "+442079460999", "text": "Rang."},
    )
    return Message.objects.get(body_text="Rang.")


def follow_up_answer(client: Client, complaint: Case) -> Message:
    FollowUpRule.objects.create(
        name="After delivery", transaction_kind="delivery", delay_days=0, question="All well?"
    )
    # A customer without an open complaint: follow-ups are not sent to one who has.
    customer, _ = find_or_create_customer(name="Fred", email="fred@example.com")
    # The last midday before now: a follow-up due in the evening waits out the customer's
    # quiet hours, and this test must not depend on the hour it runs at.
    at = now().replace(hour=12, minute=0, second=0, microsecond=0)
    if at > now():
        at -= dt.timedelta(days=1)
    add_transaction(customer, "D-1", at - dt.timedelta(hours=1), kind="delivery")
    outreach_actions.schedule_follow_ups(at=at)
    outreach_actions.send_due_follow_ups(at=at)
    url = outreach_actions.answer_url(FollowUp.objects.get(), "no")
    client.post(url[url.index("/followup/") :], {"comment": "The box was crushed."})
    return Message.objects.get(case=FollowUp.objects.get().case)


CHANNELS: dict[str, tuple[Sender, str, bool]] = {
    # channel: (how the customer reaches us, raw record's channel, opens a case)
    "web-form": (web_form, "web", True),
    "api-case": (api_case, "api", True),
    "api-message": (api_message, "api", False),
    "email": (email, "email", True),
    "portal-reply": (portal_reply, "web", False),
    "staff-logged": (staff_logged, "phone", True),
    "follow-up-answer": (follow_up_answer, "web", True),
}


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_every_channel_enters_through_the_one_door(
    channel, client, complaint, tasks, django_capture_on_commit_callbacks
):
    # given
    send, raw_channel, opens = CHANNELS[channel]
    before = RawContact.objects.count()
    # when the customer's words arrive by this channel
    with django_capture_on_commit_callbacks(execute=True):
        message = send(client, complaint)
    # then exactly one raw record was stored for it and marked processed
    [raw] = RawContact.objects.order_by("pk")[before:]
    assert (raw.channel, raw.status, raw.message_id, raw.case_id) == (
        raw_channel,
        RawStatus.PROCESSED,
        message.pk,
        message.case_id,
    )
    # and the one ordered follow-on pipeline was queued for it, once (mail the test itself
    # had sent, such as the follow-up question, aside)
    [job] = Job.objects.all()
    assert (job.steps, job.args, job.key) == (
        list(settings.CHERISH_INTAKE_FOLLOW_ON),
        [message.pk, opens],
        f"follow-on:{message.pk}",
    )
    [wake] = [r for r in tasks.pending if not r.task.module_path.startswith("cherish.outbox")]
    assert (wake.task.name, wake.args) == ("run_steps_task", [str(job.pk)])
    assert settings.CHERISH_INTAKE_FOLLOW_ON == [
        "cherish.triage.tasks.triage_message_task",
        "cherish.care.tasks.respond_to_contact_task",
        "cherish.learning.tasks.assign_theme_task",
    ]


def test_a_reply_to_a_case_waiting_on_the_customer_resumes_it_at_once(
    client, complaint, agent, tasks, django_capture_on_commit_callbacks
):
    # given a case waiting on the customer
    care_actions.wait_on_customer(complaint, by=agent, reason="asked for a photo")
    # when the customer replies on their page and the reply's pipeline runs (no clock scan)
    with django_capture_on_commit_callbacks(execute=True):
        portal_reply(client, complaint)
    results = tasks.run()
    # then the case is no longer waiting, from the moment the customer wrote
    complaint.refresh_from_db()
    assert complaint.stage == Stage.RECEIVED
    assert complaint.care.waiting_since is None
    assert results == ["done"]
    assert complaint.events.filter(type="waiting.ended").count() == 1


def test_a_failure_is_recorded_on_the_raw_record_and_nothing_else_is_written(
    complaint, tasks, django_capture_on_commit_callbacks
):
    # given a reply addressed to a case that was deleted after the channel looked it up
    contact = Contact(channel="web", text="Anything new?", case=complaint)
    Case.objects.filter(pk=complaint.pk).delete()
    # when it enters
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Case.DoesNotExist):
        accept_contact(contact, raw=RawMaterial(payload={"text": "Anything new?"}))
    # then the raw material is kept and marked failed, and nothing else was written
    raw = RawContact.objects.get()
    assert raw.status == RawStatus.FAILED
    assert raw.error.startswith("DoesNotExist: ")
    assert raw.payload == {"text": "Anything new?"}
    assert not Message.objects.exists()
    assert tasks.pending == []
    assert not Job.objects.exists()
