"""The scorecard's part of export and erasure: nothing to forget.

Its roll-ups hold counts and one fact row per case with ids and categories only (team,
channel, kind, topic, times, scores), never a name, an address or the customer's words, so an
erasure leaves the figures as they are; the export has the customer's cases and answers from
the apps that own them.
"""

from __future__ import annotations

from typing import Any

from cherish.core.erasure import Erasure
from cherish.customers.models import Customer


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    return None


def export_customer(customer: Customer) -> dict[str, Any]:
    return {}
