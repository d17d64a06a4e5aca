"""The customer list's total is capped like the inbox's (issue #14: flat at 1M cases)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.conftest import login

from cherish.customers import queries
from cherish.customers.actions import find_or_create_customer


def test_the_count_reads_at_most_the_cap_and_says_more(client, manager, monkeypatch):
    # given five customers, two a page, a count capped at three
    for i in range(5):
        find_or_create_customer(name=f"Person {i}", email=f"p{i}@example.com")
    monkeypatch.setattr(queries, "LIST_PAGE_SIZE", 2)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    desk = login(client, manager)
    # when the list is read
    with CaptureQueriesContext(connection) as captured:
        page = desk.get(reverse("customers:list")).content.decode()
    # then the total says "more than" and the count read at most cap + 1 rows
    assert "Page 1 of 2+" in page
    assert "Person 4" in page and "Person 3" in page and "Person 2" not in page
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 4" in counts[0]
    # and the pages beyond the cap still open, with a next link while there are more
    third = desk.get(reverse("customers:list") + "?page=3").content.decode()
    assert "Person 0" in third and "page=4" not in third


def test_an_exact_total_below_the_cap(client, manager):
    for i in range(3):
        find_or_create_customer(name=f"Person {i}", email=f"p{i}@example.com")
    page = login(client, manager).get(reverse("customers:list")).content.decode()
    assert "Person 0" in page and "Page 1 of" not in page
