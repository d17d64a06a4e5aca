"""Panels this app adds to the desk's case page (included by desk/case_detail.html)."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import NoReverseMatch, reverse
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

from cherish.core.clock import now
from cherish.customers.models import RelationshipStatus
from cherish.customers.queries import key_fact_figures

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


def _tenure_fact(since: dt.date | None, today: dt.date, signals: Any) -> dict[str, Any]:
    """Our recorded tenure, or what the customer says when our records are younger or empty.

    The claim (kept on the case by triage, with the words it came from) never overwrites the
    record: both are shown, the claim marked as theirs.
    """
    recorded = _tenure(since, today)
    claim = (signals or {}).get("stated_tenure") if isinstance(signals, dict) else None
    if not isinstance(claim, dict):
        return {"text": recorded, "warn": False}
    claimed_years = claim.get("years")
    recorded_years = (today - since).days // 365 if since else None
    if claimed_years is not None:
        if recorded_years is not None and claimed_years <= recorded_years:
            return {"text": recorded, "warn": False}
        text = f"Says: customer for {claimed_years} year{'s' if claimed_years != 1 else ''}"
    elif since is None:
        text = "Says: a long-standing customer"
    else:
        return {"text": recorded, "warn": False}
    when = ""
    with contextlib.suppress(ValueError):
        said_at = template_localtime(dt.datetime.fromisoformat(str(claim.get("at"))))
        when = date_filter(said_at, "j M Y")
    record = "no record of when they joined" if since is None else f"our records: {recorded}"
    source = f"in their message{' of ' + when if when else ''}: “{claim.get('words', '')}”"
    return {"text": text, "warn": False, "detail": f"{source}; {record}"}


def key_facts(case: Any, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The three facts an agent must know before answering: tenure, other open complaints,
    and what the relationship is worth (or why they left). One query plus the customer."""
    at = at or now()
    customer = case.customer
    value, others = key_fact_figures(customer, besides_case_id=case.pk, as_of=at)
    since = customer.customer_since or (value.first_at.date() if value.first_at else None)
    facts = [_tenure_fact(since, at.date(), getattr(case, "signals", None))]
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
