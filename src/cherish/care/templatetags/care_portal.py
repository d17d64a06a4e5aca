"""What the care workflow adds to the customer's own case page (intake/portal/case.html)."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.care.queries import open_commitments_for_customer_view

register = template.Library()


@register.inclusion_tag("care/partials/customer_commitments.html")
def customer_commitments(case: Any) -> dict[str, Any]:
    """The promises still open on this case, as the customer should see them (one query)."""
    return {"commitments": open_commitments_for_customer_view(case)}
