import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from tests.conftest import login
from tests.feedback.conftest import answers, close, invite, path_of, question

from cherish.care import actions as care_actions
from cherish.care.models import Target
from cherish.cases.models import Case
from cherish.cases.outgoing import portal_url
from cherish.feedback import actions
from cherish.feedback.models import (
    Answer,
    CustomerFeedback,
    Invitation,
    Measure,
    SurveyPolicy,
    SurveyResponse,
)

T0 = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC)


def click_path(invitation, value):
    return path_of(actions.survey_url(invitation, value))


def page_path(invitation):
    return path_of(actions.survey_url(invitation))


def test_one_click_in_the_email_records_then_the_page_asks_the_rest(client, customer):
    # given
    invitation = invite("relationship", customer)
    # when: the customer clicks "9" in the email
    clicked = click_path(invitation, 9)
    response = client.get(clicked)
    # then: recorded, and the page with the remaining questions
    assert response.status_code == 302
    assert response["Location"] == clicked.removesuffix("a/9/") + "?answered=1"
    assert SurveyResponse.objects.get().nps == 9
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    html = page.content.decode()
    assert "your answer is recorded" in html
    nps = question("relationship", Measure.NPS).pk
    assert f'name="q{nps}" value="9" checked' in html
    assert "I can&#x27;t imagine a world without this company." in html


def test_the_page_saves_every_answer_without_javascript(client, customer, agent):
    # given
    invitation = invite("after-case", customer)
    form = {
        f"q{question('after-case', Measure.CSAT).pk}": "5",
        f"q{question('after-case', Measure.RESOLVED).pk}": "Yes",
        f"q{question('after-case', Measure.FAIR).pk}": "4",
        f"q{question('after-case', Measure.CARED).pk}": "5",
        f"q{question('after-case', Measure.WOULD_STAY).pk}": "Yes",
        f"q{question('after-case', Measure.COMMENT).pk}": "Alice sorted it in a day.",
    }
    # when
    response = client.post(page_path(invitation), form)
    # then
    assert response.status_code == 302
    saved = SurveyResponse.objects.get()
    assert (saved.csat, saved.resolved, saved.fair, saved.cared, saved.would_stay) == (
        5,
        "Yes",
        4,
        5,
        "Yes",
    )
    assert saved.comment == "Alice sorted it in a day."
    assert Answer.objects.count() == 6
    follow = client.get(response["Location"])
    assert "Thank you. We read every answer" in follow.content.decode()
    assert "You can change your answers until" in follow.content.decode()


def test_an_invalid_answer_is_shown_next_to_its_question(client, customer):
    invitation = invite("expectations", customer)
    field = f"q{question('expectations', Measure.EXPECT_COMPLAINT).pk}"
    response = client.post(page_path(invitation), {field: "500"})
    assert response.status_code == 422
    html = response.content.decode()
    assert f'<a href="#{field}">Give a number from 0 to 365.</a>' in html
    assert f'id="{field}-error"' in html
    assert 'value="500"' in html
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "eyJpIjo5OTl9" + token[token.index(":") :],
        lambda token: "nonsense",
    ],
    ids=["signature changed", "invitation id changed", "not a token"],
)
def test_a_tampered_link_is_not_found(client, customer, tamper):
    invitation = invite("relationship", customer)
    token = actions.survey_token(invitation)
    bad = tamper(token)
    assert client.get(reverse("feedback:survey", args=[bad])).status_code == 404
    assert client.get(reverse("feedback:click", args=[bad, 10])).status_code == 404
    assert not SurveyResponse.objects.exists()


def test_a_survey_token_is_no_case_page_token(client, complaint):
    invitation = invite("after-case", complaint.customer, case=complaint)
    portal_token = portal_url(complaint).rstrip("/").rsplit("/", 1)[-1]
    assert client.get(reverse("feedback:survey", args=[portal_token])).status_code == 404
    survey_token = actions.survey_token(invitation)
    assert client.get(reverse("portal:open", args=[survey_token])).status_code == 404


def test_an_expired_link_says_the_survey_closed(client, customer):
    with time_machine.travel(T0):
        invitation = invite("relationship", customer)
    with time_machine.travel(T0 + dt.timedelta(days=31)):
        clicked = client.get(click_path(invitation, 10))
        page = client.get(page_path(invitation))
    assert clicked.status_code == page.status_code == 410
    assert "This survey has closed" in clicked.content.decode()
    assert not SurveyResponse.objects.exists()


