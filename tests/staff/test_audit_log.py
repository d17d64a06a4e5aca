"""Issue #9 "to add": an audit log that managers can read and export — who viewed, exported,
erased, merged, approved, changed a role or a setting, from where and when."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from cherish.staff.models import AuditEntry
from tests.conftest import login

AUDIT = reverse("staff:audit-log")


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_manager_reads_and_exports_what_was_done_to_a_customer(client, manager, lead, complaint):
    # given: the lead looked at the customer and exported nothing (not allowed), the manager
    # exported their data
    carla = reverse("outreach:customer", args=[complaint.customer_id])
    login(client, lead)
    assert client.get(carla).status_code == 200
    assert client.post(reverse("outreach:export", args=[complaint.customer_id])).status_code == 403
    login(client, manager)
    exported = client.post(reverse("outreach:export", args=[complaint.customer_id]))
    assert exported.status_code == 200
    # when
    page = client.get(AUDIT, {"action": "customer."})
    csv_rows = _csv(client.get(AUDIT, {"action": "customer.", "format": "csv"}))
    # then: who, what, on which customer, from where; newest first
    body = page.content.decode()
    assert page.status_code == 200 and "customer.viewed" in body and "Lena Lead" in body
    assert [(r["who"], r["action"], r["outcome"], r["target_id"], r["via"]) for r in csv_rows] == [
        ("Mia Manager (mia)", "customer.exported", "done", str(complaint.customer_id), "desk"),
        ("Lena Lead (lena)", "customer.viewed", "done", str(complaint.customer_id), "desk"),
    ]
    assert csv_rows[0]["ip"] == "127.0.0.1"
    # the refusal is there too, and the export itself was logged
    refused = AuditEntry.objects.get(outcome="refused")
    assert (refused.action, refused.actor_label) == ("desk.export_not_allowed", "Lena Lead (lena)")
    assert AuditEntry.objects.filter(action="audit.exported", actor_label="Mia Manager (mia)")


def test_only_managers_and_administrators_read_the_audit_log(client, agent, lead, admin_staff):
    answers = {}
    for person in (agent, lead, admin_staff):
        login(client, person)
        answers[person.user.username] = client.get(AUDIT).status_code
    assert answers == {"alice": 403, "lena": 403, "root": 200}
    login(client, agent)
    assert "Audit log" not in client.get(reverse("staff:wall")).content.decode()
    assert list(AuditEntry.objects.filter(outcome="refused").values_list("action", flat=True)) == [
        "desk.audit_log_not_allowed",
        "desk.audit_log_not_allowed",
    ]


def test_approvals_merges_and_erasures_are_in_the_log(client, manager, complaint):
    from cherish.customers.actions import find_or_create_customer

    twin, _ = find_or_create_customer(name="Carla Customer", email="carla.two@example.com")
    login(client, manager)
    merged = client.post(
        reverse("outreach:merge"), {"survivor": complaint.customer_id, "duplicate": twin.pk}
    )
    assert merged.status_code == 302
    erased = client.post(
        reverse("outreach:erase", args=[complaint.customer_id]), {"confirm": "ERASE"}
    )
    assert erased.status_code == 302
    logged = list(
        AuditEntry.objects.filter(action__startswith="customer.")
        .order_by("at", "id")
        .values_list("action", "target_id", "detail")
    )
    assert logged == [
        ("customer.merged", str(complaint.customer_id), {"duplicate_id": twin.pk}),
        ("customer.erased", str(complaint.customer_id), {}),
    ]
