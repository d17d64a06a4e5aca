from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client

from cherish.cases.models import Case
from cherish.customers.models import Customer
from cherish.outbox.models import DeliveryStatus, OutgoingEmail
from cherish.staff.models import Staff


def test_demo_loads_once_and_prints_the_logins(transactional_db):
    # when
    first = StringIO()
    call_command("demo", "--customers", "30", "--cases", "60", stdout=first)
    counts = (Customer.objects.count(), Case.objects.count(), Staff.objects.count())
    second = StringIO()
    call_command("demo", "--customers", "30", "--cases", "60", stdout=second)
    # then
    assert counts == (30, 60, 6)
    assert (Customer.objects.count(), Case.objects.count(), Staff.objects.count()) == counts
    assert "already loaded" in second.getvalue()
    for output in (first.getvalue(), second.getvalue()):
        assert "admin  password cherish-admin" in output
        assert "agent  password cherish-agent" in output
    assert set(Case.objects.values_list("kind", flat=True)) >= {"complaint", "inquiry"}
    assert (
        Case.objects.filter(is_open=False).exists() and Case.objects.filter(is_open=True).exists()
    )
    assert Case.objects.filter(owner__isnull=True).count() == 0
    assert Case.objects.filter(triage__isnull=True).count() == 0
    assert not OutgoingEmail.objects.filter(status=DeliveryStatus.PENDING).exists()
    client = Client()
    assert client.login(username="agent", password="cherish-agent")
    assert client.get("/desk/").status_code == 200
