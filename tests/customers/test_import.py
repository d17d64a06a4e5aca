import csv
import io
import time
import tracemalloc
from decimal import Decimal

import pytest
from django.core.management import call_command

from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer, LeaveReason, PossibleDuplicate, Transaction

HEADER = (
    "order_no,customer_external_id,customer_email,kind,status,amount,currency,occurred_at,store"
)
TRANSACTIONS = f"""{HEADER}
T-1,C-1,,order,paid,12.50,GBP,2025-01-02,Leeds
T-2,,carla@example.com,delivery,,0,,2025-01-03T10:00:00+01:00,
T-3,C-404,,order,,1,GBP,2025-01-03,
T-4,C-1,,spaceship,,1,GBP,2025-01-03,
T-5,C-1,,order,,twelve,GBP,2025-01-03,
T-6,C-1,,order,,1,GBP,yesterday,
,C-1,,order,,1,GBP,2025-01-03,
"""


def run_import(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def known(customer):
    find_or_create_customer(name="Colin One", external_id="C-1")
    return customer


def test_good_rows_stored_and_bad_rows_reported_with_line_numbers(known, write_csv, tmp_path):
    # given
    path = write_csv("t.csv", TRANSACTIONS)
    rejects = tmp_path / "rejects.csv"
    # when
    out, err = run_import(
        "transactions", str(path), "--map", "order_no=external_id", "--rejects", str(rejects)
    )
    # then
    assert Transaction.objects.count() == 2
    t1 = Transaction.objects.get(external_id="T-1")
    assert t1.customer.external_id == "C-1"
    assert t1.amount == Decimal("12.50")
    assert t1.metadata == {"store": "Leeds"}
    assert Transaction.objects.get(external_id="T-2").customer == known
    assert "7 rows read, 2 stored, 5 rejected" in out
    assert "line 4: no customer matches" in out
    assert "line 5: kind 'spaceship' is not one of" in out
    assert "line 6: amount 'twelve' is not a number" in out
    assert "line 7: occurred_at 'yesterday' is not a date" in out
    assert "line 8: external_id is empty" in out
    with open(rejects, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(int(r["line"]) for r in rows) == [4, 5, 6, 7, 8]
    assert "7/7 rows" in err


def test_reimport_is_idempotent(known, write_csv):
    # given
    path = write_csv("t.csv", TRANSACTIONS)
    run_import("transactions", str(path), "--map", "order_no=external_id", "--no-progress")
    before = list(Transaction.objects.order_by("pk").values("pk", "external_id", "amount"))
    # when
    run_import("transactions", str(path), "--map", "order_no=external_id", "--no-progress")
    # then
    assert list(Transaction.objects.order_by("pk").values("pk", "external_id", "amount")) == before


def test_reimport_updates_changed_rows(known, write_csv):
    path = write_csv(
        "t.csv",
        "external_id,customer_external_id,kind,amount,occurred_at\nX,C-1,order,5,2025-01-01\n",
    )
    run_import("transactions", str(path), "--no-progress")
    path.write_text(
        "external_id,customer_external_id,kind,amount,occurred_at\nX,C-1,order,7,2025-01-01\n"
    )
    run_import("transactions", str(path), "--no-progress")
    assert Transaction.objects.get().amount == Decimal("7.00")


def test_unknown_map_target_refused(known, write_csv):
    from django.core.management import CommandError

    path = write_csv("t.csv", TRANSACTIONS)
    with pytest.raises(CommandError, match="FIELD one of"):
        run_import("transactions", str(path), "--map", "order_no=nonsense")
    assert Transaction.objects.count() == 0


def test_customers_import_matches_by_external_id_or_email_never_by_phone(customer, write_csv):
    # given: Carla exists with email and phone
    path = write_csv(
        "c.csv",
        "external_id,name,email,phone,status,leave_reason,leave_note,customer_since\n"
        "K-1,Carla Customer,CARLA@example.com,,active,,,2016-03-01\n"
        "K-2,Dan New,dan@example.com,,active,,,\n"
        "K-3,Erin Leaver,erin@example.com,,left,competitor,Cheaper elsewhere,\n"
        "K-4,Bad Leaver,bad@example.com,,left,,,\n"
        ",Carla C. Customer,,+44 20 7946 0018,,,,\n",
    )
    # when
    out, _ = run_import("customers", str(path), "--no-progress")
    # then
    assert "5 rows read, 4 stored (3 new customers), 1 rejected" in out
    assert "line 5: status is left: leave_reason must be one of" in out
    customer.refresh_from_db()
    assert customer.external_id == "K-1"
    assert str(customer.customer_since) == "2016-03-01"
    assert Customer.objects.filter(name="Dan New").count() == 1
    erin = Customer.objects.get(name="Erin Leaver")
    assert erin.status == "left"
    reason = LeaveReason.objects.get(customer=erin)
    assert (reason.reason, reason.note, reason.source) == (
        "competitor",
        "Cheaper elsewhere",
        "import",
    )
    assert not Customer.objects.filter(name="Bad Leaver").exists()
    # a phone alone is weak (households share one): a new record, offered for review
    customer.refresh_from_db()
    assert customer.name == "Carla Customer"
    other = Customer.objects.get(name="Carla C. Customer")
    pair = PossibleDuplicate.objects.get()
    assert (pair.first_id, pair.second_id, pair.reasons) == (customer.pk, other.pk, ["same_phone"])


@pytest.mark.slow
def test_100k_rows_imported_in_bounded_memory_with_progress(db, tmp_path):
    # given: 1,000 customers and a generated 100,000-row file
    for i in range(1000):
        Customer.objects.create(name=f"C {i}", external_id=f"C-{i}")
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "customer_external_id", "kind", "amount", "occurred_at"])
        for i in range(100_000):
            w.writerow(
                [
                    f"T-{i}",
                    f"C-{i % 1000}",
                    "order",
                    f"{i % 500}.99",
                    f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                ]
            )
    # when
    tracemalloc.start()
    started = time.perf_counter()
    out, err = run_import("transactions", str(path))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # then
    assert "100000 rows read, 100000 stored, 0 rejected" in out
    assert Transaction.objects.count() == 100_000
    assert "100000/100000 rows (100%)" in err
    assert peak < 100 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    print(f"100k rows in {elapsed:.1f} s, peak traced memory {peak / 1e6:.1f} MB")
