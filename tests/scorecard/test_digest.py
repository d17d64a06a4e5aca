"""The managers' weekly digest: sent Monday through the outbox, once per manager per week."""

from __future__ import annotations

import datetime as dt

import time_machine
from tests.scorecard.conftest import TODAY

from cherish.care.models import Commitment
from cherish.feedback.models import Compliment, SurveyResponse
from cherish.outbox.models import OutgoingEmail
from cherish.scorecard import digest
from cherish.scorecard.models import DigestSent

MONDAY = dt.datetime(2026, 3, 23, 8, 0, tzinfo=dt.UTC)  # after TODAY's week (16–22 Mar)


def test_digest_goes_to_managers_once_with_headlines_compliment_and_overdue(built):
    c1 = built["cases"]["c1"]
    Compliment.objects.create(
        staff=built["alice"],
        response=SurveyResponse.objects.get(case=c1),
        text="Alice was wonderful and called back when she said.",
        created_at=TODAY,
    )
    Commitment.objects.create(
        case=built["cases"]["c3"],
        owner=built["bob"],
        what="Send the brochure",
        due_at=TODAY,
        how="email",
        created_at=TODAY - dt.timedelta(days=1),
    )
    with time_machine.travel(MONDAY, tick=False):
        assert digest.send_due_digests() == 1
        assert digest.send_due_digests() == 0  # a second tick sends nothing
    email = OutgoingEmail.objects.get()
    assert email.to_address == "mia@example.com"
    assert email.subject == "Cherish weekly digest, week of 16 Mar 2026"
    text = email.text_body
    assert "- Complaints received: 2 (+1)" in text  # 2 this week, 1 the week before
    assert "- Satisfaction with complaint handling: 50 % (—)" in text  # none the week before
    assert "“Alice was wonderful and called back when she said.”" in text
    assert f"hardest complaint: {c1.reference} (2 contacts, 1 owner)" in text
    assert "Overdue commitments: 1" in text
    assert "Send the brochure" in text
    assert DigestSent.objects.get().email_pk == email.pk


def test_no_digest_before_monday_morning(built):
    with time_machine.travel(MONDAY.replace(hour=6), tick=False):
        assert digest.send_due_digests() == 0
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        assert digest.send_due_digests() == 0
    assert not OutgoingEmail.objects.exists()


def test_the_periodic_job_refreshes_and_sends(built):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with time_machine.travel(MONDAY, tick=False):
        call_command("scorecard_tick", stdout=out)
    assert "1 digest(s) sent." in out.getvalue()
    assert OutgoingEmail.objects.filter(to_address="mia@example.com").count() == 1
