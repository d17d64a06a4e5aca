"""Every desk route × role × object, walked from the URL resolver, against one rule table.

Issue #9 "done means": a route without a rule fails ``test_every_desk_route_has_a_rule``;
each route's answers for every role and object must match what the rule says (login, 403,
404, or let through); and no page a role may open shows a case or customer outside that
role's boundary (0 cross-boundary reads). Each request runs in a transaction rolled back
afterwards, so a route is tried by every role on the same world.

The world: team A (Customer Care: agent A, lead A, manager A) owns case "own" of customer
Carla; team B (Billing: agent B, lead B) owns case "other" of customer Dan; Lou is a customer
with no case at all. An administrator is in no team.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cherish.care import actions as care_actions
from cherish.care.models import AuthorityLimit, Commitment, GestureType
from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Attachment
from cherish.core.clock import now
from cherish.customers.actions import add_important_date, find_or_create_customer
from cherish.customers.models import CustomerEvent
from cherish.desk.guard import is_guarded
from cherish.staff.actions import create_staff
from cherish.staff.models import Role, Team
from tests.conftest import PASSWORD, rolled_back

ROLES = ["anonymous", "outsider", "agent_a", "agent_b", "lead_a", "manager_a", "administrator"]
TEAMS_OF = {"agent_a": {"A"}, "agent_b": {"B"}, "lead_a": {"A"}, "manager_a": {"A"}}
CASE_TEAM = {"own": "A", "other": "B"}
CUSTOMER_TEAM = {"carla": "A", "dan": "B", "lou": None}
SEE_EVERY_CUSTOMER = {"manager_a"}  # managers hold view_all_customers
MAY = {
    "erase": {"lead_a", "manager_a"},
    "merge": {"lead_a", "manager_a"},
    "export": {"manager_a"},
    "targets": {"lead_a", "manager_a"},
    "all-mail": {"manager_a", "administrator"},  # the outbox: every team's outgoing mail
    "audit": {"manager_a", "administrator"},  # read and export the audit log
    "shape": {"lead_a", "manager_a"},  # learning: themes, register, actions
    "scorecard": {"lead_a", "manager_a"},
}
REQUESTER = {"own": "agent_a", "other": "agent_b"}  # each case has a refund waiting
DECIDERS = {"own": {"lead_a", "manager_a"}, "other": set()}  # routed to lead A / lead B


@dataclass(frozen=True)
class Rule:
    """What a route is about and what it needs.

    on: "case" (tried on cases own/other), "customer" (carla/dan/lou) or "desk" (no object);
    needs: "staff" (any staff member), "see" (see the object), "work" (change it),
    "decide" (the routed approver or above), or a right in MAY.
    """

    on: str
    needs: str
    method: str = "post"
    data: dict[str, Any] = field(default_factory=dict)
    missing: bool = False  # tried with an id that does not exist


READ, WORK = Rule("case", "see", "get"), Rule("case", "work")
RULES: dict[str, Rule] = {
    "desk:inbox": Rule("desk", "staff", "get"),
    # Bulk changes check every case on its own (reported per row): tried with a reference
    # that does not exist, the request itself is any staff member's.
    "desk:inbox-bulk": Rule(
        "desk", "staff", data={"cases": "CH-222222", "action": "note", "text": "Checked."}
    ),
    "desk:take": WORK,
    "desk:save-view": Rule("desk", "staff", data={"name": "Leaving, by customer"}),
    "desk:delete-view": Rule("desk", "staff", missing=True),
    "desk:macro-reply": Rule("case", "work", data={"text": "We are on it.", "macro": "999999"}),
    "cases:detail": READ,
    "cases:reply": Rule("case", "work", data={"text": "We are on it."}),
    "cases:note": Rule("case", "work", data={"text": "Checked."}),
    "cases:update": Rule("case", "work", data={"kind": "inquiry", "severity": "low"}),
    "cases:reassign": Rule("case", "work", data={"note": "Over to you, with the whole story."}),
    "cases:timeline": READ,
    "cases:handover": READ,
    "cases:macros": READ,
    "cases:attachment": READ,
    "desk:notifications": Rule("desk", "staff", "get"),
    "desk:notification-badge": Rule("desk", "staff", "get"),
    "desk:read-notifications": Rule("desk", "staff", data={"all": "1"}),
    "desk:notification-email": Rule("desk", "staff", data={"email": "1"}),
    "desk:inbox-news": Rule("desk", "staff", "get"),
    "desk:presence": Rule("case", "see", data={"seen_message": "0", "text": "Hi"}),
    "customers:list": Rule("desk", "staff", "get", data={"q": "a"}),
    "care:due": Rule("desk", "staff", "get"),
    "care:tone-check": Rule("desk", "staff", data={"text": "Sorry for the wait."}),
    "care:approve-gesture": Rule("case", "decide"),
    "care:decline-gesture": Rule("case", "decide"),
    "care:case": READ,
    "care:advance-stage": Rule("case", "work", data={"stage": "acknowledged"}),
    "care:wait": WORK,
    "care:resume": WORK,
    "care:fair-outcome": Rule("case", "work", data={"fair_outcome": "Money back."}),
    "care:resolution": Rule("case", "work", data={"resolution": "Refunded."}),
    "care:plus-one": WORK,
    "care:follow-up": WORK,
    "care:assessment": WORK,
    "care:commitment": WORK,
    "care:keep-commitment": WORK,
    "care:break-commitment": WORK,
    "care:gesture": WORK,
    "care:handoff": WORK,
    "care:collaborator": WORK,
    "care:link": WORK,
    "care:merge": WORK,
    "care:escalation": WORK,
    "care:note": Rule("case", "work", data={"text": "A note."}),
    "triage:correct": WORK,
    "triage:add-flag": Rule("case", "work", data={"flag": "leaving", "reason": "said so"}),
    "triage:clear-flag": Rule("case", "work", data={"flag": "leaving", "reason": "not so"}),
    "outreach:customer": Rule("customer", "see", "get"),
    "outreach:change-status": Rule("customer", "work", data={"status": "active"}),
    "outreach:add-date": Rule("customer", "work"),
    "outreach:remove-date": Rule("customer", "work"),
    "outreach:export": Rule("customer", "export"),
    "outreach:erase": Rule("customer", "erase", data={"confirm": "ERASE"}),
    "outreach:send-note": Rule("customer", "work"),
    "outreach:reach-out": Rule("customer", "work"),
    "outreach:win-back": Rule("customer", "work"),
    "outreach:unmerge": Rule("customer", "merge"),
    "outreach:duplicates": Rule("desk", "staff", "get"),
    # survivor / duplicate are filled with the customer tried and his twin (same team)
    "outreach:merge": Rule("customer", "merge"),
    "outreach:dismiss-duplicate": Rule("customer", "work"),
    "outreach:leave-reasons": Rule("desk", "staff", "get"),
    "outreach:moments": Rule("desk", "staff", "get", data={"who": "all"}),
    "outreach:radar": Rule("desk", "staff", "get"),
    # Operations pages, tried with ids that do not exist: found by nobody.
    "outbox:tasks": Rule("desk", "all-mail", "get"),
    "outbox:retry-email": Rule("desk", "all-mail", missing=True),
    "outbox:retry-webhook": Rule("desk", "all-mail", missing=True),
    "intake:unreadable": Rule("desk", "staff", "get"),
    "intake:raw-download": Rule("desk", "staff", "get", missing=True),
    "intake:raw-retry": Rule("desk", "staff", missing=True),
    "intake:log-contact": Rule("desk", "staff", "get"),
    "feedback:surveys": Rule("desk", "staff", "get"),
    "feedback:set-target": Rule("desk", "targets"),
    # Learning: read by every staff member; shaped by leads and managers. Objects by id are
    # tried with ids that do not exist: found by nobody.
    "learning:index": Rule("desk", "staff", "get"),
    "learning:recluster": Rule("desk", "shape"),
    "learning:theme": Rule("desk", "staff", "get", missing=True),
    "learning:theme-rename": Rule("desk", "staff", missing=True),
    "learning:theme-merge": Rule("desk", "staff", missing=True),
    "learning:theme-split": Rule("desk", "staff", missing=True),
    "learning:case-finding": READ,
    "learning:case-policy": WORK,
    "learning:reveal": Rule("desk", "staff", "get"),
    "learning:policies": Rule("desk", "staff", "get"),
    "learning:policy-new": Rule("desk", "shape", data={"title": "Returns within 14 days"}),
    "learning:policy": Rule("desk", "staff", "get", missing=True),
    "learning:actions": Rule("desk", "staff", "get"),
    "learning:action-new": Rule("desk", "shape", data={"title": "Needs a theme or policy"}),
    "learning:action": Rule("desk", "staff", "get", missing=True),
    "learning:action-link-case": Rule("desk", "staff", missing=True),
    "learning:action-publish": Rule("desk", "staff", missing=True),
    "learning:action-unpublish": Rule("desk", "staff", missing=True),
    "learning:stories": Rule("desk", "staff", "get"),
    "learning:story-new": Rule("desk", "staff", "get"),
    "learning:story": Rule("desk", "staff", "get", missing=True),
    "learning:story-circulate": Rule("desk", "staff", missing=True),
    "learning:weekly": Rule("desk", "staff", "get"),
    # People: every staff member; pulses by id tried with ids that do not exist.
    "staff:wall": Rule("desk", "staff", "get"),
    "staff:thank": Rule("desk", "staff"),
    "staff:nominations": Rule("desk", "staff", "get"),
    "staff:pulses": Rule("desk", "staff", "get"),
    "staff:pulse": Rule("desk", "staff", "get", missing=True),
    "staff:pulse-plan": Rule("desk", "staff", missing=True),
    "staff:pulse-close": Rule("desk", "staff", missing=True),
    "staff:creed": Rule("desk", "staff", "get"),
    "staff:audit-log": Rule("desk", "audit", "get"),
    "scorecard:index": Rule("desk", "scorecard", "get"),
    "scorecard:cases": Rule("desk", "scorecard", "get", data={"figure": "complaints"}),
    "scorecard:people": Rule("desk", "staff", "get"),
}


def _desk_routes() -> dict[str, str]:
    routes: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    prefix + str(pattern.pattern),
                    pattern.namespace or namespace,
                )
            elif isinstance(pattern, URLPattern) and is_guarded(pattern.callback):
                routes[f"{namespace}:{pattern.name}"] = prefix + str(pattern.pattern)

    walk(get_resolver().url_patterns, "", None)
    return routes


def test_every_desk_route_has_a_rule():
    routes = _desk_routes()
    assert sorted(set(routes) - set(RULES)) == [], "desk routes without a rule"
    assert sorted(set(RULES) - set(routes)) == [], "rules for routes that are gone"


# --- the world ---------------------------------------------------------------------------


def _give(case: Any, owner: Any) -> None:
    case.refresh_from_db()
    if case.owner_id != owner.pk:
        case_actions.reassign_case(case, to=owner, note="Yours: please look after it.", by=None)
    case.refresh_from_db()
    assert case.team_id == owner.team_id


def _build_world() -> dict[str, Any]:
    from cherish.care.demo import seed_defaults

    seed_defaults()  # what care's migration 0002 seeds; a transactional test may have flushed it
    care_team = Team.objects.create(name="Customer Care")
    billing_team = Team.objects.create(name="Billing")
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
    customers = {}
    cases = {}
    for key, customer_key, name, email, owner in [
        ("own", "carla", "Carla Customer", "carla@example.com", "agent_a"),
        ("other", "dan", "Dan Debtor", "dan@example.com", "agent_b"),
    ]:
        customer, _ = find_or_create_customer(name=name, email=email)
        case, _ = case_actions.open_case(
            customer,
            text=f"Case of {name}: the parcel was broken.",
            channel="email",
            attachments=[NewAttachment("photo.png", "image/png", b"\x89PNG fake")],
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
        twin, _ = find_or_create_customer(name=name, email=f"twin.{email}")
        case_actions.open_case(twin, text="Same person, other address.", channel="email")
        _give(twin.cases.get(), people[owner])
        customers[customer_key] = customer
        customers[f"{customer_key}-twin"] = twin
        cases[key] = case
    lou, _ = find_or_create_customer(name="Lou Lonely", email="lou@example.com")
    customers["lou"] = lou
    customers["lou-twin"], _ = find_or_create_customer(name="Lou Lonely", email="l2@example.com")
    for customer in customers.values():
        add_important_date(customer, kind="birthday", date=now().date(), by=None)
        CustomerEvent.objects.create(customer=customer, type="customer.noted", created_at=now())
    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.create_user("outsider", password=PASSWORD)
    # One signed-in session per role, shared by the module's tests (each request's writes,
    # the session's among them, are rolled back).
    sessions = {}
    for role in ROLES[1:]:
        client = Client()
        client.force_login(outsider if role == "outsider" else people[role].user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "people": people,
        "cases": cases,
        "customers": customers,
        "outsider": outsider,
        "sessions": sessions,
    }


# Built once for the module in a transaction rolled back at its end, not once per route: the
# ~110 route tests each built it (6 staff, 6 customers, 4 cases with commitments and
# gestures) and signed 6 people in. The route tests took 19.5 -> 10.1 s of the pytest
# process's CPU on SQLite, 27.1 -> 12.7 s on PostgreSQL (and its server 10.9 -> 6.9 s with
# tests/staff beside them; 2026-12-02 05:00-05:22, load average 5-8).
@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker):
        yield _build_world()


def _client(world: dict[str, Any], role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][role]
    return client


def _url_and_data(name: str, route: str, rule: Rule, world: dict[str, Any], obj: str | None):
    kwargs: dict[str, Any] = {}
    data = dict(rule.data)
    if rule.on == "case":
        case = world["cases"][obj]
        kwargs = {"reference": case.reference}
        if "<int:commitment_id>" in route:
            kwargs["commitment_id"] = Commitment.objects.get(case=case).pk
        if "<int:gesture_id>" in route:
            kwargs = {"gesture_id": case.gestures.get().pk}
        if "<str:public_id>" in route:
            kwargs = {"public_id": Attachment.objects.get(message__case=case).public_id}
    elif rule.on == "customer":
        customer = world["customers"][obj]
        if "<int:pk>" in route:
            kwargs = {"pk": customer.pk}
        if "<int:date_id>" in route:
            kwargs["date_id"] = customer.important_dates.get().pk
        if "<int:event_id>" in route:
            kwargs["event_id"] = CustomerEvent.objects.get(
                customer=customer, type="customer.noted"
            ).pk
        if name in ("outreach:merge", "outreach:dismiss-duplicate"):
            twin = world["customers"][f"{obj}-twin"]
            data.update(survivor=customer.pk, duplicate=twin.pk)
    else:  # an object by id on a desk-level route: one that does not exist
        kwargs = dict.fromkeys(re.findall(r"<int:(\w+)>", route), 999999)  # refuses -1
    return reverse(name, kwargs=kwargs), data


def _expected(rule: Rule, role: str, obj: str | None) -> str:
    if role == "anonymous":
        return "login"
    if role == "outsider":
        return "403"
    teams = TEAMS_OF.get(role, set())
    if rule.on == "case":
        assert obj is not None
        if CASE_TEAM[obj] not in teams:
            return "404"
        if rule.needs == "decide":
            return "pass" if role in DECIDERS[obj] else "403"
        return "pass"
    if rule.on == "customer":
        assert obj is not None
        works = CUSTOMER_TEAM[obj] in teams
        if not (works or role in SEE_EVERY_CUSTOMER):
            return "404"
        if rule.needs in MAY:
            return "pass" if role in MAY[rule.needs] else "403"
        if rule.needs == "work":
            return "pass" if works else "403"
        return "pass"
    if rule.needs in MAY and role not in MAY[rule.needs]:
        return "403"
    return "404" if rule.missing else "pass"


def _answer(response: Any) -> str:
    if response.status_code == 302 and response["Location"].startswith("/login/"):
        return "login"
    if response.status_code in (403, 404):
        return str(response.status_code)
    assert response.status_code in (200, 302, 400), response.status_code
    return "pass"


def _hidden_markers(world: dict[str, Any], role: str) -> list[str]:
    """Text of the cases and customers outside ``role``'s boundary."""
    teams = TEAMS_OF.get(role, set())
    hidden = [world["cases"][key].reference for key, team in CASE_TEAM.items() if team not in teams]
    if role not in SEE_EVERY_CUSTOMER:
        names = {"carla": "Carla Customer", "dan": "Dan Debtor", "lou": "Lou Lonely"}
        hidden += [names[k] for k, team in CUSTOMER_TEAM.items() if team not in teams]
    return hidden


@pytest.mark.parametrize("name", sorted(RULES))
def test_route_answers_every_role_as_its_rule_says(name, world, db):
    route = _desk_routes()[name]
    rule = RULES[name]
    objects: list[str | None] = {
        "case": list(CASE_TEAM),
        "customer": list(CUSTOMER_TEAM),
        "desk": [None],
    }[rule.on]
    wrong: list[tuple[str, str | None, str, str]] = []
    leaks: list[tuple[str, str | None, str]] = []
    for role in ROLES:
        client = _client(world, role)
        for obj in objects:
            url, data = _url_and_data(name, route, rule, world, obj)
            with transaction.atomic():
                response = getattr(client, rule.method)(url, data)
                content = b"" if response.streaming else response.content
                transaction.set_rollback(True)
            answer, expected = _answer(response), _expected(rule, role, obj)
            if answer != expected:
                wrong.append((role, obj, answer, expected))
            if answer == "pass" and rule.method == "get":
                text = content.decode(errors="replace")
                leaks += [(role, obj, m) for m in _hidden_markers(world, role) if m in text]
    assert wrong == [], "(role, object, answer, expected)"
    assert leaks == [], "cross-boundary reads: (role, object, text shown)"
