"""Case-level risk signals: raised by any message, kept until staff clear them with a reason."""

from __future__ import annotations

import pytest

from cherish.care.actions import assess_case
from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent
from cherish.triage.actions import add_flag, clear_flag, correct_triage, forget_signal_text
from cherish.triage.errors import TriageError
from cherish.triage.models import Correction
from cherish.triage.tasks import triage_message

ANGRY_LEAVING = (
    "This is DISGRACEFUL. Third time my order has gone missing and nobody calls back. "
    "I'm furious and I'll take my business elsewhere."
)


def _open(customer, text: str) -> Case:
    case, message = case_actions.open_case(customer, text=text, channel="web")
    triage_message(message.pk)
    case.refresh_from_db()
    return case


def _reply(case: Case, text: str) -> Case:
    message = case_actions.add_inbound_message(case, text=text, channel="web")
    triage_message(message.pk)
    case.refresh_from_db()
    return case


def _types(case: Case, prefix: str = "signal.") -> list[tuple[str, str]]:
    return [
        (e.type, e.data["flag"])
        for e in CaseEvent.objects.filter(case=case, type__startswith=prefix).order_by("id")
    ]


def test_polite_thanks_after_angry_leaving_message_keeps_the_flags(agent, customer):
    # given an angry customer who said they are leaving
    case = _open(customer, ANGRY_LEAVING)
    assert case.badges[:2] == ["angry", "leaving"]
    priority = case.priority
    # when they write a polite thank-you
    case = _reply(case, "Thank you for your reply, that's very kind.")
    # then the latest reading is the thank-you, but the case still carries both flags
    assert case.triage["emotion"] == "gratitude"
    assert case.triage["flags"] == []
    assert case.badges[:2] == ["angry", "leaving"]
    assert case.at_risk
    assert case.priority == priority
    assert set(case.signals["flags"]) >= {"angry", "leaving"}
    assert case.signals["flags"]["leaving"]["source"] == "message"
    assert "take my business elsewhere" in case.signals["flags"]["leaving"]["words"]
    # each flag was raised once, by the first message
    raised = _types(case)
    assert ("signal.raised", "leaving") in raised and ("signal.raised", "angry") in raised
    assert len(raised) == len(set(raised))


def test_a_later_message_raises_a_new_flag_and_keeps_the_old(agent, customer):
    case = _open(customer, "My parcel is late again, really annoying.")
    assert "legal" not in case.badges
    case = _reply(case, "If this is not fixed I will speak to my solicitor.")
    case = _reply(case, "ok")
    assert "legal" in case.badges
    assert case.signals["flags"]["legal"]["message_id"] == case.messages.order_by("id")[1].pk
    assert _types(case).count(("signal.raised", "legal")) == 1


def test_staff_clear_a_flag_with_a_reason(agent, customer):
    case = _open(customer, ANGRY_LEAVING)
    before = case.priority
    clear_flag(case, flag="leaving", reason="Called him: he is staying after the refund.", by=agent)
    case.refresh_from_db()
    assert "leaving" not in case.badges and "angry" in case.badges
    assert "leaving" not in case.signals["flags"]
    assert case.signals["cleared"]["leaving"]["reason"].startswith("Called him")
    assert case.priority == before - 4
    event = CaseEvent.objects.get(case=case, type="signal.cleared")
    assert (event.actor, event.data["flag"]) == (agent, "leaving")
    correction = Correction.objects.get(field="flag:leaving")
    assert (correction.old_value, correction.new_value) == ("yes", "no")
    assert correction.text == ANGRY_LEAVING  # the message that raised it: a counter-example


def test_last_flag_cleared_takes_the_case_off_the_at_risk_view(agent, customer):
    case = _open(customer, "I'll take my business elsewhere, I am cancelling my account.")
    assert case.badges == ["leaving"] and case.at_risk
    clear_flag(case, flag="leaving", reason="Misread: he means his other account.", by=agent)
    case.refresh_from_db()
    assert (case.badges, case.at_risk) == ([], False)


@pytest.mark.parametrize(
    ("flag", "reason", "code"),
    [
        ("leaving", "   ", "reason_required"),
        ("leaving", "x" * 501, "reason_too_long"),
        ("grumpy", "because", "unknown_flag"),
        ("legal", "not raised here", "not_raised"),
    ],
    ids=["blank reason", "long reason", "unknown flag", "not raised"],
)
def test_clear_refused_changes_nothing(agent, customer, flag, reason, code):
    case = _open(customer, "I'll take my business elsewhere.")
    signals, badges = case.signals, case.badges
    with pytest.raises(TriageError) as refused:
        clear_flag(case, flag=flag, reason=reason, by=agent)
    assert refused.value.code == code
    case.refresh_from_db()
    assert (case.signals, case.badges) == (signals, badges)
    assert not CaseEvent.objects.filter(case=case, type="signal.cleared").exists()
    assert not Correction.objects.exists()


