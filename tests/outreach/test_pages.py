import datetime as dt

from django.urls import reverse
from tests.conftest import login

from cherish.cases import actions as case_actions
from cherish.core.clock import now
from cherish.customers.models import LeaveReason


def test_customer_list_search(desk_client, customer, complaint):
    response = desk_client.get(reverse("customers:list"), {"q": "carla@example.com"})
    assert b"Carla Customer" in response.content
    response = desk_client.get(reverse("customers:list"), {"q": "nobody"})
    assert b"Carla Customer" not in response.content


def test_customer_pages_refuse_anonymous(client, customer):
    for url in (
        reverse("customers:list"),
        reverse("outreach:customer", args=[customer.pk]),
        reverse("outreach:radar"),
        reverse("outreach:moments"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_customer_360_shows_everything_in_fixed_queries(
    desk_client, customer, agent, txn, django_assert_max_num_queries
):
    # given
    for i in range(30):
        txn(customer, f"T-{i}", now() - dt.timedelta(days=10 * i), amount="20")
    for i in range(5):
        case_actions.open_case(customer, text=f"Problem {i}")
    url = reverse("outreach:customer", args=[customer.pk])
    desk_client.get(url)
    # when
    with django_assert_max_num_queries(27):  # 26, and the audit log's line (customer.viewed)
        response = desk_client.get(url)
    # then
    body = response.content.decode()
    assert "carla@example.com" in body
    assert "600.00 GBP" in body  # lifetime
    assert "Open cases (5 of 5)" in body
    assert "Order T-0" in body and "Problem 4" in body
    filtered = desk_client.get(url, {"type": "transactions"})
    assert "Problem 4" not in filtered.content.decode().split('id="timeline"')[1]


def test_key_facts_on_case_page(desk_client, customer, complaint):
    from django.template import Context, Template

    html = Template("{% load customer_panels %}{% customer_key_facts case %}").render(
        Context({"case": complaint})
    )
    assert "No other open complaints" in html
    assert "No purchases on record" in html
    assert reverse("outreach:customer", args=[customer.pk]) in html


def test_status_left_records_reason_and_report_compares(desk_client, customer, agent, complaint):
    url = reverse("outreach:change-status", args=[customer.pk])
    desk_client.post(url, {"status": "left", "reason": ""})
    customer.refresh_from_db()
    assert customer.status == "active"
    desk_client.post(
        url, {"status": "left", "reason": "indifference", "note": "Nobody called back"}
    )
    customer.refresh_from_db()
    assert customer.status == "left"
    assert LeaveReason.objects.get().reason == "indifference"
    report = desk_client.get(reverse("outreach:leave-reasons")).content.decode()
    assert "68%" in report and "100.0%" in report
    desk_client.post(reverse("outreach:win-back", args=[customer.pk]))
    assert customer.cases.filter(channel="phone", is_open=True).count() == 1


def test_a_second_click_on_win_back_opens_no_second_case(desk_client, customer, agent, complaint):
    from cherish.customers.actions import change_customer_status

    # given a customer who left for a reason that allows asking them back
    change_customer_status(customer, status="left", reason="product_price", by=agent)
    url = reverse("outreach:win-back", args=[customer.pk])
    # when "Start win-back" is posted twice (a double click, or a colleague on the same list)
    first = desk_client.post(url)
    second = desk_client.post(url)
    # then one win-back case is open, and both answers lead to it
    assert first.status_code == second.status_code == 302
    [case] = customer.cases.filter(channel="phone", is_open=True)
    assert case.events.filter(type="outreach.started", data__kind="win_back").count() == 1
    # and the list of those who left links it where the button was
    listed = desk_client.get(reverse("outreach:leave-reasons")).content.decode()
    assert f"Win-back under way: {case.reference}" in listed
    assert "Start win-back" not in listed
    # once it is closed, a new win-back may start
    customer.cases.filter(pk=case.pk).update(is_open=False)
    desk_client.post(url)
    assert customer.cases.filter(channel="phone", is_open=True).exclude(pk=case.pk).count() == 1


def test_win_back_refused_when_customer_died(desk_client, customer, agent):
    from cherish.customers.actions import change_customer_status

    change_customer_status(customer, status="left", reason="died", by=agent)
    desk_client.post(reverse("outreach:win-back", args=[customer.pk]))
    assert customer.cases.count() == 0


def test_key_fact_figures_match_customer_value_in_one_query(
    customer, complaint, txn, django_assert_num_queries
):
    from decimal import Decimal

    from cherish.customers.models import Transaction
    from cherish.customers.queries import customer_value, key_fact_figures

    # given: purchases inside and outside the last 12 months, one refunded; two more
    # complaints, one of them closed
    at = now()
    txn(customer, "T-1", at - dt.timedelta(days=3), amount="19.99")
    txn(customer, "T-2", at - dt.timedelta(days=200), amount="0.10")
    txn(customer, "T-3", at - dt.timedelta(days=400), amount="50")
    txn(customer, "T-4", at - dt.timedelta(days=1), amount="7")
    Transaction.objects.filter(external_id="T-4").update(status="refunded")
    case_actions.open_case(customer, text="Another problem")
    closed, _ = case_actions.open_case(customer, text="An old problem")
    type(closed).objects.filter(pk=closed.pk).update(is_open=False)
    # when
    with django_assert_num_queries(1):
        value, others = key_fact_figures(customer, besides_case_id=complaint.pk, as_of=at)
    # then: the same figures as the ORM's aggregate, and one other open complaint
    assert value == customer_value(customer, as_of=at)
    assert (value.lifetime, value.last_12_months, value.transaction_count) == (
        Decimal("70.09"),
        Decimal("20.09"),
        4,
    )
    assert value.first_at is not None and value.first_at.tzinfo is not None
    assert others == 1


def test_the_customer_pages_forms_post_what_their_django_forms_read(
    client, customer, agent, manager
):
    """The status, date and erase forms are written in the template (issue #14: rendering
    them as Django forms was a fifth of the page's CPU): each posts the fields its form
    reads, with labels tied to unique ids, and what it posts is accepted."""
    import re

    from cherish.customers.models import ImportantDate
    from cherish.outreach.forms_staff import EraseForm, ImportantDateForm, StatusForm

    # given (a manager: an agent is not offered the erase form)
    case_actions.open_case(customer, text="Hello.")
    desk_client = login(client, manager)
    html = desk_client.get(reverse("outreach:customer", args=[customer.pk])).content.decode()
    # then
    forms = {
        action: set(re.findall(r'name="(\w+)"', body)) - {"csrfmiddlewaretoken"}
        for action, body in re.findall(
            r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S
        )
    }
    assert forms[reverse("outreach:change-status", args=[customer.pk])] == set(
        StatusForm.base_fields
    )
    assert forms[reverse("outreach:add-date", args=[customer.pk])] == set(
        ImportantDateForm.base_fields
    )
    assert forms[reverse("outreach:erase", args=[customer.pk])] == set(EraseForm.base_fields)
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert target in ids
    assert '<option value="active" selected>Active</option>' in html
    # and what they post is accepted
    desk_client.post(
        reverse("outreach:add-date", args=[customer.pk]),
        {"kind": "birthday", "date": "1980-05-10", "note": "", "recurring": "on"},
    )
    assert ImportantDate.objects.get(customer=customer).recurring


def test_the_timeline_filter_answers_htmx_with_the_timeline_alone(desk_client, customer, txn):
    # given
    txn(customer, "T-7", now() - dt.timedelta(days=3), amount="20")
    case_actions.open_case(customer, text="Problem 7")
    url = reverse("outreach:customer", args=[customer.pk])
    # when: the filter's checkboxes change (hx-get with partial=timeline)
    response = desk_client.get(
        url, {"type": "transactions", "partial": "timeline"}, HTTP_HX_REQUEST="true"
    )
    # then
    html = response.content.decode()
    assert html.startswith('\n<ol class="timeline">') and "<html" not in html
    assert "Order T-7" in html and "Problem 7" not in html
