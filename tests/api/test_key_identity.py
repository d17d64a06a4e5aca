"""Keys carry identity (#9.2): a staff key acts as its person, an integration key as the system
within its scopes; who acts is never read from the body."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from tests.api.conftest import assert_problem, new_case_body, post_json
from tests.conftest import integration_api, login, staff_api

from cherish.care.models import AuthorityLimit, Gesture, GestureStatus
from cherish.cases.models import Case, CaseEvent, Message
from cherish.intake.apikeys import create_api_key
from cherish.intake.models import ApiKey
from cherish.staff.models import Staff
from cherish.staff.principal import KeyScope


@pytest.fixture
def agent_limit(db: Any) -> AuthorityLimit:
    return AuthorityLimit.objects.create(
        role="agent", per_gesture=Decimal("50"), per_month=Decimal("80"), currency="GBP"
    )


def _url(case: Case, path: str) -> str:
    return f"/api/v1/cases/{case.reference}/{path}"


def test_one_key_cannot_request_a_refund_as_agent_and_approve_it_as_the_lead(
    complaint: Case, agent: Staff, lead: Staff, agent_limit: AuthorityLimit
) -> None:
    # given: Alice's key asks for a 5,000 GBP refund, claiming in the body to be the lead
    alice = staff_api(agent)
    asked = post_json(
        alice,
        _url(complaint, "gestures"),
        {"actor": "lena", "gesture_type": "refund", "value": "5000.00", "currency": "GBP"},
    )
    assert asked.status_code == 201, asked.content
    gesture = asked.json()
    assert (gesture["status"], gesture["requested_by"], gesture["approver"]) == (
        "pending_approval",
        "alice",
        "lena",
    )
    # when: the same key approves it "as the lead"
    approve = _url(complaint, f"gestures/{gesture['id']}/approve")
    response = post_json(alice, approve, {"actor": "lena", "reason": "ok"})
    # then: refused, nothing decided, and every event is Alice's
    assert response.status_code == 403
    row = Gesture.objects.get(pk=gesture["id"])
    assert (row.status, row.decided_by_id) == (GestureStatus.PENDING, None)
    actors = set(
        CaseEvent.objects.filter(case=complaint)
        .exclude(actor=None)
        .values_list("actor__user__username", flat=True)
    )
    assert actors <= {"alice"}
    # and an integration key cannot decide in anyone's name either
    shop = integration_api(*KeyScope)
    as_system = post_json(shop, approve, {"actor": "lena", "reason": "ok"})
    assert_problem(as_system, 403, "staff_key_required")
    assert Gesture.objects.get(pk=gesture["id"]).status == GestureStatus.PENDING
    # only the lead's own key approves
    approved = post_json(staff_api(lead), approve, {"reason": "Long-standing customer"})
    assert (approved.status_code, approved.json()["decided_by"]) == (200, "lena")


def test_a_reply_is_written_by_the_keys_person_whatever_the_body_says(
    complaint: Case, agent: Staff, lead: Staff
) -> None:
    response = post_json(
        staff_api(agent),
        _url(complaint, "messages"),
        {"direction": "out", "text": "We are on it.", "author": "lena"},
    )
    assert response.status_code == 201
    assert response.json()["author"]["username"] == "alice"
    assert Message.objects.get(pk=response.json()["id"]).author == agent


def test_an_integration_key_cannot_write_in_a_persons_name(complaint: Case, agent: Staff) -> None:
    shop = integration_api(*KeyScope)
    for direction in ("out", "note"):
        response = post_json(
            shop,
            _url(complaint, "messages"),
            {"direction": direction, "text": "Hi", "author": "alice"},
        )
        assert_problem(response, 403, "staff_key_required")
    assert complaint.messages.count() == 1


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (["cases:create"], "post", "/api/v1/cases", True),
        (["cases:create"], "get", "/api/v1/cases", False),
        (["cases:read"], "get", "/api/v1/cases", True),
        (["cases:read"], "post", "/api/v1/cases", False),
        (["cases:read"], "get", "/api/v1/customers/by-email/carla@example.com", False),
        (["customers:read"], "get", "/api/v1/customers/by-email/carla@example.com", True),
        (["cases:read"], "get", "/api/v1/transactions?customer_id=1", False),
        (["cases:read"], "get", "/api/v1/survey-responses", False),
        (["feedback:read"], "get", "/api/v1/survey-responses", True),
        (["cases:read"], "post", "/api/v1/cases/{ref}/resolution", False),
        (["cases:write"], "post", "/api/v1/cases/{ref}/resolution", True),
    ],
)
def test_an_integration_key_without_the_scope_gets_403(
    complaint: Case, agent: Staff, scopes: list[str], method: str, path: str, allowed: bool
) -> None:
    client = integration_api(*scopes)
    url = path.replace("{ref}", complaint.reference)
    if method == "post":
        body = new_case_body() if path == "/api/v1/cases" else {"text": "Refunded in full."}
        response = post_json(client, url, body)
    else:
        response = client.get(url)
    if allowed:
        assert response.status_code in (200, 201), response.content
    else:
        body = assert_problem(response, 403, "missing_scope")
        assert scopes[0] not in body["detail"]


def test_an_integration_key_acts_as_the_system(complaint: Case, agent: Staff) -> None:
    shop = integration_api("cases:write")
    response = post_json(
        shop, _url(complaint, "resolution"), {"actor": "alice", "text": "Refunded in full."}
    )
    assert response.status_code == 200
    event = CaseEvent.objects.filter(case=complaint).order_by("-id").first()
    assert event is not None and event.actor is None


def test_a_staff_key_stops_working_when_the_person_leaves(agent: Staff) -> None:
    alice = staff_api(agent)
    assert alice.get("/api/v1/cases").status_code == 200
    agent.user.is_active = False
    agent.user.save(update_fields=["is_active"])
    assert_problem(alice.get("/api/v1/cases"), 401, "not_authenticated")


def test_every_api_operation_declares_its_key_scope(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    undeclared = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and not operation.get("x-cherish-scope")
    ]
    assert undeclared == []
    approve = schema["paths"]["/api/v1/cases/{reference}/gestures/{gesture_id}/approve"]["post"]
    assert (approve["x-cherish-scope"], approve["x-cherish-staff-key-only"]) == (
        "cases:write",
        True,
    )
    message_in = schema["components"]["schemas"]["MessageIn"]
    assert "author" not in message_in["properties"]
    assert "ignored" in message_in["description"]
    stage_in = schema["components"]["schemas"]["StageIn"]
    assert "actor" not in stage_in["properties"] and "ignored" in stage_in["description"]


def test_createapikey_makes_staff_and_integration_keys(agent: Staff) -> None:
    out = io.StringIO()
    call_command(
        "createapikey", "alice laptop", "--staff", "alice", stdout=out, stderr=io.StringIO()
    )
    staff_key = out.getvalue().strip()
    out = io.StringIO()
    call_command(
        "createapikey",
        "shop",
        "--scope",
        "cases:create,cases:read",
        stdout=out,
        stderr=io.StringIO(),
    )
    shop_key = out.getvalue().strip()
    rows = {key.name: key for key in ApiKey.objects.all()}
    assert (rows["alice laptop"].staff, rows["alice laptop"].scopes) == (agent, [])
    assert (rows["shop"].staff, rows["shop"].scopes) == (None, ["cases:create", "cases:read"])
    for key in (staff_key, shop_key):
        assert re.fullmatch(r"chk_[A-Za-z0-9_-]{40}", key)
        assert not ApiKey.objects.filter(key_hash=key).exists()
        assert ApiKey.objects.filter(key_hash=ApiKey.hash_key(key)).count() == 1
    listing = io.StringIO()
    call_command("createapikey", "--list", stdout=listing)
    assert "staff alice" in listing.getvalue() and "integration cases:create" in listing.getvalue()
    with pytest.raises(CommandError, match="--staff USERNAME"):
        call_command("createapikey", "nobody's")
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("createapikey", "x", "--scope", "everything")
    with pytest.raises(CommandError, match="no active staff"):
        call_command("createapikey", "x", "--staff", "mallory")


def test_a_staff_key_takes_no_scopes(agent: Staff) -> None:
    from cherish.intake.apikeys import ApiKeyError

    with pytest.raises(ApiKeyError):
        create_api_key("x", staff=agent, scopes=["cases:read"])


def test_an_administrator_creates_a_key_in_the_admin_and_sees_it_once(
    admin_staff: Staff, agent: Staff
) -> None:
    client = login(Client(), admin_staff)
    response = client.post(
        "/admin/intake/apikey/add/",
        {"name": "crm", "scopes": ["customers:read", "cases:read"]},
        follow=True,
    )
    assert response.status_code == 200
    shown = re.findall(r"chk_[A-Za-z0-9_-]{40}", response.content.decode())
    assert len(shown) == 1
    record = ApiKey.objects.get()
    assert record.key_hash == ApiKey.hash_key(shown[0])
    assert (record.staff, record.scopes) == (None, ["cases:read", "customers:read"])
    # the key is never shown again
    page = client.get(f"/admin/intake/apikey/{record.pk}/change/").content.decode()
    assert shown[0] not in page
    works = Client(headers={"Authorization": f"Bearer {shown[0]}"})
    assert works.get("/api/v1/cases").status_code == 200
    # a staff member's key from the admin
    client.post("/admin/intake/apikey/add/", {"name": "alice cli", "staff": agent.pk})
    assert ApiKey.objects.get(name="alice cli").staff == agent
    refused = client.post(
        "/admin/intake/apikey/add/", {"name": "both", "staff": agent.pk, "scopes": ["cases:read"]}
    )
    assert refused.status_code == 200 and not ApiKey.objects.filter(name="both").exists()


def _key_audit() -> list[tuple[str, str, str, dict[str, Any]]]:
    from cherish.staff.models import AuditEntry

    rows = AuditEntry.objects.filter(action__startswith="apikey.").order_by("at", "id")
    return [(row.action, row.actor_label, row.via, row.detail) for row in rows]


def test_keys_made_and_revoked_on_the_command_line_are_audited(agent: Staff) -> None:
    # when
    call_command("createapikey", "alice laptop", "--staff", "alice", stdout=io.StringIO())
    call_command("createapikey", "shop", "--scope", "cases:read", stdout=io.StringIO())
    shop = ApiKey.objects.get(name="shop")
    call_command("createapikey", "--revoke", shop.prefix, stdout=io.StringIO())
    # then: who (the account on this host), what and which powers; never the key itself
    logged = _key_audit()
    assert [(action, via) for action, _, via, _ in logged] == [
        ("apikey.created", "command"),
        ("apikey.created", "command"),
        ("apikey.revoked", "command"),
    ]
    assert all(label.endswith("(command line)") for _, label, _, _ in logged)
    alice_key = ApiKey.objects.get(name="alice laptop")
    assert logged[0][3] == {
        "name": "alice laptop",
        "prefix": alice_key.prefix,
        "kind": "staff",
        "staff_id": agent.pk,
        "scopes": [],
    }
    assert logged[1][3]["scopes"] == logged[2][3]["scopes"] == ["cases:read"]
    assert logged[2][3]["kind"] == "integration"


def test_keys_made_and_revoked_in_the_admin_are_audited(admin_staff: Staff, agent: Staff) -> None:
    client = login(Client(), admin_staff)
    client.post("/admin/intake/apikey/add/", {"name": "crm", "scopes": ["customers:read"]})
    client.post("/admin/intake/apikey/add/", {"name": "alice cli", "staff": agent.pk})
    crm = ApiKey.objects.get(name="crm")
    client.post(
        "/admin/intake/apikey/",
        {"action": "revoke", "_selected_action": [crm.pk]},
    )
    crm.refresh_from_db()
    assert crm.revoked_at is not None
    logged = _key_audit()
    assert [(action, label, via) for action, label, via, _ in logged] == [
        ("apikey.created", "Ada Admin (root)", "admin"),
        ("apikey.created", "Ada Admin (root)", "admin"),
        ("apikey.revoked", "Ada Admin (root)", "admin"),
    ]
    assert [(d["kind"], d["staff_id"], d["scopes"]) for _, _, _, d in logged] == [
        ("integration", None, ["customers:read"]),
        ("staff", agent.pk, []),
        ("integration", None, ["customers:read"]),
    ]