def test_replaying_a_link_records_once_and_changes_only_within_seven_days(client, customer):
    with time_machine.travel(T0):
        invitation = invite("relationship", customer)
        client.get(click_path(invitation, 8))
    with time_machine.travel(T0 + dt.timedelta(minutes=5)):
        client.get(click_path(invitation, 8))  # the same link again
    response = SurveyResponse.objects.get()
    assert (response.nps, response.changes) == (8, 0)
    with time_machine.travel(T0 + dt.timedelta(days=3)):
        client.get(click_path(invitation, 10))  # a change of mind within the week
    response.refresh_from_db()
    assert (response.nps, response.changes) == (10, 1)
    with time_machine.travel(T0 + dt.timedelta(days=8)):
        late = client.get(click_path(invitation, 3))
        page = client.get(page_path(invitation))
    assert late.status_code == 410
    assert "can no longer be changed" in late.content.decode()
    assert page.status_code == 200
    assert "These answers can no longer be changed" in page.content.decode()
    response.refresh_from_db()
    assert (response.nps, response.changes) == (10, 1)
    assert SurveyResponse.objects.count() == 1
    assert not Case.objects.exists()


def test_head_requests_never_record(client, customer):
    invitation = invite("relationship", customer)
    assert client.head(click_path(invitation, 0)).status_code == 405
    assert not SurveyResponse.objects.exists()


def test_opting_out_needs_a_click_on_the_page(client, customer):
    invitation = invite("relationship", customer)
    path = reverse("feedback:opt-out", args=[actions.survey_token(invitation)])
    assert client.get(path).status_code == 200
    assert not CustomerFeedback.objects.filter(surveys_opted_out=True).exists()
    response = client.post(path)
    assert "We will not send you surveys any more" in response.content.decode()
    assert CustomerFeedback.objects.get(customer=customer).surveys_opted_out


def _resolved(complaint, agent):
    care_actions.record_resolution(complaint, text="Replaced the kettle.", by=agent)
    return portal_url(complaint)


def test_the_case_page_offers_the_rating_once_resolved(client, complaint, agent):
    # given: open and unresolved, no rating
    page = client.get(path_of(portal_url(complaint)), follow=True)
    assert 'id="case-rating"' not in page.content.decode()
    # when resolved
    page = client.get(path_of(_resolved(complaint, agent)), follow=True)
    html = page.content.decode()
    assert 'id="case-rating"' in html
    assert "How satisfied are you with the way we handled your case?" in html


def test_rating_from_the_case_page_records_without_an_email(client, complaint, agent):
    # given
    page = client.get(path_of(_resolved(complaint, agent)), follow=True).content.decode()
    rate = next(
        part.split('"', 1)[0] for part in page.split('action="')[1:] if part.startswith("/rate/")
    )
    # when: the customer presses 4
    response = client.post(rate, {"value": "4"})
    # then
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.channel, invitation.case, invitation.status) == (
        "case_page",
        complaint,
        "answered",
    )
    assert SurveyResponse.objects.get().csat == 4
    again = client.get(path_of(portal_url(complaint)), follow=True).content.decode()
    assert "You told us: 4 of 5" in again


def test_the_desk_lists_response_rates_and_sets_targets_from_expectations(client, lead, customer):
    # given: three customers expect 2, 3 and 10 days
    from cherish.customers.actions import find_or_create_customer

    for i, days in enumerate([2, 3, 10]):
        someone, _ = find_or_create_customer(name=f"C {i}", email=f"c{i}@example.com")
        actions.record_answers(
            invite("expectations", someone),
            answers("expectations", expect_complaint_days=days),
        )
    login(client, lead)
    # when
    page = client.get(reverse("feedback:surveys"))
    response = client.post(
        reverse("feedback:set-target"),
        {"kind": "complaint", "severity": "normal", "measure": "expect_complaint_days"},
    )
    # then: the median of 2, 3, 10 is 3 days; 9–5 five days a week is 2400/7 minutes a day
    html = page.content.decode()
    assert "Median 3 days from 3 answers" in html
    assert response.status_code == 302
    target = Target.objects.get(kind="complaint", severity="normal")
    assert target.source == "customer_expectation"
    assert target.resolution_business_minutes == round(3 * 2400 / 7)
    assert target.note.startswith("Median of 3 customer answers: 3 days")


def test_an_agent_cannot_set_targets(client, agent):
    login(client, agent)
    response = client.post(
        reverse("feedback:set-target"),
        {"kind": "complaint", "severity": "normal", "measure": "expect_complaint_days"},
    )
    assert response.status_code == 403
    assert not Target.objects.filter(source="customer_expectation").exists()


def test_the_customer_page_shows_answers_and_the_timeline(client, agent, complaint):
    SurveyPolicy.objects.filter(pk=1).update(max_invitations=2)
    close(complaint)
    actions.invite_after_closed_cases()
    actions.record_answers(Invitation.objects.get(), answers("after-case", csat=5))
    actions.record_answers(
        invite("relationship", complaint.customer),
        answers("relationship", nps=10, loyalty_confidence=5, loyalty_fairness=5),
    )
    login(client, agent)
    html = client.get(reverse("outreach:customer", args=[complaint.customer_id])).content.decode()
    assert "Net Promoter group: <strong>Promoter (9–10)</strong>" in html
    assert "Loyalty level: <strong>Fairness</strong>" in html
    assert "satisfaction 5/5" in html
    assert "Survey answered: After a case" in html
    assert "Survey answered: Relationship" in html
