"""Single sign-on over OpenID Connect against a real (tiny) provider, over real HTTP: the
browser-side redirects, and the server-side token, JWKS and userinfo calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from django.contrib.auth import get_user_model

from cherish.staff.models import Role, Staff
from tests.staff.oidc_provider import TinyProvider, configure, running_provider


@pytest.fixture
def provider(settings: Any, live_server: Any, transactional_db: Any) -> Iterator[TinyProvider]:
    with running_provider() as idp:
        configure(settings, idp)
        yield idp


def sign_in_at_provider(live_server: Any, next_path: str = "/desk/") -> tuple[Any, Any]:
    """Start at Cherish's sign-in page, follow every redirect, consent at the provider."""
    browser = requests.Session()
    login_page = browser.get(f"{live_server.url}/login/?next={next_path}", timeout=10)
    start = re.search(r'href="(/oidc/authenticate/[^"]*)"', login_page.text)
    assert start, "the sign-in page offers single sign-on"
    at_provider = browser.get(urljoin(live_server.url, start.group(1).replace("&amp;", "&")))
    assert at_provider.history and at_provider.history[0].status_code == 302
    approve = re.search(r'href="([^"]+)"', at_provider.text)
    assert approve
    final = browser.get(urljoin(at_provider.url, approve.group(1)), timeout=10)
    return browser, final


def test_a_staff_member_signs_in_through_the_identity_provider(
    provider: TinyProvider, live_server: Any, agent: Staff
) -> None:
    # when: Alice signs in at her organisation's provider
    _, final = sign_in_at_provider(live_server)
    # then: real redirects provider -> Cherish's callback -> the desk, signed in as Alice
    hops = [(r.status_code, r.url.split("?")[0]) for r in final.history]
    assert hops == [
        (302, f"{provider.url}/approve"),
        (302, f"{live_server.url}/oidc/callback/"),
    ]
    assert final.status_code == 200 and final.url == f"{live_server.url}/desk/"
    assert "Alice Agent" in final.text
    assert provider.token_requests == 1
    assert get_user_model().objects.count() == 1  # nobody created


@pytest.mark.parametrize(
    ("person", "why"),
    [
        ({"email": "alice@example.com", "email_verified": False}, "unverified email"),
        ({"email": "stranger@example.com", "email_verified": True}, "no such staff member"),
    ],
)
def test_nobody_else_signs_in(
    provider: TinyProvider, live_server: Any, agent: Staff, person: dict[str, Any], why: str
) -> None:
    provider.person.update(person)
    browser, final = sign_in_at_provider(live_server)
    assert final.url.startswith(f"{live_server.url}/login/"), why
    assert "Single sign-on did not sign you in" in final.text
    assert browser.get(f"{live_server.url}/desk/", allow_redirects=False).status_code == 302
    assert get_user_model().objects.count() == 1


def test_a_deactivated_account_stays_out(
    provider: TinyProvider, live_server: Any, agent: Staff
) -> None:
    agent.user.is_active = False
    agent.user.save(update_fields=["is_active"])
    browser, final = sign_in_at_provider(live_server)
    assert final.url.startswith(f"{live_server.url}/login/")
    assert browser.get(f"{live_server.url}/desk/", allow_redirects=False).status_code == 302


def test_an_administrator_from_the_provider_is_not_asked_for_cherish_s_second_factor(
    provider: TinyProvider, live_server: Any, care_team: Any, settings: Any
) -> None:
    from cherish.staff.actions import create_staff

    settings.CHERISH_REQUIRE_TWO_FACTOR_FOR_ADMINISTRATORS = True
    create_staff(
        username="ada",
        password="x" * 20,
        display_name="Ada Administrator",
        email="ada@example.com",
        team=care_team,
        role=Role.ADMINISTRATOR,
    )
    provider.person.update(email="ada@example.com", sub="ada-at-idp")
    _, final = sign_in_at_provider(live_server)
    assert final.url == f"{live_server.url}/desk/"
