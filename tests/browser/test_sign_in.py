"""Signing in in a real browser: a password plus a code from an authenticator app (TOTP), and
single sign-on through an OpenID Connect provider."""

from __future__ import annotations

import re
import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.conftest import PASSWORD
from tests.staff.oidc_provider import configure, running_provider

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def test_a_totp_sign_in(browser, live_server, transactional_db, agent):
    # given: Alice has an authenticator app
    device = TOTPDevice.objects.create(user=agent.user, name="Authenticator app", confirmed=True)
    page = browser.new_context().new_page()
    # when: she signs in with her password
    page.goto(f"{live_server.url}/login/?next=/desk/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # then: Cherish asks for the code; the app's code lets her in
    page.wait_for_url(re.compile(r"/login/verify/$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/desk/$"))
    expect(page.locator(".topbar-user")).to_contain_text("Alice Agent")
    page.context.close()


def test_an_oidc_sign_in(browser, live_server, transactional_db, agent, settings):
    with running_provider() as idp:
        # given: the organisation's identity provider is configured
        configure(settings, idp)
        page = browser.new_context().new_page()
        # when: Alice chooses single sign-on and consents at the provider
        page.goto(f"{live_server.url}/login/?next=/desk/")
        page.get_by_role("link", name="Sign in with Example ID").click()
        page.wait_for_url(re.compile(r"127\.0\.0\.1:82\d\d/authorize"))
        page.get_by_role("link", name="Continue as alice@example.com").click()
        # then: back at Cherish, signed in as Alice
        page.wait_for_url(re.compile(r"/desk/$"))
        expect(page.locator(".topbar-user")).to_contain_text("Alice Agent")
        page.context.close()
