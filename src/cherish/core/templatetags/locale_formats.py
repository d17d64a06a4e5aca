"""Dates and money as the active language writes them (cherish.core.i18n)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from cherish.core import i18n

register = template.Library()


@register.filter
def weekday_and_time(value: dt.datetime | None) -> str:
    """ "Thursday 8 January, 11:00" / "Donnerstag, 8. Januar, 11:00", in the current zone."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{i18n.format_day(local.date())}, {local:%H:%M}"


@register.filter
def weekday(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return i18n.format_day(value)


@register.filter
def money(value: Decimal | int | float | None, currency: Any = "") -> str:
    """An amount in its currency (the organisation's by default): "£12.50", "12,50 €"."""
    if value is None or value == "":
        return ""
    return i18n.format_money(value, str(currency or settings.CHERISH_CURRENCY))
