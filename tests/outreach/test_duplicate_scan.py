"""The duplicates page reads what the background scan stored (issue #14: flat at 1M cases)."""

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.conftest import login

from cherish.cases import actions as case_actions
from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import ContactPoint, Customer, PossibleDuplicate
from cherish.outreach import identity
from cherish.outreach.tasks import scan_duplicates_task


def _twin(name="Carla Custmer", email="carla+shop@example.com"):
    twin, _ = find_or_create_customer(name=name, email=email)
    case_actions.open_case(twin, text="Where is my refund?", channel="web")
    return twin


def test_the_scan_stores_the_pairs_and_the_page_shows_them(client, manager, customer, complaint):
    # given a twin of Carla's (same mailbox, similar name) and an unrelated customer
    twin = _twin()
    find_or_create_customer(name="Zed Unrelated", email="zed@example.com")
    # when the periodic job runs
    call_command("scan_duplicates", verbosity=0)
    # then one open pair is stored with the scan's reasons and a score
    pair = PossibleDuplicate.objects.get()
    assert (pair.first_id, pair.second_id) == tuple(sorted((customer.pk, twin.pk)))
    assert set(pair.reasons) == {"shared_email", "similar_name"}
    assert pair.score > 0
    # and the page shows it, reading stored pairs only: no contact point, no full scan
    desk = login(client, manager)
    with CaptureQueriesContext(connection) as queries:
        page = desk.get(reverse("outreach:duplicates")).content.decode()
    assert "same email address" in page and "similar name" in page
    assert str(twin) in page
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "customers_contactpoint" not in sql
    pair_reads = [q["sql"] for q in queries.captured_queries if "possibleduplicate" in q["sql"]]
    assert len(pair_reads) == 1 and "LIMIT 101" in pair_reads[0]


def test_the_scan_is_safe_to_rerun_and_keeps_decisions(agent, customer, complaint):
    # given a stored pair an agent dismissed
    twin = _twin()
    identity.scan_duplicates()
    PossibleDuplicate.objects.update(status="dismissed")
    # when the job runs again, twice
    identity.scan_duplicates()
    counts = scan_duplicates_task.call()
    # then the decision stands and nothing was added
    assert counts["created"] == 0
    assert list(PossibleDuplicate.objects.values_list("status", flat=True)) == ["dismissed"]
    # and a pair whose evidence is gone (the twin's mailbox changed) leaves the list
    PossibleDuplicate.objects.update(status="open")
    ContactPoint.objects.filter(customer=twin).update(value="other@example.org")
    Customer.objects.filter(pk=twin.pk).update(name="Quite Someone Else")
    assert identity.scan_duplicates()["removed"] == 1
    assert not PossibleDuplicate.objects.exists()


def test_the_page_keeps_to_the_team_boundary(client, agent, billing_agent, customer, complaint):
    # given Carla's twin, a customer of a billing case only
    twin, _ = find_or_create_customer(name="Carla Custmer", email="carla+shop@example.com")
    case, _ = case_actions.open_case(twin, text="Billed twice.", channel="web")
    case_actions.reassign_case(
        case, to=billing_agent, note="Billing question, yours to answer.", by=None
    )
    identity.scan_duplicates()
    assert PossibleDuplicate.objects.count() == 1
    # then neither agent sees the pair: each sees only one of the two customers
    for staff in (agent, billing_agent):
        page = login(client, staff).get(reverse("outreach:duplicates")).content.decode()
        assert "Carla Custmer" not in page
        assert "No likely duplicates" in page


def test_the_page_reads_a_page_at_a_time(client, manager, customer, complaint):
    # given more stored pairs than a page holds
    others = [
        find_or_create_customer(name=f"Person {i:03}", email=f"p{i}@example.com")[0]
        for i in range(102)
    ]
    PossibleDuplicate.objects.bulk_create(
        PossibleDuplicate(
            first_id=min(customer.pk, o.pk),
            second_id=max(customer.pk, o.pk),
            reasons=["same_name"],
            score=i,
            created_at=customer.created_at,
        )
        for i, o in enumerate(others)
    )
    desk = login(client, manager)
    # then the first page has the strongest 100 and a link on; the second the rest
    first = desk.get(reverse("outreach:duplicates")).content.decode()
    assert "Person 101" in first and "Person 001" not in first and "?page=2" in first
    second = desk.get(reverse("outreach:duplicates") + "?page=2").content.decode()
    assert "Person 001" in second and "Person 000" in second and "Person 101" not in second
