import datetime as dt
import re

import time_machine
from django.urls import reverse

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.customers.actions import update_customer
from cherish.outbox.models import OutgoingEmail
from cherish.outreach import actions
from cherish.outreach.models import FollowUp, FollowUpRule

UTC = dt.UTC
DELIVERED = dt.datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # a Monday


def make_rule(**kw):
    defaults = {
        "name": "After delivery",
        "transaction_kind": "delivery",
        "delay_days": 3,
        "question": "Did everything go as expected?",
    }
    defaults.update(kw)
    return FollowUpRule.objects.create(**defaults)


def tick(at):
    actions.schedule_follow_ups(at=at)
    return actions.send_due_follow_ups(at=at)


def test_follow_up_sent_after_delay_with_three_answer_links(customer, txn):
    # given
    make_rule()
    txn(customer, "D-1", DELIVERED, kind="delivery")
    # when: not yet due, then due
    assert tick(DELIVERED + dt.timedelta(days=1)) == {}
    counts = tick(DELIVERED + dt.timedelta(days=3, hours=1))
    # then
    assert counts == {"sent": 1}
    email = OutgoingEmail.objects.get()
    assert email.to_address == "carla@example.com"
    assert len(re.findall(r"/followup/[^\s]+/", email.text_body)) == 3
    assert FollowUp.objects.get().sent_at is not None
    # and running again sends nothing more
    assert tick(DELIVERED + dt.timedelta(days=3, hours=2)) == {}
    assert OutgoingEmail.objects.count() == 1


def test_quiet_hours_postpone_in_customer_time_zone(customer, txn):
    # given: 10:00 UTC is 21:00 in Sydney, inside 20:00–09:00 quiet hours
    update_customer(customer, by=None, time_zone="Australia/Sydney")
    make_rule()
    txn(customer, "D-1", DELIVERED, kind="delivery")
    due = DELIVERED + dt.timedelta(days=3)
    # when
    counts = tick(due)
    # then
    assert counts == {"scheduled": 1}
    follow_up = FollowUp.objects.get()
    assert follow_up.sent_at is None
    assert follow_up.scheduled_for == dt.datetime(2025, 3, 6, 22, 0, tzinfo=UTC)  # 09:00 Sydney
    assert tick(follow_up.scheduled_for) == {"sent": 1}


def test_frequency_cap_skips_second_follow_up(customer, txn):
    make_rule(frequency_cap=1, frequency_days=30)
    txn(customer, "D-1", DELIVERED, kind="delivery")
    txn(customer, "D-2", DELIVERED + dt.timedelta(days=1), kind="delivery")
    tick(DELIVERED + dt.timedelta(days=3, hours=1))
    counts = tick(DELIVERED + dt.timedelta(days=4, hours=1))
    assert counts == {"frequency_cap": 1}
    assert OutgoingEmail.objects.count() == 1


def test_opted_out_customer_never_asked(customer, txn):
    update_customer(customer, by=None, opted_out=True)
    make_rule()
    txn(customer, "D-1", DELIVERED, kind="delivery")
    assert tick(DELIVERED + dt.timedelta(days=3, hours=1)) == {"opted_out": 1}
    assert not OutgoingEmail.objects.exists()


def test_open_complaint_about_same_transaction_blocks(customer, agent, txn):
    make_rule()
    txn(customer, "D-1", DELIVERED, kind="delivery")
    case_actions.open_case(customer, text="Broken on arrival", order_reference="D-1")
    assert tick(DELIVERED + dt.timedelta(days=3, hours=1)) == {"open_complaint_same_transaction": 1}
    assert not OutgoingEmail.objects.exists()


def _sent_follow_up(customer, txn):
    make_rule()
    txn(customer, "D-1", DELIVERED, kind="delivery")
    tick(DELIVERED + dt.timedelta(days=3, hours=1))
    return FollowUp.objects.get()


def test_no_answer_opens_exactly_one_case_even_when_clicked_twice(client, customer, agent, txn):
    # given
    follow_up = _sent_follow_up(customer, txn)
    url = actions.answer_url(follow_up, "no").split("testserver")[-1]
    path = url[url.index("/followup/") :]
    # when: the link is opened (a mail scanner would do this) then confirmed twice
    assert client.get(path).status_code == 200
    assert not Case.objects.exists()
    first = client.post(path, {"comment": "The box was crushed."})
    second = client.post(path, {"comment": "The box was crushed."})
    # then
    assert first.status_code == second.status_code == 200
    [case] = Case.objects.all()
    assert case.customer == customer
    assert case.order_reference == "D-1"
    assert case.owner == agent
    assert case.kind == "complaint"
    follow_up.refresh_from_db()
    assert (follow_up.answer, follow_up.case_id) == ("no", case.pk)
    assert "The box was crushed." in case.messages.first().body_text
    assert case.reference.encode() in first.content


def test_yes_answer_opens_nothing(client, customer, txn):
    follow_up = _sent_follow_up(customer, txn)
    url = actions.answer_url(follow_up, "yes")
    client.post(url[url.index("/followup/") :])
    follow_up.refresh_from_db()
    assert follow_up.answer == "yes"
    assert not Case.objects.exists()


def test_tampered_token_is_404(client, db):
    assert client.get(reverse("outreach:answer", args=["nonsense"])).status_code == 404


def test_outreach_tick_command(customer, txn):
    from io import StringIO

    from django.core.management import call_command

    make_rule()
    with time_machine.travel(DELIVERED + dt.timedelta(days=3, hours=1), tick=False):
        txn(customer, "D-1", DELIVERED, kind="delivery")
        out = StringIO()
        call_command("outreach_tick", stdout=out)
        call_command("outreach_tick", stdout=out)
    assert "1 follow-ups scheduled; due: 1 sent." in out.getvalue()
    assert OutgoingEmail.objects.count() == 1


def test_follow_up_email_and_page_speak_the_customers_language(client, customer, agent, txn):
    # given: a Portuguese customer
    customer.language = "pt"
    customer.save(update_fields=["language"])
    follow_up = _sent_follow_up(customer, txn)
    email = OutgoingEmail.objects.get(pk=follow_up.email_pk)
    assert email.text_body.startswith("Caro(a) ")
    assert "Sobre a sua entrega (D-1): Did everything go as expected?" in email.text_body
    assert "  Não totalmente: http" in email.text_body
    # when: they open the "not quite" link
    url = actions.answer_url(follow_up, "not_quite")
    page = client.get(url[url.index("/followup/") :], HTTP_ACCEPT_LANGUAGE="en")
    # then: in Portuguese, in their words (no internal ids), the staff side stays English
    html = page.content.decode()
    assert (
        "Sobre: entrega de 3 de Março de 2025. A sua resposta: <strong>Não totalmente</strong>."
        in html
    )
    assert "D-1" not in html
    client.post(url[url.index("/followup/") :], {"comment": ""})
    [case] = Case.objects.all()
    assert "the customer answered “not quite”" in case.messages.first().body_text
