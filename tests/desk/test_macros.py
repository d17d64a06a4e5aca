"""Saved replies (macros) from the case page's reply box: placeholders, the reply and its
actions applied in one step through the care actions, and the unedited-snippet hint."""

from __future__ import annotations

import pytest

from cherish.care.models import Commitment, Snippet
from cherish.cases.models import CaseEvent, Message
from tests.conftest import login


@pytest.fixture
def call_back(db):
    return Snippet.objects.create(
        title="Call back tomorrow",
        body=(
            "Dear {customer_first_name}, I am {agent_name} and I now look after "
            "{case_reference}. I will call you tomorrow."
        ),
        stage="listening",
        commitment_what="Call the customer back",
        commitment_how="call",
        commitment_days=1,
        tag="call back",
    )


def macro_url(case):
    return f"/desk/cases/{case.reference}/macro/"


def test_saved_replies_load_only_when_the_picker_opens(desk_client, complaint, call_back):
    # given: the case page as it first comes
    page = desk_client.get(f"/desk/cases/{complaint.reference}/").content.decode()
    # then: the picker is there, its replies are not (read only when opened)
    assert 'id="macro-picker"' in page
    assert "Find a saved reply" not in page
    # when: the picker opens (HTMX)
    part = desk_client.get(
        f"/desk/cases/{complaint.reference}/macros/", headers={"HX-Request": "true"}
    ).content.decode()
    # then
    assert "Find a saved reply" in part
    assert "Call back tomorrow" in part
    # and without JavaScript the link opens the case page with the list in place
    response = desk_client.get(f"/desk/cases/{complaint.reference}/macros/")
    assert response.status_code == 302
    assert response["Location"].endswith("?macros=1#macro-picker")


def test_case_page_lists_saved_replies_with_placeholders_filled(desk_client, complaint, call_back):
    html = desk_client.get(f"/desk/cases/{complaint.reference}/?macros=1").content.decode()
    assert "Find a saved reply" in html
    assert (
        f"Dear Carla, I am Alice Agent and I now look after {complaint.reference}. "
        "I will call you tomorrow."
    ) in html
    assert "also: Listening, Call the customer back, #call back" in html


def test_send_and_apply_writes_the_reply_and_every_action(
    desk_client, complaint, agent, call_back, care_defaults
):
    # given
    text = "Dear Carla, I am sorry about the parcel. I will call you tomorrow at ten."
    # when
    response = desk_client.post(macro_url(complaint), {"text": text, "macro": call_back.pk})
    # then
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.messages.filter(direction="out").get().body_text == text
    assert complaint.stage == "listening"
    assert "call back" in complaint.badges
    promise = Commitment.objects.get(case=complaint)
    assert (promise.what, promise.how, promise.owner) == ("Call the customer back", "call", agent)
    types = list(CaseEvent.objects.filter(case=complaint).values_list("type", flat=True))
    assert types[-5:] == [
        "message.added",
        "case.stage_changed",
        "commitment.made",
        "case.tagged",
        "macro.applied",
    ]


def test_without_javascript_an_empty_box_sends_the_macro_as_it_stands(
    desk_client, complaint, call_back, care_defaults
):
    desk_client.post(macro_url(complaint), {"text": "", "macro": call_back.pk})
    sent = complaint.messages.get(direction="out").body_text
    assert sent.startswith("Dear Carla, I am Alice Agent")


def test_a_refused_action_undoes_the_whole_step(desk_client, complaint, care_defaults):
    # given: a macro that would close a complaint that has no resolution yet
    closing = Snippet.objects.create(title="Close", body="All done, {customer_first_name}.")
    closing.stage = "closed"
    closing.save()
    messages_before = Message.objects.count()
    events_before = CaseEvent.objects.count()
    # when
    response = desk_client.post(
        macro_url(complaint), {"text": "All sorted, Carla.", "macro": closing.pk}
    )
    # then: nothing sent, nothing changed, the text is kept with the reason
    html = response.content.decode()
    assert response.status_code == 400
    assert "Before you close this case" in html
    assert "All sorted, Carla." in html
    complaint.refresh_from_db()
    assert complaint.is_open
    assert (Message.objects.count(), CaseEvent.objects.count()) == (
        messages_before,
        events_before,
    )


def test_a_macro_for_another_kind_or_none_is_refused(desk_client, complaint, call_back):
    call_back.kind = "compliment"
    call_back.save()
    for data in ({"text": "Hi", "macro": call_back.pk}, {"text": "Hi"}):
        response = desk_client.post(macro_url(complaint), data)
        assert response.status_code == 400
    assert not complaint.messages.filter(direction="out").exists()


def test_another_teams_case_is_not_found(client, complaint, billing_agent, call_back):
    response = login(client, billing_agent).post(
        macro_url(complaint), {"text": "Hi", "macro": call_back.pk}
    )
    assert response.status_code == 404
    assert not complaint.messages.filter(direction="out").exists()


def test_unedited_macro_is_still_flagged_by_the_tone_check(desk_client, complaint, call_back):
    body = (
        f"Dear Carla, I am Alice Agent and I now look after {complaint.reference}. "
        "I will call you tomorrow."
    )
    hints = desk_client.post("/desk/care/tone-check", {"text": body, "case": complaint.reference})
    assert "“Call back tomorrow” snippet as it stands" in hints.content.decode()
