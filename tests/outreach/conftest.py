from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from cherish.customers.actions import TransactionRow, upsert_transactions
from cherish.customers.models import Customer, Transaction


def add_transaction(
    customer: Customer,
    external_id: str,
    at: dt.datetime,
    *,
    kind: str = "order",
    amount: str = "10",
) -> Transaction:
    upsert_transactions(
        [
            TransactionRow(
                customer_id=customer.pk,
                external_id=external_id,
                kind=kind,
                occurred_at=at,
                amount=Decimal(amount),
                currency="GBP",
            )
        ]
    )
    return Transaction.objects.get(external_id=external_id)


@pytest.fixture
def txn() -> Any:
    return add_transaction
