"""Recognition earned from customer outcomes, collected onto the wall."""

from __future__ import annotations

import datetime as dt

from cherish.care import actions as care_actions
from cherish.cases.events import record_case_event
from cherish.learning import actions
from cherish.staff.models import Recognition


def test_outcomes_credit_the_staff_behind_them_once(complaint, agent, other_agent):
    # given a compliment naming Bob, a kept promise and a satisfied follow-up by Alice
    record_case_event(
        complaint,
        "compliment.credited",
        by=None,
        staff_id=other_agent.pk,
        staff_name=other_agent.display_name,
    )
    commitment = care_actions.record_commitment(
        complaint,
        what="Call back",
        due_at=complaint.created_at + dt.timedelta(days=1),
        how="call",
        by=agent,
    )
    care_actions.keep_commitment(commitment, by=agent, note="Called as promised")
    care_actions.record_resolution(complaint, text="Replaced.", by=agent)
    care_actions.record_follow_up(complaint, outcome="satisfied", by=agent)
    # when collected twice
    first = actions.collect_recognition()
    again = actions.collect_recognition()
    # then
    assert (first, again) == (3, 0)
    got = sorted(
        (r.staff.display_name, r.kind, r.case_reference) for r in Recognition.objects.all()
    )
    assert got == [
        ("Alice Agent", "commitment_kept", complaint.reference),
        ("Alice Agent", "recovery", complaint.reference),
        ("Bob Other", "compliment", complaint.reference),
    ]


def test_unsatisfied_follow_up_is_not_a_recovery(complaint, agent):
    care_actions.record_resolution(complaint, text="Replaced.", by=agent)
    care_actions.record_follow_up(complaint, outcome="not_satisfied", by=agent)
    assert actions.collect_recognition() == 0
    assert not Recognition.objects.exists()
