"""``{% load creed %}{% creed %}``: the organisation's customer-service creed, for the staff
home page and the public complaint page, in the page's language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from cherish.staff.queries import creed_text

register = template.Library()


@register.inclusion_tag("staff/partials/creed.html")
def creed(heading: str = "") -> dict[str, Any]:
    """The creed in the page's language, under ``heading`` (default: the customers' one)."""
    return {"creed": creed_text(), "heading": heading or gettext("Our promise to customers")}
