"""A desk form posted by HTMX that is too large to read says why, and keeps what was typed."""

from __future__ import annotations

import pytest
from tests.browser.signing_in import sign_in

from cherish.cases import actions as case_actions

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
# More parts than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS is 1,000).
ADD_FIELDS = """(field) => {
  for (let i = 0; i < 1001; i++) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "extra" + i;
    input.value = "x";
    field.form.appendChild(input);
  }
}"""


def test_a_too_large_reply_by_htmx_shows_the_reason_and_keeps_the_text(
    browser, live_server, transactional_db, agent, customer
):
    # given: the agent on a case page, a reply typed
    case, _ = case_actions.open_case(customer, text="The kettle broke on the first day.")
    context, page = sign_in(browser, live_server, "alice", f"/desk/cases/{case.reference}/")
    reply = page.locator("#reply-text")
    reply.fill("We are sorry. A new kettle is on its way to you today.")
    reply.evaluate(ADD_FIELDS)
    # when
    page.get_by_role("button", name="Send reply").click()
    # then: the reason at the top of the page, the text still there, nothing sent
    alert = page.locator("#main > .flash[role=alert]")
    expect(alert).to_contain_text("had more parts than this form has")
    expect(alert).to_contain_text("nothing was saved")
    expect(reply).to_have_value("We are sorry. A new kettle is on its way to you today.")
    assert case.messages.count() == 1
    context.close()
