import random

from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Transaction
from cherish.outreach.demo import load_demo
from cherish.outreach.models import ChurnScore, FollowUpRule


def test_demo_loads_history_rules_and_scores(db):
    customers = [
        find_or_create_customer(name=f"Demo {i}", email=f"d{i}@example.com")[0] for i in range(20)
    ]
    load_demo(customers, random.Random(7))
    assert Transaction.objects.count() > 100
    assert FollowUpRule.objects.count() == 2
    assert ChurnScore.objects.count() == 20
    load_demo(customers, random.Random(7))  # idempotent for transactions and rules
    assert FollowUpRule.objects.count() == 2
