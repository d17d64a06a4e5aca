"""The notifications page, the navigation badge and the case page's presence heartbeat."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from cherish.cases import actions as case_actions
from cherish.customers.actions import find_or_create_customer
from cherish.desk import actions
from cherish.desk.models import DeskState, Notification, Presence
from tests.conftest import login


def open_cases(count: int) -> None:
    customer, _ = find_or_create_customer(name="Dora Doe", email="dora@example.com")
    for number in range(count):
        case, _ = case_actions.open_case(customer, text=f"Problem number {number}.")
        case_actions.add_inbound_message(case, text=f"Still waiting ({number}).", channel="web")


@pytest.mark.parametrize("cases", [1, 10], ids=["3 notifications", "30 notifications"])
def test_notifications_page_costs_the_same_for_any_number(
    desk_client, agent, cases, django_assert_num_queries
):
    open_cases(cases)
    actions.sync_notifications(agent)
    desk_client.get(reverse("desk:notifications"))
    with django_assert_num_queries(13):
        response = desk_client.get(reverse("desk:notifications"))
    assert response.status_code == 200
    assert response.content.decode().count('class="notification unread"') == 3 * cases


def test_badge_counts_what_arrived_and_the_page_marks_read(desk_client, agent, complaint):
    # when: the badge polls after the customer wrote
    case_actions.add_inbound_message(complaint, text="Hello?", channel="web")
    badge = desk_client.get(reverse("desk:notification-badge"), headers={"HX-Request": "true"})
    # then: the complaint itself, its assignment and the new message
    assert 'data-unread="3"' in badge.content.decode()
    page = desk_client.get(reverse("desk:notifications")).content.decode()
    assert f"Carla Customer wrote on {complaint.reference}: “Hello?”" in page
    # when: one is marked read, then all
    first = Notification.objects.filter(staff=agent).order_by("id").first()
    desk_client.post(reverse("desk:read-notifications"), {"notification": [str(first.pk), "x"]})
    assert Notification.objects.filter(staff=agent, read_at=None).count() == 2
    response = desk_client.post(reverse("desk:read-notifications"), {"all": "1"})
    assert response.status_code == 302
    assert Notification.objects.filter(staff=agent, read_at=None).count() == 0
    badge = desk_client.get(reverse("desk:notification-badge")).content.decode()
    assert "data-unread" not in badge


def test_email_preference_is_saved_per_person(desk_client, agent):
    desk_client.post(reverse("desk:notification-email"), {"email": "1"})
    assert DeskState.objects.get(staff=agent).email_notifications is True
    page = desk_client.get(reverse("desk:notifications")).content.decode()
    assert 'name="email" value="1" checked' in page
    desk_client.post(reverse("desk:notification-email"), {})
    assert DeskState.objects.get(staff=agent).email_notifications is False


def test_presence_shows_colleagues_and_what_arrived(client, agent, other_agent, complaint):
    # given: Bob has the case open and is writing
    bob = login(client, other_agent)
    url = reverse("desk:presence", args=[complaint.reference])
    bob.post(url, {"seen_message": "0", "text": "Dear Carla,"})
    # when: Alice's page beats, having shown the first message only
    seen = complaint.messages.get().pk
    case_actions.add_inbound_message(complaint, text="I called twice today.", channel="web")
    bob.logout()
    alice = login(client, agent)
    response = alice.post(url, {"seen_message": str(seen), "text": ""})
    # then
    html = response.content.decode()
    assert "<strong>Bob Other</strong> is writing a reply" in html
    assert "I called twice today." in html
    assert list(
        Presence.objects.order_by("staff__user__username").values_list("activity", flat=True)
    ) == [
        "viewing",
        "replying",
    ]


def test_inbox_marks_cases_with_news_until_opened(desk_client, agent, complaint):
    mark = f'id="news-{complaint.reference}"><span class="unread-dot"'
    assert mark in desk_client.get("/desk/").content.decode()
    # when: Alice opens the case
    desk_client.get(reverse("cases:detail", args=[complaint.reference]))
    # then: the mark is gone, and the poll says so too
    assert mark not in desk_client.get("/desk/").content.decode()
    poll = reverse("desk:inbox-news") + f"?case={complaint.reference}&case=CH-NOSUCH"
    assert desk_client.get(poll).content.decode().strip() == (
        f'<span class="news-mark" id="news-{complaint.reference}" hx-swap-oob="true"></span>'
    )
    # when: the customer writes again, the poll brings the mark back
    case_actions.add_inbound_message(complaint, text="Any news?", channel="web")
    assert 'class="unread-dot"' in desk_client.get(poll).content.decode()


@pytest.mark.parametrize("language", ["en", "de"])
def test_inbox_rows_write_the_news_mark_as_the_poll_does(desk_client, complaint, language):
    # The inbox writes its rows in Python (views_inbox.inbox_rows); the poll swaps in
    # desk/partials/unread_dot.html: the two must stay the same markup.
    desk_client.cookies["django_language"] = language
    with translation.override(language):
        expected = render_to_string(
            "desk/partials/unread_dot.html",
            {"reference": complaint.reference, "news": {complaint.reference}},
        ).strip()
    assert "unread-dot" in expected
    page = desk_client.get("/desk/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert expected in page


def test_a_reply_on_a_stale_view_is_stopped_then_sent_anyway(desk_client, complaint, other_agent):
    # given: Alice's page showed the first message; then Bob replied
    seen = str(complaint.messages.get().pk)
    case_actions.reply_to_customer(complaint, text="Bob here: refund on its way.", by=other_agent)
    url = reverse("cases:reply", args=[complaint.reference])
    # when
    stopped = desk_client.post(url, {"text": "We will call you.", "seen_message": seen})
    # then: nothing sent; Bob's reply, Alice's text and the choice are shown
    html = stopped.content.decode()
    assert stopped.status_code == 409
    assert complaint.messages.filter(body_text="We will call you.").count() == 0
    assert "Bob here: refund on its way." in html
    assert "We will call you.</textarea>" in html
    assert 'name="send_anyway" value="1"' in html
    # when: she sends anyway
    sent = desk_client.post(
        url, {"text": "We will call you.", "seen_message": seen, "send_anyway": "1"}
    )
    assert sent.status_code == 302
    assert complaint.messages.filter(body_text="We will call you.").count() == 1


def test_a_fresh_view_and_ones_own_messages_do_not_stop_a_change(desk_client, complaint, agent):
    case_actions.add_internal_note(complaint, text="My own note.", by=agent)
    seen = str(complaint.messages.order_by("id").first().pk)
    url = reverse("cases:update", args=[complaint.reference])
    response = desk_client.post(url, {"kind": "inquiry", "severity": "high", "seen_message": seen})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.kind, complaint.severity) == ("inquiry", "high")


def test_a_stale_change_with_htmx_answers_the_stopped_part(desk_client, complaint):
    seen = str(complaint.messages.get().pk)
    case_actions.add_inbound_message(complaint, text="Please cancel instead.", channel="web")
    url = reverse("cases:update", args=[complaint.reference])
    response = desk_client.post(
        url,
        {"kind": "inquiry", "severity": "high", "seen_message": seen},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "Please cancel instead." in html and 'name="send_anyway"' in html
    complaint.refresh_from_db()
    assert (complaint.kind, complaint.severity) == ("complaint", "normal")


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/desk/", ["/desk/"]),
        ("/desk/care/", ["/desk/care/"]),
        ("/desk/notifications/", ["/desk/notifications/"]),
    ],
    ids=["inbox", "due", "notifications"],
)
def test_one_navigation_item_is_current(desk_client, path, current):
    html = desk_client.get(path).content.decode()
    html = html[html.index('<header class="topbar">') : html.index("</header>")]
    lit = re.findall(
        r'<a (?:class="[^"]*" id="[^"]*" )?href="([^"]+)"[^>]*aria-current="page"', html
    )
    assert lit == current


@pytest.mark.parametrize("role", ["agent", "lead", "manager", "admin_staff"])
def test_every_navigation_link_opens_for_the_reader(client, request, role, care_defaults):
    """The navigation offers only pages the reader may open: no link answers 'Not allowed'."""
    staff = request.getfixturevalue(role)
    login(client, staff)
    html = client.get("/desk/").content.decode()
    html = html[html.index('<header class="topbar">') : html.index("</header>")]
    links = re.findall(r'<a (?:class="[^"]*" id="[^"]*" )?href="(/desk/[^"]*)"', html)
    assert "/desk/" in links
    for link in links:
        assert client.get(link).status_code == 200, (role, link)
    if role == "agent":
        assert "/desk/scorecard/" not in links and "/desk/outbox/" not in links
