"""``{% load creed %}{% creed %}``: the organisation's customer-service creed, for the staff
home page and the public complaint page."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.staff.queries import creed_text

register = template.Library()


@register.inclusion_tag("staff/partials/creed.html")
def creed(heading: str = "Our promise to customers") -> dict[str, Any]:
    return {"creed": creed_text(), "heading": heading}
