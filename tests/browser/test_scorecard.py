"""From the survey email to the scorecard in real Chromium: a customer answers on a 360-px
phone by one click in the email, then a manager opens the scorecard, sees charts drawn from
data with a data table beside each, and exports a CSV. Screenshots go to docs/ (README)."""

from __future__ import annotations

import re

import pytest
from tests.scorecard.conftest import dataset  # noqa: F401 - the constructed dataset

from cherish.customers.models import ContactPoint
from cherish.feedback import actions
from cherish.feedback.models import Survey, SurveyResponse
from cherish.outbox.models import OutgoingEmail
from cherish.scorecard import rollups

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def survey_email(live_server, transactional_db, settings, dataset) -> str:  # noqa: F811
    """The one-click "5" link of an after-case survey email, as the customer received it."""
    settings.SITE_URL = live_server.url
    case = dataset["cases"]["c1"]
    ContactPoint.objects.create(customer=case.customer, kind="email", value="carla@example.com")
    SurveyResponse.objects.filter(case=case).delete()
    case.customer.survey_invitations.all().delete()
    actions.invite(Survey.objects.get(key="after-case"), case.customer, case=case)
    html = OutgoingEmail.objects.get(to_address="carla@example.com").html_body
    links = re.findall(r'href="(http://[^"]+/a/5/)"', html)
    assert len(links) == 1
    return links[0]


def test_answer_from_the_email_on_a_phone_then_read_the_scorecard(
    browser,
    live_server,
    survey_email,
    dataset,  # noqa: F811
    docs_dir,
):
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(survey_email)
    expect(page.locator("#answer-recorded")).to_be_visible()
    assert SurveyResponse.objects.get(case=dataset["cases"]["c1"]).csat == 5
    page.get_by_role("group", name="The outcome was fair.").get_by_text("5").click()
    page.get_by_label("Anything else?").fill("Alice sorted it out in one call. Brilliant.")
    page.screenshot(path=str(docs_dir / "survey-phone.png"), full_page=True)
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("#edit-until")).to_be_visible()
    response = SurveyResponse.objects.get(case=dataset["cases"]["c1"])
    assert (response.csat, response.fair) == (5, 5)
    assert response.compliments.get().staff == dataset["alice"]
    phone.close()

    rollups.rebuild()
    desk = browser.new_context(**DESKTOP, accept_downloads=True)
    page = desk.new_page()
    page.goto(f"{live_server.url}/login/?next=/desk/scorecard/%3Fperiod%3Dyear")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill("x-pass-123")
    page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    expect(page.get_by_role("heading", name="Scorecard", exact=True)).to_be_visible()
    charts = page.locator("svg.chart[data-points]")
    assert charts.count() >= 20
    drawn = page.locator("#chart-csat polyline")
    expect(drawn).to_have_count(1)
    assert int(page.locator("#chart-csat").get_attribute("data-points")) >= 1
    table_id = page.locator("#chart-csat").get_attribute("aria-describedby")
    table = page.locator(f"#{table_id}")
    expect(table).to_have_count(1)
    page.screenshot(path=str(docs_dir / "scorecard.png"), full_page=False)
    page.locator("#figure-csat summary").click()
    expect(table.locator("tbody tr")).to_have_count(3)
    with page.expect_download() as info:
        page.get_by_role("link", name="Figures (CSV)").click()
    with open(info.value.path(), encoding="utf-8") as exported:
        text = exported.read()
    assert text.startswith("figure,key,seven_c,this_period,previous_period,unit,definition")
    assert "Net Promoter Score,nps," in text
    desk.close()
