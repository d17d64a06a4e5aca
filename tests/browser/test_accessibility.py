"""Accessibility as a test: axe-core on every public page and every desk page (issue #13).

``PAGES`` lists every page route, with the role that opens it and how to build its URL from
the demo data; ``NOT_PAGES`` lists the routes that are not pages (form posts, downloads,
fragments), each with why. A new route in neither list fails ``test_every_route_is_listed``,
so a new page cannot skip the check. The suite fails on any serious or critical violation.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from tests.browser.conftest import axe_violations, describe_violations

from cherish.core.clock import now

expect = pytest.importorskip("playwright.sync_api").expect

DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Page:
    """who: "anonymous" (a customer or visitor), or the demo username that opens it."""

    who: str
    url: Callable[[], str]


def _case() -> Any:
    from cherish.cases.models import Case

    return Case.objects.filter(is_open=True, kind="complaint").order_by("id").first()


def _first(model_path: str, **filters: Any) -> Any:
    from django.apps import apps

    app, name = model_path.split(".")
    row = apps.get_model(app, name).objects.filter(**filters).order_by("id").first()
    assert row is not None, f"the demo data has no {model_path} {filters}"
    return row


def _case_url(name: str) -> Callable[[], str]:
    return lambda: reverse(name, args=[_case().reference])


def _pk_url(name: str, model_path: str, **filters: Any) -> Callable[[], str]:
    return lambda: reverse(name, args=[_first(model_path, **filters).pk])


def _thanks() -> str:
    from django.test import Client

    response = Client().post(
        reverse("intake:complain"),
        {
            "name": "Nadia Visitor",
            "email": "nadia@example.com",
            "text": "The lift at the station has been broken for two weeks.",
            "kind": "complaint",
        },
    )
    assert response.status_code == 302, response.content[:300]
    return str(response["Location"])


def _survey() -> str:
    from cherish.customers.actions import find_or_create_customer
    from cherish.feedback.actions import invite, survey_url

    customer, _ = find_or_create_customer(name="Sam Surveyed", email="sam.surveyed@example.com")
    invitation = invite(_first("feedback.Survey"), customer)
    assert invitation.status == "sent", f"the survey was not sent: {invitation.status}"
    return _path(survey_url(invitation))


def _follow_up_answer() -> str:
    from cherish.customers.actions import TransactionRow, upsert_transactions
    from cherish.outreach.actions import answer_url, schedule_follow_ups, send_follow_up
    from cherish.outreach.models import FollowUp

    delivered = now() - dt.timedelta(days=4)
    upsert_transactions(
        [
            TransactionRow(
                customer_id=_case().customer_id,
                external_id="A11Y-DELIVERY-1",
                kind="delivery",
                occurred_at=delivered,
                amount=Decimal("40.00"),
                currency="GBP",
            )
        ]
    )
    schedule_follow_ups()
    follow_up = FollowUp.objects.order_by("id").first()
    assert follow_up is not None, "no follow-up was scheduled for the delivery"
    send_follow_up(follow_up)
    return _path(answer_url(follow_up, "yes"))


def _portal() -> str:
    from cherish.cases.outgoing import portal_url

    return _path(portal_url(_case()))


def _drill() -> str:
    from cherish.scorecard import figures

    return next(key for key, figure in figures.BY_KEY.items() if figure.drill is not None)


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url


MANAGER = "admin"  # the demo's manager: every team, the scorecard, learning, the outbox
PAGES: dict[str, Page] = {
    # public: what customers and visitors see
    "core:home": Page("anonymous", lambda: reverse("core:home")),
    "core:login": Page("anonymous", lambda: reverse("core:login")),
    "intake:complain": Page("anonymous", lambda: reverse("intake:complain")),
    "intake:thanks": Page("anonymous", _thanks),
    "portal:open": Page("anonymous", _portal),
    "feedback:survey": Page("anonymous", _survey),
    "outreach:answer": Page("anonymous", _follow_up_answer),
    "learning:you-said-we-did": Page("anonymous", lambda: reverse("learning:you-said-we-did")),
    # the desk
    "staff:two_factor": Page(MANAGER, lambda: reverse("staff:two_factor")),
    "staff:wall": Page(MANAGER, lambda: reverse("staff:wall")),
    "staff:nominations": Page(MANAGER, lambda: reverse("staff:nominations")),
    "staff:pulses": Page(MANAGER, lambda: reverse("staff:pulses")),
    "staff:pulse": Page(MANAGER, _pk_url("staff:pulse", "staff.PulseSurvey")),
    "staff:creed": Page(MANAGER, lambda: reverse("staff:creed")),
    "staff:audit-log": Page(MANAGER, lambda: reverse("staff:audit-log")),
    "intake:unreadable": Page(MANAGER, lambda: reverse("intake:unreadable")),
    "intake:log-contact": Page(MANAGER, lambda: reverse("intake:log-contact")),
    "desk:inbox": Page("agent", lambda: reverse("desk:inbox")),
    "desk:notifications": Page("agent", lambda: reverse("desk:notifications")),
    "cases:detail": Page("agent", _case_url("cases:detail")),
    # Without HTMX these open the case page with the hand-over form / saved replies in place.
    "cases:handover": Page("agent", _case_url("cases:handover")),
    "cases:macros": Page("agent", _case_url("cases:macros")),
    "customers:list": Page(MANAGER, lambda: reverse("customers:list")),
    "care:due": Page("chloe", lambda: reverse("care:due")),
    "care:case": Page("agent", _case_url("care:case")),
    "outreach:customer": Page(
        MANAGER, lambda: reverse("outreach:customer", args=[_case().customer_id])
    ),
    "outreach:duplicates": Page(MANAGER, lambda: reverse("outreach:duplicates")),
    "outreach:leave-reasons": Page(MANAGER, lambda: reverse("outreach:leave-reasons")),
    "outreach:moments": Page(MANAGER, lambda: reverse("outreach:moments")),
    "outreach:radar": Page(MANAGER, lambda: reverse("outreach:radar")),
    "outbox:tasks": Page(MANAGER, lambda: reverse("outbox:tasks")),
    "feedback:surveys": Page(MANAGER, lambda: reverse("feedback:surveys")),
    "scorecard:index": Page(MANAGER, lambda: reverse("scorecard:index")),
    "scorecard:cases": Page(MANAGER, lambda: reverse("scorecard:cases") + "?figure=" + _drill()),
    "scorecard:people": Page(MANAGER, lambda: reverse("scorecard:people")),
    "learning:index": Page(MANAGER, lambda: reverse("learning:index")),
    "learning:theme": Page(MANAGER, _pk_url("learning:theme", "learning.Theme")),
    "learning:reveal": Page(MANAGER, lambda: reverse("learning:reveal")),
    "learning:policies": Page(MANAGER, lambda: reverse("learning:policies")),
    "learning:policy": Page(MANAGER, _pk_url("learning:policy", "learning.Policy")),
    "learning:actions": Page(MANAGER, lambda: reverse("learning:actions")),
    "learning:action": Page(MANAGER, _pk_url("learning:action", "learning.ImprovementAction")),
    "learning:stories": Page(MANAGER, lambda: reverse("learning:stories")),
    "learning:story-new": Page(MANAGER, lambda: reverse("learning:story-new")),
    "learning:story": Page(MANAGER, _pk_url("learning:story", "learning.LearningStory")),
    "learning:weekly": Page(MANAGER, lambda: reverse("learning:weekly")),
}

NOT_PAGES: dict[str, str] = {
    "core:healthz": "a probe for load balancers, plain text",
    "core:login_verify": "the second step of a two-factor sign-in; checked in tests/staff",
    "core:logout": "post only",
    "set_language": "post only (the language switcher)",
    "portal:case": "reached through portal:open, which is checked",
    "portal:download": "a file download",
    "intake:raw-download": "a file download",
    "cases:attachment": "a file download",
    "outreach:export": "a JSON download",
    "cases:timeline": "an HTMX fragment of the case page (its page is checked)",
    "desk:notification-badge": "an HTMX fragment of the navigation",
    "desk:presence": "an HTMX fragment of the case page",
    "desk:inbox-news": "an HTMX fragment of the inbox",
    "care:tone-check": "an HTMX fragment of the reply box",
    "feedback:click": "a one-click answer that records and redirects to feedback:survey",
    "feedback:rate": "post only: the rating form is on the customer's case page (portal)",
}
# Every other route is a form's POST target (a page above shows the form).
_POST_ONLY = re.compile(
    r"^(cases:(reply|note|update|reassign)|desk:(inbox-bulk|take|save-view|delete-view|macro-reply|"
    r"read-notifications|notification-email)|care:(?!due$|case$)|triage:|outreach:(change-status|"
    r"add-date|remove-date|erase|send-note|reach-out|win-back|unmerge|merge|dismiss-duplicate)|"
    r"outbox:retry-|feedback:(opt-out|set-target)|staff:(thank|pulse-plan|pulse-close)|"
    r"intake:raw-retry|learning:(recluster|theme-|case-|action-(link-case|publish|unpublish)|"
    r"story-circulate|policy-new|action-new)|portal:(reply|solved|new-link))"
)


def _route_names(patterns: list[Any], namespace: str = "") -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in ("admin",) or str(pattern.pattern).startswith(
                ("api/", "oidc/")
            ):
                continue
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            names += _route_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(namespace + pattern.name)
    return names


def test_every_route_is_listed() -> None:
    routes = set(_route_names(get_resolver().url_patterns))
    unlisted = sorted(
        name
        for name in routes
        if name not in PAGES and name not in NOT_PAGES and not _POST_ONLY.match(name)
    )
    assert not unlisted, f"add these routes to PAGES or NOT_PAGES: {unlisted}"
    assert not set(PAGES) - routes, "PAGES lists routes that no longer exist"


def _signed_in(browser: Any, live_server: Any, who: str) -> Any:
    context = browser.new_context(viewport=DESKTOP)
    if who != "anonymous":
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(who)
        page.get_by_label("Password").fill(
            {"agent": "cherish-agent", "admin": "cherish-admin"}.get(who, "cherish-demo")
        )
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.close()
    return context


@pytest.mark.browser
def test_every_public_and_desk_page_loads_whole_with_no_serious_accessibility_violation(
    browser, live_server, transactional_db, settings
):
    # given: the demo data (a small set), and one browser context per role
    settings.SITE_URL = live_server.url
    call_command("demo", customers=30, cases=60, stdout=io.StringIO())
    contexts: dict[str, Any] = {}
    failures = []
    # when: each page is opened as its role and axe runs on it
    for name, spec in PAGES.items():
        if spec.who not in contexts:
            contexts[spec.who] = _signed_in(browser, live_server, spec.who)
        page = contexts[spec.who].new_page()
        # Everything the page loads answers, and its scripts raise nothing: a stylesheet,
        # script or icon that is not there is a broken page too.
        broken: list[str] = []
        page.on(
            "response",
            lambda r, broken=broken: (
                broken.append(f"{r.status} {r.url}") if r.status >= 400 else None
            ),
        )
        page.on("requestfailed", lambda r, broken=broken: broken.append(f"failed {r.url}"))
        page.on("pageerror", lambda e, broken=broken: broken.append(f"script error {e}"))
        page.on(
            "console",
            lambda m, broken=broken: (
                broken.append(f"console: {m.text} ({m.location.get('url')})")
                if m.type == "error"
                else None
            ),
        )
        try:
            url = spec.url()
        except AssertionError as error:
            failures.append(f"{name}: {error}")
            continue
        try:
            response = page.goto(live_server.url + url)
        except Exception as error:
            failures.append(f"{name}: {error}")
            continue
        if response is None or response.status != 200:
            failures.append(f"{name}: answered {response.status if response else 'nothing'}")
        else:
            violations = axe_violations(page)
            if violations:
                failures.append(f"{name}:\n" + describe_violations(page.url, violations))
        page.close()
        if broken:
            failures.append(f"{name}: " + "; ".join(broken))
    for context in contexts.values():
        context.close()
    # then
    assert not failures, "\n".join(failures)
