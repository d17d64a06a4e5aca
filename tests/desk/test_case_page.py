"""The case page (cherish.desk) through the real HTTP stack: page, actions, fixed queries."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cherish.cases import actions
from cherish.cases.models import Case, CaseEvent
from cherish.cases.queries import TIMELINE_PAGE
from cherish.core.clock import now
from cherish.customers.actions import add_important_date, find_or_create_customer
from cherish.desk.models import CaseRead, Presence
from tests.cases.test_views import attach, case_url


def test_case_page_shows_conversation_panels_and_timeline_of_other_cases(
    desk_client, complaint, customer, agent
):
    # given: the same customer wrote before about something else
    earlier, _ = actions.open_case(customer, text="Last month my invoice was wrong too.")
    actions.reply_to_customer(earlier, text="We corrected the invoice, sorry.", by=agent)
    # when
    response = desk_client.get(case_url(complaint))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "My parcel arrived broken" in html
    assert 'id="customer-timeline"' in html
    assert (
        f'<a class="case-tag" href="/desk/cases/{earlier.reference}/">{earlier.reference}</a>'
        in html
    )
    assert "We corrected the invoice, sorry." in html
    assert "Last month my invoice was wrong too." in html


def test_handoff_note_is_shown_first_to_new_owner_then_marked_read(
    client, complaint, agent, other_agent
):
    # given
    actions.reassign_case(
        complaint, to=other_agent, note="Customer prefers a call after 5pm.", by=agent
    )
    client.force_login(other_agent.user)
    # when
    html = client.get(case_url(complaint)).content.decode()
    # then
    assert html.index("Handed to you — read this first") < html.index('id="case-header"')
    assert "Customer prefers a call after 5pm." in html
    complaint.refresh_from_db()
    assert complaint.handoff_unread is False
    assert "Handed to you" not in client.get(case_url(complaint)).content.decode()


def test_handoff_note_stays_unread_when_someone_else_looks(
    desk_client, complaint, agent, other_agent
):
    actions.reassign_case(complaint, to=other_agent, note="Please call her back today.", by=agent)
    html = desk_client.get(case_url(complaint)).content.decode()
    assert "Handed to you" not in html
    complaint.refresh_from_db()
    assert complaint.handoff_unread is True


def test_reply_with_htmx_returns_the_conversation(desk_client, complaint, agent):
    # when
    response = desk_client.post(
        case_url(complaint, "reply/"),
        {"text": "So sorry — a new one ships today."},
        HTTP_HX_REQUEST="true",
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="case-work"')
    assert "So sorry — a new one ships today." in html
    assert 'id="customer-timeline" class="timeline" hx-swap-oob="true"' in html
    message = complaint.messages.get(direction="out")
    assert message.author == agent
    assert CaseEvent.objects.filter(case=complaint, type="message.added").count() == 2


def test_reply_without_js_redirects_back_to_the_conversation(desk_client, complaint):
    response = desk_client.post(case_url(complaint, "reply/"), {"text": "On its way."})
    assert response.status_code == 302
    assert response["Location"] == case_url(complaint) + "#conversation"
    assert complaint.messages.filter(direction="out", body_text="On its way.").exists()


def test_empty_reply_shows_the_action_error_and_writes_nothing(desk_client, complaint):
    # given
    events = CaseEvent.objects.count()
    # when
    response = desk_client.post(case_url(complaint, "reply/"), {"text": "   "})
    # then
    assert response.status_code == 400
    assert "Write a reply before sending." in response.content.decode()
    assert complaint.messages.count() == 1
    assert CaseEvent.objects.count() == events


def test_internal_note(desk_client, complaint, agent):
    response = desk_client.post(
        case_url(complaint, "note/"), {"text": "Checked the courier log."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Checked the courier log." in response.content.decode()
    assert complaint.messages.get(direction="note").author == agent


def test_update_kind_and_severity(desk_client, complaint, agent):
    # when
    response = desk_client.post(
        case_url(complaint, "update/"),
        {"kind": "inquiry", "severity": "high"},
        HTTP_HX_REQUEST="true",
    )
    # then
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="case-header"')
    complaint.refresh_from_db()
    assert (complaint.kind, complaint.severity) == ("inquiry", "high")
    types = list(CaseEvent.objects.filter(case=complaint).values_list("type", flat=True))
    assert types[-2:] == ["case.kind_changed", "case.severity_changed"]


def test_header_form_cannot_close_a_complaint_around_the_care_rules(desk_client, complaint):
    # when: a crafted post tries to set the stage through the header form
    desk_client.post(
        case_url(complaint, "update/"),
        {"stage": "closed", "kind": "complaint", "severity": "normal"},
    )
    # then: only the care panel moves stages, so nothing closed
    complaint.refresh_from_db()
    assert complaint.stage == "received" and complaint.is_open
    assert not CaseEvent.objects.filter(case=complaint, type="case.closed").exists()


def test_update_refuses_unknown_values(desk_client, complaint):
    response = desk_client.post(
        case_url(complaint, "update/"), {"kind": "complaint", "severity": "bogus"}
    )
    assert response.status_code == 400
    complaint.refresh_from_db()
    assert complaint.stage == "received" and complaint.severity == "normal"


def test_reassign_requires_a_handoff_note(desk_client, complaint, other_agent, agent):
    # given
    events = CaseEvent.objects.count()
    # when
    response = desk_client.post(
        case_url(complaint, "reassign/"),
        {"to": other_agent.pk, "note": "pls"},
        HTTP_HX_REQUEST="true",
    )
    # then
    html = response.content.decode()
    assert "Write a handoff note (at least a sentence)" in html
    assert 'id="reassign-note-error"' in html
    complaint.refresh_from_db()
    assert complaint.owner_id == agent.pk
    assert CaseEvent.objects.count() == events


def test_reassign_with_note(desk_client, complaint, other_agent):
    response = desk_client.post(
        case_url(complaint, "reassign/"),
        {"to": other_agent.pk, "note": "She needs a refund decision by Friday."},
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.owner_id == other_agent.pk
    assert complaint.handoff_note == "She needs a refund decision by Friday."


def test_stored_script_is_escaped_on_case_page(desk_client, agent):
    person, _ = find_or_create_customer(name="<script>alert(1)</script>", email="x@example.com")
    case, _ = actions.open_case(person, text="<img src=x onerror=alert(2)>", subject="<b>hi</b>")
    html = desk_client.get(case_url(case)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html and "<b>hi</b>" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_attachment_links_on_case_page(desk_client, complaint):
    item = attach(complaint)
    html = desk_client.get(case_url(complaint)).content.decode()
    assert f'href="/desk/attachments/{item.public_id}/"' in html


# A repeat view (the read mark current, the presence beat fresh): reads only.
CASE_PAGE_QUERIES = 12
# The first view also writes the read mark and the presence beat: BEGIN, 2 upserts, COMMIT.
FIRST_VIEW_WRITES = 4


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_case_page_query_count_does_not_grow(
    desk_client, agent, customer, django_assert_num_queries, time_machine
):
    # The clock stands still: a view's "viewing" mark is fresh for 10 s, and growing 27 cases
    # on a loaded machine took longer, so the last view wrote it again (+3 statements).
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)

    # given: 3 cases of one customer, each with a message; then 30
    def grow(n):
        for i in range(n):
            case, _ = actions.open_case(customer, text=f"Issue {i}")
            actions.reply_to_customer(case, text=f"Answer {i}", by=agent)
            attach(case, name=f"p{i}.png")

    grow(3)
    case = Case.objects.order_by("id").first()
    # Session, user, and staff with the organisation policy and "more teams" mark (3: an
    # agent of one team needs no team query, see staff.access.staff_for_user); the case
    # with its care state; messages, attachments; the timeline and other cases' messages;
    # the viewer's read mark and presence with who else is here (1); the care workflow
    # (flow, hours, holidays, target, owner events and whether there are commitments or
    # gestures in 1; commitments and gestures only when there are some); today's dates;
    # the customer's value with their other open complaints (1). The hand-over list and the saved
    # replies load when opened.
    first = count_queries(desk_client, case_url(case))
    baseline = count_queries(desk_client, case_url(case))
    assert (first, baseline) == (CASE_PAGE_QUERIES + FIRST_VIEW_WRITES, CASE_PAGE_QUERIES)
    grow(27)
    assert Case.objects.count() == 30
    # then
    with django_assert_num_queries(baseline):
        desk_client.get(case_url(case))


def test_a_repeat_view_writes_nothing_until_something_happens_on_the_case(
    desk_client, complaint, agent
):
    # given: the case opened once (read mark and presence written)
    desk_client.get(case_url(complaint))
    marks = (
        CaseRead.objects.get(staff=agent, case=complaint).read_at,
        Presence.objects.get(staff=agent, case=complaint).seen_at,
    )
    # when: opened again at once
    with CaptureQueriesContext(connection) as ctx:
        desk_client.get(case_url(complaint))
    # then: no write at all
    assert not [q for q in ctx.captured_queries if not q["sql"].lstrip().startswith("SELECT")]
    assert marks == (
        CaseRead.objects.get(staff=agent, case=complaint).read_at,
        Presence.objects.get(staff=agent, case=complaint).seen_at,
    )
    # when: the customer writes, then the agent opens the case again
    actions.add_inbound_message(complaint, text="Any news?", channel="web")
    desk_client.get(case_url(complaint))
    # then: the read mark moved past the customer's message
    complaint.refresh_from_db()
    assert CaseRead.objects.get(staff=agent, case=complaint).read_at >= complaint.last_inbound_at


def test_a_stale_presence_beat_is_renewed_by_a_view(desk_client, complaint, agent):
    # given: a beat from a minute ago
    desk_client.get(case_url(complaint))
    old = now() - dt.timedelta(minutes=1)
    Presence.objects.filter(staff=agent, case=complaint).update(seen_at=old, activity="replying")
    # when
    desk_client.get(case_url(complaint))
    # then
    beat = Presence.objects.get(staff=agent, case=complaint)
    assert beat.seen_at > old and beat.activity == "viewing"


def test_timeline_is_paged_without_repeating_the_conversation(desk_client, complaint, agent):
    # given: this case's messages and another case's events, more than one page
    for i in range(3):
        actions.reply_to_customer(complaint, text=f"Reply {i} on this case.", by=agent)
    earlier, _ = actions.open_case(complaint.customer, text="An older question about a refund.")
    for i in range(TIMELINE_PAGE):
        actions.add_internal_note(earlier, text=f"Checked the refund, step {i}.", by=agent)
    # when
    html = desk_client.get(case_url(complaint)).content.decode()
    timeline = html[html.index('id="customer-timeline"') :]
    # then: a page of items, this case's messages only in the conversation, a link to older
    assert timeline.count("<li class=") == TIMELINE_PAGE + 1
    assert "Reply 0 on this case." not in timeline
    assert f'href="/desk/cases/{complaint.reference}/?timeline=2#customer-timeline"' in timeline
    # when: HTMX asks for the next page, it gets the items alone
    more = desk_client.get(case_url(complaint, "timeline/?page=2"), HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    assert more.content.decode().lstrip().startswith("<li class=")
    assert "Case opened" in more.content.decode()
    # without JavaScript the link shows the case page at that page
    plain = desk_client.get(case_url(complaint, "timeline/?page=2"))
    assert plain["Location"] == case_url(complaint) + "?timeline=2#customer-timeline"
    assert "Back to the newest" in desk_client.get(plain["Location"]).content.decode()


def test_birthday_is_shown_while_the_customer_is_in_contact(desk_client, complaint, agent):
    # given
    add_important_date(complaint.customer, kind="birthday", date=now().date(), by=agent)
    # when
    html = desk_client.get(case_url(complaint)).content.decode()
    # then
    assert "Today matters to them" in html
    assert "Send a short birthday note" in html
    # and not on a closed case
    actions.change_stage(complaint, stage="closed", by=agent)
    assert "Today matters to them" not in desk_client.get(case_url(complaint)).content.decode()


def test_hand_over_form_loads_only_when_asked_for(desk_client, complaint, other_agent):
    # given: the case page as it first comes: no list of everyone to hand over to
    page = desk_client.get(case_url(complaint)).content.decode()
    assert 'id="handover"' in page
    assert 'id="reassign-to"' not in page
    # when: the disclosure opens (HTMX), carrying the page's newest message
    part = desk_client.get(
        case_url(complaint, "handover/") + "?seen=7", headers={"HX-Request": "true"}
    ).content.decode()
    # then: the form with the colleagues, and the page's "seen" mark for the stale check
    assert 'id="reassign-to"' in part
    assert other_agent.display_name in part
    assert 'name="seen_message" value="7"' in part
    # and without JavaScript: the case page with the form in place
    response = desk_client.get(case_url(complaint, "handover/"))
    assert response.status_code == 302
    page = desk_client.get(response["Location"].split("#")[0]).content.decode()
    assert 'id="reassign-to"' in page


def test_commitments_and_gestures_are_read_only_when_the_case_has_some(
    desk_client, complaint, agent
):
    # given: a case without either (their queries skipped), then with a promise and a gesture
    from decimal import Decimal

    from cherish.care import actions as care_actions
    from cherish.care.models import Gesture, GestureStatus, GestureType

    desk_client.get(case_url(complaint))
    without = count_queries(desk_client, case_url(complaint))
    care_actions.record_commitment(
        complaint, what="Call her back", due_at=now() + dt.timedelta(days=1), how="call", by=agent
    )
    Gesture.objects.create(
        case=complaint,
        gesture_type=GestureType.objects.get(key="refund"),
        value=Decimal("5"),
        currency="GBP",
        status=GestureStatus.GRANTED,
        requested_by=agent,
        created_at=now(),
    )
    desk_client.get(case_url(complaint))
    # when
    html = desk_client.get(case_url(complaint)).content.decode()
    # then
    assert "<strong>Call her back</strong>" in html
    assert 'class="care-gesture care-gesture-' in html
    assert count_queries(desk_client, case_url(complaint)) == without + 2
