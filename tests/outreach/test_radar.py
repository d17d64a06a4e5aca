import datetime as dt

from django.test import Client
from django.urls import reverse
from tests.conftest import login

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.customers.actions import find_or_create_customer
from cherish.outreach import radar
from cherish.outreach.models import ChurnScore

UTC = dt.UTC
AS_OF = dt.datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def monthly(txn, customer, prefix, months, *, last_gap=30):
    at = AS_OF - dt.timedelta(days=5)
    for i in range(months):
        txn(customer, f"{prefix}-{i}", at)
        at -= dt.timedelta(days=last_gap if i == 0 else 30)


def test_steady_customer_scores_low(customer, txn):
    monthly(txn, customer, "S", 12)
    radar.compute_churn_scores(as_of=AS_OF)
    score = ChurnScore.objects.get(customer=customer)
    assert score.score < 0.1
    assert score.reasons == []


def test_broken_rhythm_scores_high_with_plain_reasons(customer, txn):
    # given: bought every 30 days for a year, then nothing for 150 days
    at = AS_OF - dt.timedelta(days=150)
    for i in range(12):
        txn(customer, f"L-{i}", at - dt.timedelta(days=30 * i))
    # when
    radar.compute_churn_scores(as_of=AS_OF)
    # then
    score = ChurnScore.objects.get(customer=customer)
    assert score.score > 0.5
    assert score.reasons[0] == "No purchase for 150 days; they usually buy every 30 days"


def test_unchecked_complaint_and_silence_add_reasons(customer, agent, txn):
    # given: a complaint 80 days ago, closed, and no purchase since
    for i in range(6):
        txn(customer, f"C-{i}", AS_OF - dt.timedelta(days=90 + 14 * i))
    case, _ = case_actions.open_case(customer, text="Wrong item again")
    Case.objects.filter(pk=case.pk).update(created_at=AS_OF - dt.timedelta(days=80))
    # when
    radar.compute_churn_scores(as_of=AS_OF)
    # then
    score = ChurnScore.objects.get(customer=customer)
    joined = " | ".join(score.reasons)
    assert f"Complained recently ({case.reference}) and nobody checked" in joined
    assert "Silent for 80 days since their last complaint" in joined
    assert len(score.reasons) <= 3


def test_radar_page_ranks_by_value_and_reach_out_opens_one_case(
    desk_client, agent, other_agent, manager, txn
):
    # given: two lapsing customers; the richer one first; the usual contact is Bob
    rich, _ = find_or_create_customer(name="Rich Lapsing", email="rich@example.com")
    poor, _ = find_or_create_customer(name="Poor Lapsing", email="poor@example.com")
    for who, amount in ((rich, "500"), (poor, "5")):
        for i in range(8):
            txn(who, f"{who.pk}-{i}", AS_OF - dt.timedelta(days=200 + 30 * i), amount=amount)
    old, _ = case_actions.open_case(rich, text="Question about my order", kind="inquiry")
    case_actions.reassign_case(old, to=other_agent, note="Bob knows this customer well.", by=agent)
    case_actions.change_stage(old, stage="closed", by=agent)
    radar.compute_churn_scores(as_of=AS_OF)
    # when
    # the manager sees every customer; Alice only those her team cares for (the rich one)
    page = login(Client(), manager).get(reverse("outreach:radar"))
    mine = desk_client.get(reverse("outreach:radar")).content.decode()
    assert "Rich Lapsing" in mine and "Poor Lapsing" not in mine
    desk_client.post(reverse("outreach:reach-out", args=[rich.pk]))
    desk_client.post(reverse("outreach:reach-out", args=[rich.pk]))
    # then
    content = page.content.decode()
    assert content.index("Rich Lapsing") < content.index("Poor Lapsing")
    [case] = Case.objects.filter(customer=rich, is_open=True)
    assert case.owner == other_agent
    assert case.channel == "phone"
    assert ChurnScore.objects.get(customer=rich).outreach_case == case


def test_radar_hears_leaving_from_any_message_of_a_case(customer, agent):
    # given: a customer who said they are leaving, then thanked us in the same case
    from cherish.triage.tasks import triage_message

    case, first = case_actions.open_case(customer, text="I'll take my business elsewhere.")
    second = case_actions.add_inbound_message(case, text="Thank you, kind of you.", channel="web")
    triage_message(first.pk)
    triage_message(second.pk)
    Case.objects.filter(pk=case.pk).update(last_inbound_at=AS_OF - dt.timedelta(days=2))
    # when
    found = radar.gather_signals(AS_OF, {customer.pk})
    # then
    assert found[customer.pk].said_leaving


def test_the_radar_and_left_customers_ask_the_boundary_per_row_not_of_every_customer(
    customer, agent, other_agent
):
    """``customer_id IN (every customer the viewer may see)`` built that whole set (each
    customer's cases checked against the boundary) on every view of the radar and the leave
    reasons page: 1.2-2 s of CPU at 1M cases (issue #14). Now each row read asks of its own
    customer, by id; the viewer still sees only their customers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cherish.customers.access import visible_customers
    from cherish.customers.models import LeaveReason
    from cherish.outreach.queries import left_customers, radar_page

    mine, _ = find_or_create_customer(name="Mine Lapsing", email="mine@example.com")
    case_actions.open_case(mine, text="Where is my parcel?")
    for who in (customer, mine):
        ChurnScore.objects.create(customer=who, score=0.9, priority=1.0, computed_at=AS_OF)
        LeaveReason.objects.create(customer=who, reason="price", recorded_at=AS_OF)
        type(who).objects.filter(pk=who.pk).update(status="left")
    among = visible_customers(agent)
    expected = set(among.filter(pk__in=[customer.pk, mine.pk]).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as captured:
        page = radar_page(among=among)
        assert {score.customer_id for score in page.object_list} == expected
        assert {reason.customer_id for reason in left_customers(among=among)} == expected
    assert expected == {mine.pk}
    if connection.vendor == "sqlite":
        for sql in [q["sql"] for q in captured.captured_queries]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = [str(row[-1]) for row in cursor.fetchall()]
            assert not [step for step in plan if step.startswith("SCAN U0")], plan
