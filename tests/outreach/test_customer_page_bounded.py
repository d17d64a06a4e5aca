"""The customer page reads the viewer's cases *of this customer* (issue #14: flat at 1M)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.conftest import login


def _subqueries(sql: str) -> list[str]:
    """Every parenthesised SELECT in a statement, each with its own parentheses balanced."""
    found = []
    start = sql.find("(SELECT")
    while start != -1:
        depth = 0
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                found.append(sql[start : end + 1])
                break
        start = sql.find("(SELECT", start + 1)
    return found


def test_every_case_subquery_is_narrowed_to_the_customer(client, agent, customer, complaint):
    # given an agent inside a team boundary (visible_cases is a rule, not every case)
    desk = login(client, agent)
    # when the customer page is read
    with CaptureQueriesContext(connection) as captured:
        response = desk.get(reverse("outreach:customer", args=[customer.pk]))
    assert response.status_code == 200
    # then no subquery walks the cases in the agent's bounds without the customer's id
    unbounded = [
        sub
        for q in captured.captured_queries
        for sub in _subqueries(q["sql"])
        if 'FROM "cases_case"' in sub and "customer_id" not in sub
    ]
    assert unbounded == []