def test_cleared_flag_is_raised_again_only_by_a_new_message(agent, customer):
    case = _open(customer, "I'll take my business elsewhere.")
    clear_flag(case, flag="leaving", reason="Joking, per his follow-up call.", by=agent)
    case = _reply(case, "Thanks for the call.")
    assert "leaving" not in case.badges
    case = _reply(case, "Actually no, I'm switching to a competitor next month.")
    assert "leaving" in case.badges
    assert _types(case) == [
        ("signal.raised", "leaving"),
        ("signal.cleared", "leaving"),
        ("signal.raised", "leaving"),
    ]


def test_staff_add_a_flag_the_model_missed(agent, customer):
    case = _open(customer, "The delivery was late.")
    assert case.badges == [] and not case.at_risk
    add_flag(case, flag="legal", reason="On the phone he said his lawyer is involved.", by=agent)
    case.refresh_from_db()
    assert case.badges == ["legal"] and case.at_risk
    assert case.priority == 10 + 4
    assert case.signals["flags"]["legal"]["source"] == "staff"
    assert case.signals["flags"]["legal"]["by"] == agent.display_name
    event = CaseEvent.objects.get(case=case, type="signal.raised")
    assert (event.data["flag"], event.data["source"], event.actor) == ("legal", "staff", agent)
    correction = Correction.objects.get()
    assert (correction.field, correction.new_value, correction.text) == (
        "flag:legal",
        "yes",
        "The delivery was late.",
    )
    # a message with no risk words keeps it raised
    case = _reply(case, "Any news?")
    assert case.badges == ["legal"]


def test_add_refused_when_already_raised_writes_nothing(agent, customer):
    case = _open(customer, "I'll take my business elsewhere.")
    with pytest.raises(TriageError) as refused:
        add_flag(case, flag="leaving", reason="He said it twice", by=agent)
    assert refused.value.code == "already_raised"
    assert not Correction.objects.exists()
    assert _types(case) == [("signal.raised", "leaving")]


def test_care_badges_survive_new_messages(agent, customer):
    case = _open(customer, "My order is late.")
    assess_case(
        case,
        severity="high",
        complexity="simple",
        impact="low",
        needs_immediate_action=True,
        by=agent,
    )
    case.refresh_from_db()
    assert "urgent" in case.badges
    case = _reply(case, "Thanks, no rush.")
    assert "urgent" in case.badges and case.at_risk


def test_staff_severity_change_keeps_the_signal_priority(desk_client, agent, customer):
    case = _open(customer, ANGRY_LEAVING)
    bonus = case.priority - 10 * {"normal": 1, "high": 2, "critical": 3}[case.severity]
    assert bonus > 0
    response = desk_client.post(
        f"/desk/cases/{case.reference}/update/", {"kind": case.kind, "severity": "critical"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.priority == 30 + bonus


def test_inbox_sorts_and_badges_by_case_signals(desk_client, agent, customer):
    calm = _open(customer, "Could you check my order status please?")
    leaving = _open(customer, ANGRY_LEAVING)
    _reply(leaving, "Thanks.")
    _reply(calm, "Thanks.")
    response = desk_client.get("/desk/", {"view": "attention"})
    html = response.content.decode()
    assert leaving.reference in html and calm.reference not in html
    assert 'class="badge badge-leaving">Leaving<' in html
    mine = desk_client.get("/desk/").content.decode()
    assert mine.index(leaving.reference) < mine.index(calm.reference)


def test_urgency_correction_is_kept_on_the_case(agent, customer):
    case = _open(customer, "My order is late.")
    correct_triage(case, field="urgency", value="high", by=agent)
    case.refresh_from_db()
    assert case.signals["urgency"]["level"] == "high"
    assert case.priority == 10 + 5
    case = _reply(case, "ok thanks")
    assert case.signals["urgency"]["level"] == "high"


def test_erasure_drops_the_customers_words_from_signals(agent, customer):
    case = _open(customer, ANGRY_LEAVING)
    clear_flag(case, flag="angry", reason="Calmer after the call with Carla.", by=agent)
    forget_signal_text([case.pk])
    case.refresh_from_db()
    assert "words" not in case.signals["flags"]["leaving"]
    assert "reason" not in case.signals["cleared"]["angry"]
    assert case.badges[0] == "leaving"


def test_api_shows_the_case_level_badges(agent, customer):
    from django.test import Client

    from cherish.intake.apikeys import create_api_key
    from cherish.staff.principal import KeyScope

    _, key = create_api_key("webshop", scopes=list(KeyScope))
    case = _open(customer, ANGRY_LEAVING)
    case = _reply(case, "Thank you for your reply, that's very kind.")
    body = (
        Client(headers={"Authorization": f"Bearer {key}"})
        .get(f"/api/v1/cases/{case.reference}")
        .json()
    )
    assert body["triage"]["flags"] == []
    assert body["badges"][:2] == ["angry", "leaving"]
