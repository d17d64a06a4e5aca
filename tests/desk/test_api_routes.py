"""Every API operation from the OpenAPI document × key × object, against one rule table.

Issue #9 "done means": a new operation without a rule fails
``test_every_api_operation_has_a_rule``; ``test_operation_answers_every_key_as_its_rule_says``
tries each operation with every kind of caller — no key, a bad key, an integration key with
the operation's scope and one without it, and the keys of agent A, agent B, lead A, manager A
and an administrator — on every object its rule names (team A's case, team B's case; their
customers Carla and Dan, and Lou, who has no case), and compares the answer with the rule.
An answer that lets a caller through must show nothing outside that caller's boundary, and a
refused one must change nothing: 0 cross-boundary reads or writes. Every call runs in a
transaction rolled back afterwards, so each one meets the same world, built once per module.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from cherish.care import actions as care_actions
from cherish.care.models import (
    AuthorityLimit,
    CareState,
    CaseLink,
    CaseMerge,
    Commitment,
    ExternalEscalation,
    Gesture,
    GestureType,
)
from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent, Message
from cherish.core.clock import now
from cherish.customers.actions import (
    TransactionRow,
    change_customer_identity,
    find_or_create_customer,
    upsert_transactions,
)
from cherish.customers.models import ContactPoint, Customer, CustomerEvent, Transaction
from cherish.feedback import actions as feedback_actions
from cherish.feedback.models import Invitation, Survey, SurveyResponse
from cherish.intake.apikeys import create_api_key
from cherish.staff.actions import create_staff
from cherish.staff.models import Role
from cherish.staff.principal import KeyScope
from tests.conftest import PASSWORD, rolled_back


@dataclass(frozen=True)
class ApiRule:
    """What an operation is about and what it needs.

    resource: the scope's resource (``cases`` of cases:read ...);
    on: "case" (tried on cases own/other), "customer" (carla/dan/lou) or "none";
    needs: "see" (see the object), "work" (change it), "decide" (the routed approver or
    above), "scorecard" (team leads and managers) or "staff" (any staff member's key);
    "answer" (a survey answer: about a case of the customer's team, or about the customer);
    person: only staff members' keys (``x-cherish-staff-key-only``);
    body / query: what is sent; "{reference}", "{sibling}" (the same customer's other case,
    same team), "{lead}" (the case team's lead), "{email}", "{external_id}", "{customer_id}"
    are filled in for the object tried.
    """

    resource: str
    on: str
    needs: str = "see"
    person: bool = False
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    rejects: bool = False  # a batch: a staff key's refusal is a row "rejected", not a 403/404


def _case_read() -> ApiRule:
    return ApiRule("cases", "case")


def _case_work(body: dict[str, Any], *, person: bool = False) -> ApiRule:
    return ApiRule("cases", "case", "work", person=person, body=body)


TEXT = {"text": "Checked with the warehouse."}
API_RULES: dict[str, ApiRule] = {
    "POST /api/v1/cases": ApiRule(
        "cases",
        "case",
        "work",
        body={
            "customer": {"email": "{email}"},
            "text": "And the lid is missing too.",
            "reference": "{reference}",
        },
    ),
    "GET /api/v1/cases": ApiRule("cases", "none", "staff"),
    "POST /api/v1/cases/{reference}/messages": _case_work({"direction": "in", "text": "Hello?"}),
    "GET /api/v1/cases/{reference}": _case_read(),
    "POST /api/v1/customers": ApiRule(
        "customers", "none", "staff", body={"name": "Nia New", "email": "nia@example.com"}
    ),
    "GET /api/v1/customers/by-email/{email}": ApiRule("customers", "customer"),
    "GET /api/v1/customers/by-external-id/{external_id}": ApiRule("customers", "customer"),
    "GET /api/v1/customers/{customer_id}": ApiRule("customers", "customer"),
    "PATCH /api/v1/customers/{customer_id}": ApiRule(
        "customers", "customer", "work", body={"language": "de"}
    ),
    "POST /api/v1/transactions": ApiRule(
        "transactions",
        "customer",
        "work",
        body={
            "external_id": "T-new",
            "kind": "order",
            "occurred_at": "2026-11-30T10:00:00Z",
            "customer_id": "{customer_id}",
        },
        rejects=True,
    ),
    "GET /api/v1/transactions": ApiRule(
        "transactions", "customer", query={"customer_id": "{customer_id}"}
    ),
    "GET /api/v1/cases/{reference}/care": _case_read(),
    "GET /api/v1/cases/{reference}/commitments": _case_read(),
    "POST /api/v1/cases/{reference}/commitments": _case_work(
        {"what": "Call back", "due_at": "2030-01-01T10:00:00Z", "how": "call"}, person=True
    ),
    "GET /api/v1/cases/{reference}/gestures": _case_read(),
    "POST /api/v1/cases/{reference}/gestures": _case_work(
        {"gesture_type": "refund", "value": "5", "currency": "GBP"}, person=True
    ),
    "GET /api/v1/cases/{reference}/links": _case_read(),
    "POST /api/v1/cases/{reference}/links": _case_work({"other": "{sibling}"}),
    "GET /api/v1/cases/{reference}/escalations": _case_read(),
    "POST /api/v1/cases/{reference}/escalations": _case_work(
        {"body": "ombudsman", "escalated_on": "2026-11-30"}
    ),
    "POST /api/v1/cases/{reference}/stage": _case_work({"stage": "acknowledged"}),
    "POST /api/v1/cases/{reference}/assessment": _case_work(
        {"severity": "high", "complexity": "simple", "impact": "low"}
    ),
    "POST /api/v1/cases/{reference}/fair-outcome": _case_work(TEXT),
    "POST /api/v1/cases/{reference}/resolution": _case_work(TEXT),
    "POST /api/v1/cases/{reference}/plus-one": _case_work(TEXT),
    "POST /api/v1/cases/{reference}/follow-up": _case_work({"outcome": "satisfied"}),
    "POST /api/v1/cases/{reference}/commitments/{commitment_id}/keep": _case_work(
        {"note": "Called."}, person=True
    ),
    "POST /api/v1/cases/{reference}/commitments/{commitment_id}/break": _case_work(
        {"reason": "No answer."}, person=True
    ),
    "POST /api/v1/cases/{reference}/gestures/{gesture_id}/approve": ApiRule(
        "cases", "case", "decide", person=True, body={"reason": ""}
    ),
    "POST /api/v1/cases/{reference}/gestures/{gesture_id}/decline": ApiRule(
        "cases", "case", "decide", person=True, body={"reason": "Too much."}
    ),
    "POST /api/v1/cases/{reference}/handoff": _case_work(
        {"to": "{lead}", "summary": "Over to you, with the whole story."}, person=True
    ),
    "POST /api/v1/cases/{reference}/merge": _case_work({"into": "{sibling}"}, person=True),
    "GET /api/v1/survey-responses": ApiRule("feedback", "none", "staff"),
    "GET /api/v1/survey-responses/{response_id}": ApiRule("feedback", "customer", "answer"),
    "GET /api/v1/scorecard": ApiRule("feedback", "none", "scorecard"),  # the feedback:read scope
    "GET /api/v1/learning/themes": ApiRule("learning", "none", "staff"),
    "GET /api/v1/learning/actions": ApiRule("learning", "none", "staff"),
    # Leads and managers plan actions, as they see the scorecard; no theme or policy: a 400.
    "POST /api/v1/learning/actions": ApiRule(
        "learning", "none", "scorecard", person=True, body={"title": "Plan"}
    ),
    "GET /api/v1/learning/stories": ApiRule("learning", "none", "staff"),
}

KEYS = ["no key", "bad key", "integration with scope", "integration without scope"]
STAFF = ["agent_a", "agent_b", "lead_a", "manager_a", "administrator"]
TEAMS_OF = {"agent_a": {"A"}, "agent_b": {"B"}, "lead_a": {"A"}, "manager_a": {"A"}}
CASE_TEAM = {"own": "A", "other": "B"}
CUSTOMER_TEAM = {"carla": "A", "dan": "B", "lou": None}
CUSTOMER_OF = {"own": "carla", "other": "dan"}
SEE_EVERY_CUSTOMER = {"manager_a"}  # managers hold view_all_customers
DECIDERS = {"own": {"lead_a", "manager_a"}, "other": set()}  # each refund routed to its lead
SCORECARD = {"lead_a", "manager_a"}
NAMES = {"carla": "Carla Customer", "dan": "Dan Debtor", "lou": "Lou Lonely"}


@functools.cache
def _operations() -> dict[str, dict[str, Any]]:
    from cherish.api import api

    document = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_every_api_operation_has_a_rule():
    operations = _operations()
    assert sorted(set(operations) - set(API_RULES)) == [], "operations without a rule"
    assert sorted(set(API_RULES) - set(operations)) == [], "rules for operations that are gone"


def test_declared_scopes_match_the_rules():
    operations = _operations()
    declared = {
        key: (op["x-cherish-scope"].split(":")[0], op["x-cherish-staff-key-only"])
        for key, op in operations.items()
    }
    ruled = {key: (rule.resource, rule.person) for key, rule in API_RULES.items()}
    assert declared == ruled


# --- the world, built once for the module ------------------------------------------------


def _give(case: Case, owner: Any) -> None:
    case.refresh_from_db()
    if case.owner_id != owner.pk:
        case_actions.reassign_case(case, to=owner, note="Yours: please look after it.", by=None)
        case.refresh_from_db()
    assert case.team_id == owner.team_id


def _build_world() -> dict[str, Any]:
    from cherish.care.demo import seed_defaults
    from cherish.feedback.demo import seed_builtin_surveys
    from cherish.staff.models import Team

    seed_defaults()
    seed_builtin_surveys()
    # Not the cast's team names: the module's world outlives each test's own fixtures.
    care_team = Team.objects.create(name="Team A")
    billing_team = Team.objects.create(name="Team B")
    people: dict[str, Any] = {}
    for key, name, team, role in [
        ("agent_a", "Alice Agent", care_team, Role.AGENT),
        ("lead_a", "Lena Lead", care_team, Role.LEAD),
        ("manager_a", "Mia Manager", care_team, Role.MANAGER),
        ("agent_b", "Bea Billing", billing_team, Role.AGENT),
        ("lead_b", "Ben Billing", billing_team, Role.LEAD),
        ("administrator", "Adam Admin", None, Role.ADMINISTRATOR),
    ]:
        people[key] = create_staff(
            username=key, password=PASSWORD, display_name=name, team=team, role=role
        )
    care_team.lead, care_team.manager = people["lead_a"], people["manager_a"]
    care_team.save()
    billing_team.lead = people["lead_b"]
    billing_team.save()
    AuthorityLimit.objects.create(
        role="agent", per_gesture=Decimal("10"), per_month=Decimal("10"), currency="GBP"
    )
    refund = GestureType.objects.get(key="refund")
    customers: dict[str, Customer] = {}
    cases: dict[str, Case] = {}
    for key, owner, lead in [("own", "agent_a", "lead_a"), ("other", "agent_b", "lead_b")]:
        name = CUSTOMER_OF[key]
        customer, _ = find_or_create_customer(name=NAMES[name], email=f"{name}@example.com")
        # first a case that is over, with the customer's answer to the after-case survey
        sibling, _ = case_actions.open_case(
            customer, text=f"{NAMES[name]}: it came late.", channel="email"
        )
        _give(sibling, people[owner])
        case_actions.change_stage(sibling, stage="closed", by=None, reason="sorted")
        feedback_actions.invite(Survey.objects.get(key="after-case"), customer, case=sibling)
        # then the open complaint, with a promise and a refund waiting for the lead
        case, _ = case_actions.open_case(
            customer, text=f"{NAMES[name]}: the parcel was broken.", channel="email"
        )
        _give(case, people[owner])
        care_actions.record_commitment(
            case,
            what="Call back",
            due_at=now() + dt.timedelta(days=1),
            how="call",
            by=people[owner],
        )
        care_actions.grant_gesture(
            case,
            gesture_type=refund,
            value=Decimal("75"),
            currency="GBP",
            ask_approval=True,
            by=people[owner],
        )
        assert case.gestures.get().approver == people[lead]
        customers[name], cases[key], cases[f"{key}-sibling"] = customer, case, sibling
    customers["lou"], _ = find_or_create_customer(name=NAMES["lou"], email="lou@example.com")
    feedback_actions.invite(Survey.objects.get(key="relationship"), customers["lou"])
    responses = {}
    for name, customer in customers.items():
        change_customer_identity(customer, external_id=f"X-{name}", by=None)
        upsert_transactions(
            [
                TransactionRow(
                    customer_id=customer.pk,
                    external_id=f"T-{name}",
                    kind="order",
                    occurred_at=now(),
                )
            ]
        )
        invitation = Invitation.objects.get(customer=customer, status="sent")
        first = invitation.survey.questions.order_by("order").first()
        assert first is not None
        responses[name] = feedback_actions.record_answers(
            invitation, {first.pk: first.scale[-1] if first.scale else 5}
        ).response
    keys: dict[str, str] = {}
    for role in STAFF:
        keys[role] = create_api_key(f"{role}'s key", staff=people[role])[1]
    for scope in KeyScope:
        keys[f"with {scope.value}"] = create_api_key(f"has {scope}", scopes=[scope.value])[1]
        others = [other.value for other in KeyScope if other != scope]
        keys[f"without {scope.value}"] = create_api_key(f"lacks {scope}", scopes=others)[1]
    return {
        "people": people,
        "cases": cases,
        "customers": customers,
        "responses": responses,
        "keys": keys,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker):
        yield _build_world()


# --- one call, what it should answer, and what it must not show or change ---------------


def _fill(value: Any, slots: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, slots) for key, item in value.items()}
    if isinstance(value, str):
        for name, slot in slots.items():
            value = value.replace("{" + name + "}", slot)
    return value


def _request(key: str, rule: ApiRule, world: dict[str, Any], obj: str | None):
    slots: dict[str, str] = {}
    if rule.on == "case":
        assert obj is not None
        case = world["cases"][obj]
        customer = case.customer
        slots.update(
            reference=case.reference,
            sibling=world["cases"][f"{obj}-sibling"].reference,
            lead={"own": "lead_a", "other": "lead_b"}[obj],
            commitment_id=str(Commitment.objects.get(case=case).pk),
            gesture_id=str(Gesture.objects.get(case=case).pk),
        )
    elif rule.on == "customer":
        assert obj is not None
        customer = world["customers"][obj]
        slots["response_id"] = str(world["responses"][obj].pk)
    if rule.on != "none":
        slots.update(
            email=f"{CUSTOMER_OF.get(str(obj), obj)}@example.com",
            external_id=customer.external_id or "",
            customer_id=str(customer.pk),
        )
    method, path = key.split(" ", 1)
    url = _fill(path, slots)
    query = _fill(rule.query, slots)
    body = _fill(rule.body, slots) if rule.body is not None else None
    return method.lower(), url, query, body


def _client_for(role: str, key: str, world: dict[str, Any]) -> Client:
    keys = world["keys"]
    scope = _operations()[key]["x-cherish-scope"]
    token = {
        "no key": None,
        "bad key": "chk_" + "x" * 40,
        "integration with scope": keys[f"with {scope}"],
        "integration without scope": keys[f"without {scope}"],
    }.get(role, keys.get(role))
    return Client(headers={"Authorization": f"Bearer {token}"}) if token else Client()


def _expected(rule: ApiRule, role: str, obj: str | None) -> str:
    if role in ("no key", "bad key"):
        return "401"
    if role == "integration without scope":
        return "403"
    if role == "integration with scope":
        return "403" if rule.person else "pass"  # the system: every object, within its scope
    expected = _staff_expected(rule, role, obj)
    return "rejected" if rule.rejects and expected in ("403", "404") else expected


def _staff_expected(rule: ApiRule, role: str, obj: str | None) -> str:
    if rule.needs == "scorecard":
        return "pass" if role in SCORECARD else "403"
    teams = TEAMS_OF.get(role, set())
    if rule.on == "case":
        if CASE_TEAM[str(obj)] not in teams:
            return "404"
        if rule.needs == "decide":
            return "pass" if role in DECIDERS[str(obj)] else "403"
        return "pass"
    if rule.on == "customer":
        team = CUSTOMER_TEAM[str(obj)]
        works = team in teams
        if rule.needs == "answer" and team is not None:  # about a case of that team
            return "pass" if works else "404"
        if not (works or role in SEE_EVERY_CUSTOMER):
            return "404"
        return "403" if rule.needs == "work" and not works else "pass"
    return "pass"


def _answer(key: str, response: Any) -> str:
    if response is None:
        return "pass"
    status = response.status_code
    if status in (401, 403, 404):
        return str(status)
    assert status < 500, (key, status, response.content[:300])
    if API_RULES[key].rejects and status == 200 and not response.json()["stored"]:
        return "rejected"
    return "pass"


def _hidden(world: dict[str, Any], role: str) -> tuple[list[str], set[str]]:
    """What ``role`` must not be shown: text (case references, customers' names and email
    addresses) and customer ids."""
    if role not in STAFF:
        return [], set()
    teams = TEAMS_OF.get(role, set())
    texts = [
        case.reference
        for key, case in world["cases"].items()
        if CASE_TEAM[key.removesuffix("-sibling")] not in teams
    ]
    ids = set()
    if role not in SEE_EVERY_CUSTOMER:
        for name, team in CUSTOMER_TEAM.items():
            if team not in teams:
                texts += [NAMES[name], f"{name}@example.com"]
                ids.add(str(world["customers"][name].pk))
    return texts, ids


def _customer_ids_in(data: Any) -> set[str]:
    if isinstance(data, list):
        return set().union(*(_customer_ids_in(item) for item in data)) if data else set()
    if isinstance(data, dict):
        found = {
            str(value)
            for name, value in data.items()
            if name in ("customer_id", "customer") and isinstance(value, str | int)
        }
        return found.union(*(_customer_ids_in(value) for value in data.values()))
    return set()


def _fingerprint() -> list[Any]:
    """Everything a call could change, other than the audit log and a key's last use."""
    return [
        list(
            Case.objects.order_by("pk").values_list(
                "pk", "stage", "owner_id", "team_id", "severity", "updated_at"
            )
        ),
        list(
            Customer.objects.order_by("pk").values_list(
                "pk", "name", "status", "language", "external_id", "updated_at"
            )
        ),
        list(Commitment.objects.order_by("pk").values_list("pk", "status")),
        list(Gesture.objects.order_by("pk").values_list("pk", "status")),
        list(
            Transaction.objects.order_by("pk").values_list(
                "pk", "customer_id", "kind", "updated_at"
            )
        ),
        list(
            CareState.objects.order_by("pk").values_list(
                "pk", "resolution", "fair_outcome", "plus_one", "assessed_at"
            )
        ),
        *(
            model.objects.count()
            for model in (
                CaseEvent,
                Message,
                ContactPoint,
                CustomerEvent,
                CaseLink,
                CaseMerge,
                ExternalEscalation,
                SurveyResponse,
            )
        ),
    ]


ROLES = KEYS + STAFF


def _send(client: Client, method: str, url: str, query: dict[str, str], body: Any) -> Any:
    """The response; None when the call got as far as intake's durable write of what the
    customer sent, which must commit on its own and so cannot run inside this test's
    transaction: past authentication, scope and boundary, and nothing written."""
    if method == "get":
        return client.get(url, query)
    try:
        return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")
    except RuntimeError as error:
        if "durable atomic block" not in str(error):
            raise
        return None


@pytest.mark.parametrize("key", sorted(API_RULES))
def test_operation_answers_every_key_as_its_rule_says(key, world, db):
    rule = API_RULES[key]
    objects: list[str | None] = {
        "case": list(CASE_TEAM),
        "customer": list(CUSTOMER_TEAM),
        "none": [None],
    }[rule.on]
    wrong: list[tuple[str, str | None, str, str]] = []
    leaks: list[tuple[str, str | None, str]] = []
    writes: list[tuple[str, str | None]] = []
    for role in ROLES:
        client = _client_for(role, key, world)
        for obj in objects:
            method, url, query, body = _request(key, rule, world, obj)
            with transaction.atomic():
                before = _fingerprint()
                response = _send(client, method, url, query, body)
                answer, expected = _answer(key, response), _expected(rule, role, obj)
                if answer != "pass" and _fingerprint() != before:
                    writes.append((role, obj))
                transaction.set_rollback(True)
            if answer != expected:
                wrong.append((role, obj, answer, expected))
            if answer == "pass" and response is not None:
                texts, ids = _hidden(world, role)
                content = response.content.decode()
                leaks += [(role, obj, text) for text in texts if text in content]
                shown = _customer_ids_in(response.json()) & ids
                leaks += [(role, obj, f"customer {pk}") for pk in sorted(shown)]
    assert wrong == [], "(key, object, answer, expected)"
    assert leaks == [], "cross-boundary reads: (key, object, what was shown)"
    assert writes == [], "refused calls that changed something: (key, object)"
