"""Issue #9 defect 3 in a real browser: the lead a refund was routed to approves it on the
case page; another team's lead sees the case (the organisation lets everyone read) but has no
Approve button, and a forged approval is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.browser.signing_in import sign_in

from cherish.care import actions
from cherish.care.demo import seed_defaults
from cherish.care.models import AuthorityLimit, Gesture, GestureType
from cherish.staff.actions import set_org_policy

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_the_routed_lead_approves_and_another_teams_lead_is_refused(
    browser, live_server, transactional_db, complaint, agent, lead, billing_lead, settings
):
    # given: Alice asks for a 75 GBP refund above her 50 GBP limit; it is routed to Lena
    seed_defaults()
    settings.SITE_URL = live_server.url
    AuthorityLimit.objects.create(
        role="agent", per_gesture=Decimal("50"), per_month=Decimal("80"), currency="GBP"
    )
    gesture = actions.grant_gesture(
        complaint,
        gesture_type=GestureType.objects.get(key="refund"),
        value=Decimal("75"),
        currency="GBP",
        description="Refund of the broken vase",
        ask_approval=True,
        by=agent,
    )
    assert gesture.approver_id == lead.pk
    set_org_policy(other_teams_may_read=True, by=None)
    case_path = f"/desk/cases/{complaint.reference}/"

    # when: Ben, Billing's lead, opens the case
    context, page = sign_in(browser, live_server, "ben", case_path)
    panel = page.locator("#care-panel")
    expect(panel).to_contain_text("requested by Alice Agent; sent to Lena Lead for approval")
    # then: no Approve button for him, and a forged approval is refused
    expect(panel.get_by_role("button", name="Approve")).to_have_count(0)
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        f"{live_server.url}/desk/care/gestures/{gesture.pk}/approve",
        form={"reason": ""},
        headers={"X-CSRFToken": token, "Referer": f"{live_server.url}{case_path}"},
    )
    assert forged.status == 403
    assert Gesture.objects.get().status == "pending_approval"
    context.close()

    # when: Lena opens the case and approves
    context, page = sign_in(browser, live_server, "lena", case_path)
    panel = page.locator("#care-panel")
    page.locator("#care-approvals").get_by_role("button", name="Approve").click()
    # then
    expect(page.locator(".flash")).to_contain_text("Gesture approved.")
    expect(panel).to_contain_text(
        "requested by Alice Agent; sent to Lena Lead for approval; approved by Lena Lead"
    )
    assert Gesture.objects.get().decided_by_id == lead.pk
    context.close()
