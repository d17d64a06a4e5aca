"""Two-factor sign-in: TOTP with recovery codes, required for administrators (and, by the
organisation's policy, for everyone)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cherish.staff.actions import create_staff
from cherish.staff.models import OrgPolicy, Role, Staff
from cherish.staff.twofactor import forget_policy
from tests.conftest import PASSWORD


def code_for(device: TOTPDevice, *, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at or time.time()
    return f"{totp.token():0{device.digits}d}"


def enrolled(staff: Staff) -> TOTPDevice:
    return TOTPDevice.objects.create(user=staff.user, name="Authenticator app", confirmed=True)


@pytest.fixture
def administrator(care_team: Any, settings: Any) -> Staff:
    settings.CHERISH_REQUIRE_TWO_FACTOR_FOR_ADMINISTRATORS = True
    return create_staff(
        username="ada",
        password=PASSWORD,
        display_name="Ada Administrator",
        team=care_team,
        role=Role.ADMINISTRATOR,
    )


def sign_in(client: Client, username: str) -> Any:
    return client.post("/login/", {"username": username, "password": PASSWORD})


def test_a_password_alone_does_not_sign_in_someone_with_an_authenticator(agent: Staff) -> None:
    # given: Alice turned on two-factor sign-in
    device = enrolled(agent)
    client = Client()
    # when: she gives her password
    response = sign_in(client, "alice")
    # then: a second step, not the desk
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/desk/").status_code == 302
    # a wrong code keeps her out; the right one lets her in
    wrong = client.post("/login/verify/", {"code": "000000"})
    assert "not right" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    # (django-otp also slows down guessing: the next try waits a second)
    with time_machine.travel(time.time() + 2):
        right = client.post("/login/verify/", {"code": code_for(device)})
    assert right.status_code == 302
    assert client.get("/desk/").status_code == 200


def test_a_recovery_code_works_once(agent: Staff) -> None:
    enrolled(agent)
    from cherish.staff.twofactor import new_recovery_codes

    codes = new_recovery_codes(agent.user)
    first = Client()
    sign_in(first, "alice")
    assert first.post("/login/verify/", {"code": codes[0]}).status_code == 302
    assert first.get("/desk/").status_code == 200
    again = Client()
    sign_in(again, "alice")
    refused = again.post("/login/verify/", {"code": codes[0]})
    assert refused.status_code == 200 and "_auth_user_id" not in again.session
    assert StaticToken.objects.filter(device__user=agent.user).count() == 9


def test_codes_cannot_be_guessed(agent: Staff, settings: Any) -> None:
    device = enrolled(agent)
    client = Client()
    sign_in(client, "alice")
    for n in range(settings.CHERISH_LOGIN_FAILURE_LIMIT):
        client.post("/login/verify/", {"code": f"{n:06d}"})
    locked = client.post("/login/verify/", {"code": code_for(device)})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_administrator_must_enrol_before_anything_else(administrator: Staff) -> None:
    # given: an administrator signs in with a password only
    client = Client()
    assert sign_in(client, "ada").status_code == 302
    # then: every page sends them to enrolment
    for path in ("/desk/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    # when: they scan the QR code and type the app's code
    page = client.get("/account/two-factor/")
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    uri = re.search(r'data-testid="otpauth-uri">([^<]+)<', html)
    assert uri and uri.group(1).startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=administrator.user, confirmed=False)
    done = client.post("/account/two-factor/", {"action": "confirm", "code": code_for(device)})
    # then: recovery codes, shown once, and the admin opens
    codes = re.findall(r"<code>([0-9a-z]{8})</code>", done.content.decode())
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert codes[0] not in client.get("/account/two-factor/").content.decode()


def test_a_wrong_enrolment_code_enrols_nothing(administrator: Staff) -> None:
    client = Client()
    sign_in(client, "ada")
    client.get("/account/two-factor/")
    response = client.post("/account/two-factor/", {"action": "confirm", "code": "123456"})
    assert "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert client.get("/desk/").status_code == 302


def test_the_organisation_can_require_it_of_everyone(agent: Staff) -> None:
    client = Client()
    sign_in(client, "alice")
    assert client.get("/desk/").status_code == 200
    OrgPolicy.objects.create(pk=1, require_two_factor=True)
    forget_policy()  # other processes: within POLICY_TTL_S
    response = client.get("/desk/")
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"


def test_an_enrolled_administrators_unverified_session_is_sent_back_to_sign_in(
    administrator: Staff,
) -> None:
    enrolled(administrator)
    client = Client()
    client.force_login(administrator.user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session
