"""Every form of the people pages, the survey pages and the desk's "stuck" lists, submitted in
real Chromium by clicking its own button: thanking a colleague, closing a pulse and recording
its action plan, the customer's one-click rating on their case page, a resolution target set
from customers' expectations, reading an unreadable email again and retrying outgoing mail
and webhooks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django_tasks.signals import task_enqueued
from tests.browser.signing_in import sign_in
from tests.conftest import PASSWORD
from tests.feedback.conftest import answers, invite
from tests.outbox.conftest import MailSink, TaskQueue, WebhookReceiver, read_eml

from cherish.care import actions as care_actions
from cherish.care.demo import seed_defaults
from cherish.care.models import Target
from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.cases.outgoing import portal_url
from cherish.core.clock import now
from cherish.customers.actions import find_or_create_customer
from cherish.feedback import actions as feedback_actions
from cherish.feedback.demo import seed_builtin_surveys
from cherish.feedback.models import Invitation, Survey, SurveyResponse
from cherish.feedback.queries import forget_questions
from cherish.intake.actions import mark_raw_failed, store_raw
from cherish.intake.email.receive import receive_email
from cherish.intake.models import RawContact
from cherish.outbox.actions import queue_email
from cherish.outbox.models import OutgoingEmail, WebhookDelivery, WebhookSubscription
from cherish.staff import actions as staff_actions
from cherish.staff.models import PulseActionPlan, Recognition

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def flash(page: Any, kind: str = "success") -> Any:
    return page.locator(f".flash-{kind}")


# ---------------------------------------------------------------- people


def test_agent_thanks_a_colleague_on_the_wall(
    browser, live_server, transactional_db, agent, other_agent
):
    # given: Alice on the recognition wall, where nobody has been thanked yet
    context, page = sign_in(browser, live_server, "alice", "/desk/people/")
    expect(page.get_by_text("No recognition yet this month.")).to_be_visible()

    # when: she tries to thank herself
    page.get_by_label("Colleague", exact=True).select_option(label="Alice Agent")
    page.get_by_label("What they did to help").fill("I covered my own shift.")
    page.get_by_role("button", name="Send thanks").click()
    # then: refused, nothing recorded
    expect(flash(page, "error")).to_have_text("Thank a colleague, not yourself.")
    assert not Recognition.objects.exists()

    # when: she thanks Bob for taking her calls
    page.get_by_label("Colleague", exact=True).select_option(label="Bob Other")
    page.get_by_label("What they did to help").fill("Took my calls while I was at the dentist.")
    page.get_by_role("button", name="Send thanks").click()
    # then: the thanks is on the wall under Bob's name, from Alice
    expect(flash(page)).to_have_text("Thank you sent. It is on the wall.")
    bob = page.locator(".wall > li", has=page.get_by_role("heading", name="Bob Other"))
    expect(bob).to_contain_text(
        "Thanks from a colleague from Alice Agent: “Took my calls while I was at the dentist.”"
    )
    thanks = Recognition.objects.get()
    assert (thanks.staff, thanks.from_staff, thanks.kind, thanks.message) == (
        other_agent,
        agent,
        "peer",
        "Took my calls while I was at the dentist.",
    )
    context.close()


def test_manager_closes_a_pulse_and_records_what_we_will_do(
    browser, live_server, transactional_db, care_team, manager
):
    # given: an open pulse that five of the care team have answered
    at = now()
    survey = staff_actions.open_pulse(
        title="How are we doing?",
        questions=["I can give customers the service they deserve.", "My tools help me."],
        opens_at=at - dt.timedelta(days=1),
        closes_at=at + dt.timedelta(days=6),
        by=manager,
    )
    for i in range(5):
        person = staff_actions.create_staff(
            username=f"carer{i}", password=PASSWORD, display_name=f"Carer {i}", team=care_team
        )
        staff_actions.answer_pulse(survey, scores={0: 4, 1: 2}, by=person)
    context, page = sign_in(browser, live_server, "mia", f"/desk/people/pulse/{survey.pk}/")
    expect(page.get_by_text("Results appear when the pulse closes")).to_be_visible()

    # when: the manager closes it now
    page.get_by_role("button", name="Close the pulse now").click()
    # then: closed, and the results of the five answers appear
    expect(flash(page)).to_have_text("Pulse closed; results are shown for groups of five or more.")
    results = page.locator("section", has=page.get_by_role("heading", name="Results"))
    expect(results.get_by_role("columnheader", name="Everyone (5 answers)")).to_be_visible()
    expect(results.get_by_role("row", name=re.compile("^My tools help me"))).to_contain_text("2")
    expect(page.get_by_role("button", name="Close the pulse now")).to_have_count(0)
    survey.refresh_from_db()
    assert survey.closes_at <= now()

    # when: the manager records what the team will do about the low tools score
    plan_form = page.locator("form", has=page.get_by_role("button", name="Record the plan"))
    plan_form.get_by_label("What we will do").fill("Faster laptops for the care team")
    # (Its Team label names its own select: the results filter's has ids of its own.)
    plan_form.get_by_label("Team").select_option(label="Customer Care")
    plan_form.get_by_label("Owner").select_option(label="Mia Manager")
    plan_form.get_by_label("Due").fill("2027-01-15")
    plan_form.get_by_label("Detail").fill("Order twelve laptops; retire the old ones.")
    plan_form.get_by_role("button", name="Record the plan").click()
    # then
    expect(flash(page)).to_have_text("Action plan recorded.")
    plans = page.locator("section", has=page.get_by_role("heading", name="What we will do"))
    expect(plans.get_by_role("listitem")).to_contain_text(
        "Faster laptops for the care team (Customer Care), Mia Manager, by 15 Jan 2027 — open"
    )
    plan = PulseActionPlan.objects.get()
    assert (plan.survey, plan.team, plan.owner, str(plan.due_date), plan.detail) == (
        survey,
        care_team,
        manager,
        "2027-01-15",
        "Order twelve laptops; retire the old ones.",
    )
    context.close()


# ---------------------------------------------------------------- surveys


def test_customer_rates_their_case_and_a_manager_sets_a_target_from_expectations(
    browser, live_server, transactional_db, agent, manager, customer, settings
):
    # given: the built-in surveys and care defaults (the flush removed the seeds), and
    # Carla's complaint, resolved
    seed_defaults()
    seed_builtin_surveys()
    forget_questions()
    settings.SITE_URL = live_server.url
    case, _ = case_actions.open_case(customer, text="The kettle leaks from the base.")
    care_actions.record_resolution(case, text="Sent a new kettle.", by=agent)
    # and three customers who told us how many days a complaint should take: 2, 3 and 10
    for i, days in enumerate([2, 3, 10]):
        someone, _ = find_or_create_customer(name=f"Expecting {i}", email=f"e{i}@example.com")
        feedback_actions.record_answers(
            invite("expectations", someone), answers("expectations", expect_complaint_days=days)
        )

    # when: Carla opens her case page from the emailed link and presses 4
    customer_page = browser.new_context().new_page()
    customer_page.goto(portal_url(case))
    rating = customer_page.locator("#case-rating")
    expect(rating.get_by_role("heading", name="How did we do?")).to_be_visible()
    rating.get_by_role("button", name=re.compile(r"^4: ")).click()
    # then: the survey page thanks her and asks the rest, with her 4 recorded
    expect(flash(customer_page)).to_have_text(
        "Thank you for your rating. Tell us a little more if you like."
    )
    customer_page.wait_for_url(re.compile(r"/s/[^/]+/$"))
    invitation = Invitation.objects.get(case=case)
    assert (invitation.channel, invitation.status) == ("case_page", "answered")
    assert SurveyResponse.objects.get(invitation=invitation).csat == 4
    # and her case page now says what she told us instead of asking again
    customer_page.goto(f"{live_server.url}/your-case/{case.reference}/")
    expect(customer_page.locator("#case-rating")).to_contain_text("You told us: 4 of 5.")
    expect(customer_page.locator("#case-rating").get_by_role("button")).to_have_count(0)

    # when: the manager opens the survey overview and sets the complaint target from answers
    context, page = sign_in(browser, live_server, "mia", "/desk/surveys/")
    after_case = Survey.objects.get(key="after-case").name
    row = page.locator("#response-rates tr", has=page.get_by_role("rowheader", name=after_case))
    expect(row.get_by_role("cell")).to_have_text(["on", "1", "1", re.compile(r"^100(\.0)?%$"), "—"])
    expect(page.locator("#expectations")).to_contain_text("Median 3 days from 3 answers")
    page.get_by_label("Set the resolution target from").select_option(
        label="Days a complaint should take"
    )
    page.get_by_label("for", exact=True).select_option(value="complaint")
    page.get_by_label("at severity").select_option(value="normal")
    page.get_by_role("button", name="Set target").click()
    # then: the target follows the median of 3 days, and the table says where it came from
    expect(flash(page)).to_contain_text(
        "The complaint / normal resolution target now follows customers: "
        "Median of 3 customer answers: 3 days"
    )
    target = Target.objects.get(kind="complaint", severity="normal")
    assert target.source == "customer_expectation"
    assert target.resolution_business_minutes == round(3 * 2400 / 7)
    target_row = page.locator("#targets tr", has_text="customers — Median of 3 customer answers")
    expect(target_row.get_by_role("cell").nth(2)).to_have_text(
        str(target.resolution_business_minutes)
    )
    context.close()


# ---------------------------------------------------------------- what is stuck


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def sink(settings: Any) -> Iterator[MailSink]:
    s = MailSink()
    s.start()
    settings.EMAIL_URL = s.url
    yield s
    s.stop()


@pytest.fixture
def queued() -> Iterator[TaskQueue]:
    """Every task enqueued from any thread (the live server's too), to run when we say."""
    queue = TaskQueue()
    task_enqueued.connect(queue.receive, weak=False)
    yield queue
    task_enqueued.disconnect(queue.receive)


def test_manager_reads_an_email_again_and_retries_mail_and_a_webhook(
    browser, live_server, transactional_db, agent, manager, sink, receiver, queued
):
    # given: two stored emails that could not be read: Carla's, stored while the database
    # refused the write, and one without a readable sender
    carla = store_raw(
        "email", raw_bytes=read_eml("complaint_plain.eml"), sender="carla@example.com"
    )
    mark_raw_failed(carla, "OperationalError: database is locked")
    malformed = receive_email(read_eml("malformed_mime.eml")).raw
    # and an email and a webhook delivery that gave up
    email = queue_email(to="dora@example.com", subject="Your case, a week on", text="Hello Dora")
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status="failed", attempts=10, last_error="attempt 10: ConnectionRefusedError"
    )
    subscription = WebhookSubscription.objects.create(
        name="CRM", url=receiver.url, secret="s3cret", event_types=["case.stage_changed"]
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="case.stage_changed",
        payload={"type": "case.stage_changed", "data": {"case": "CX-1"}},
        created_at=now(),
        status="failed",
        attempts=8,
        response_code=503,
        last_error="HTTP 503",
    )
    queued.clear()
    context, page = sign_in(browser, live_server, "mia", "/desk/unreadable/")
    expect(page.get_by_role("link", name="Could not read (2)")).to_be_visible()

    # when: the manager reads the email without a sender again
    page.locator("tr", has_text="No valid sender address").get_by_role(
        "button", name="Read again"
    ).click()
    # then: still not added, and it stays on the list
    expect(flash(page, "error")).to_contain_text("Still not added (failed):")
    malformed.refresh_from_db()
    assert malformed.status == "failed"

    # when: the manager reads Carla's email again
    carla_row = page.locator("tr", has_text="carla@example.com")
    carla_row.get_by_role("button", name="Read again").click()
    # then: it opened a case and left the list
    expect(flash(page)).to_have_text("The email was read and added to a case.")
    expect(page.get_by_role("link", name="Could not read (1)")).to_be_visible()
    expect(carla_row).to_have_count(0)
    carla.refresh_from_db()
    assert carla.status == "processed"
    case = Case.objects.get(pk=carla.case_id)
    assert (case.channel, case.subject, case.owner) == ("email", "My parcel arrived broken", agent)
    assert RawContact.objects.filter(status="failed").get() == malformed

    # when: on the outbox the manager retries the failed email
    queued.clear()
    page.goto(f"{live_server.url}/desk/outbox/")
    emails = page.locator("section", has=page.get_by_role("heading", name="Emails not yet sent"))
    emails.locator("tr", has_text="dora@example.com").get_by_role(
        "button", name="Retry now"
    ).click()
    # then: a fresh round of attempts, queued for delivery
    expect(flash(page)).to_have_text("The email to dora@example.com will be sent again now.")
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 0)
    assert queued.names() == ["deliver_email_task"]
    # and once the worker runs it, the mail server has it and the page lists it as sent
    queued.run()
    assert [m["Subject"] for m in sink.messages()] == ["Your case, a week on"]
    email.refresh_from_db()
    assert email.status == "sent"
    page.reload()
    expect(page.get_by_text("Every email has been sent.")).to_be_visible()
    recent = page.locator("section", has=page.get_by_role("heading", name="Recently sent"))
    expect(recent).to_contain_text("dora@example.com · Your case, a week on")

    # when: the manager retries the failed webhook
    webhooks = page.locator("section", has=page.get_by_role("heading", name="Webhooks not yet"))
    webhooks.locator("tr", has_text="CRM").get_by_role("button", name="Retry now").click()
    # then
    expect(flash(page)).to_have_text("The webhook will be delivered again now.")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert queued.names() == ["deliver_webhook_task"]
    queued.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == ("sent", 200)
    assert len(receiver.requests) == 1 and b"CX-1" in receiver.requests[0]["body"]
    page.reload()
    expect(page.get_by_text("Every webhook has been delivered.")).to_be_visible()
    context.close()
