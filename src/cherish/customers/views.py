"""Desk pages of the customers app: the customer list and search.

The customer 360 page itself lives in outreach (outreach:customer) because it shows cases,
commitments, gestures and follow-ups, which live in apps above customers.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cherish.customers.access import visible_customers
from cherish.customers.queries import search_customers
from cherish.desk.guard import DeskRequest, desk_view


@desk_view
def customer_list(request: DeskRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    among = visible_customers(request.staff)
    page = search_customers(query, page=_page_number(request), among=among)
    template = (
        "customers/partials/customer_rows.html" if request.htmx else "customers/customer_list.html"
    )
    return render(request, template, {"page": page, "query": query})


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1
