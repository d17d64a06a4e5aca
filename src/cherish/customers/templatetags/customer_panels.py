"""Panels this app adds to the desk's case page (included by cases/case_detail.html)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from cherish.core.clock import now
from cherish.customers.models import RelationshipStatus
from cherish.customers.queries import customer_value

register = template.Library()


def _tenure(since: dt.date | None, today: dt.date) -> str:
    if since is None:
        return "New customer"
    days = (today - since).days
    years = days // 365
    if years >= 1:
        return f"Customer for {years} year{'s' if years != 1 else ''}"
    months = days // 30
    if months >= 1:
        return f"Customer for {months} month{'s' if months != 1 else ''}"
    return "New customer"


def key_facts(case: Any, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The three facts an agent must know before answering: tenure, other open complaints,
    and what the relationship is worth (or why they left). Two queries plus the customer."""
    at = at or now()
    customer = case.customer
    value = customer_value(customer, as_of=at)
    since = customer.customer_since or (value.first_at.date() if value.first_at else None)
    others = customer.cases.filter(is_open=True, kind="complaint").exclude(pk=case.pk).count()
    facts = [{"text": _tenure(since, at.date()), "warn": False}]
    facts.append(
        {
            "text": (
                f"{others} other open complaint{'s' if others != 1 else ''}"
                if others
                else "No other open complaints"
            ),
            "warn": others > 0,
        }
    )
    if customer.status == RelationshipStatus.LEFT:
        facts.append({"text": "Has left us", "warn": True})
    elif value.transaction_count == 0:
        facts.append({"text": "No purchases on record", "warn": False})
    else:
        quiet = (at - value.last_at).days if value.last_at else 0
        facts.append(
            {
                "text": f"Spent {value.last_12_months} {value.currency} in 12 months"
                + (f", last purchase {quiet} days ago" if quiet > 60 else ""),
                "warn": quiet > 90,
            }
        )
    return facts


@register.inclusion_tag("customers/partials/customer_key_facts.html", takes_context=True)
def customer_key_facts(context: Any, case: Any) -> dict[str, Any]:
    try:
        url = reverse("outreach:customer", args=[case.customer_id])
    except NoReverseMatch:
        url = ""
    return {
        "case": case,
        "request": context.get("request"),
        "facts": key_facts(case),
        "customer_url": url,
    }
