"""The desk's part of export and erasure: nothing to forget.

Notifications, read marks, presence and saved views hold ids, kinds and times only (saved
views never keep search words), never a name, an address or the customer's words; the
case and customer rows they point at are erased by the apps that own them.
"""

from __future__ import annotations

from typing import Any

from cherish.core.erasure import Erasure
from cherish.customers.models import Customer


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    return None


def export_customer(customer: Customer) -> dict[str, Any]:
    return {}
