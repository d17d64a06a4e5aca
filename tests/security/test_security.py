"""The security baseline, tested through the real HTTP stack."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from tests.conftest import PASSWORD

from cherish.cases import actions
from cherish.cases.models import Case, Message
from cherish.customers.actions import find_or_create_customer
from cherish.intake.models import RawContact

SCRIPT = "<script>alert('stored')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;stored&#x27;)&lt;/script&gt;"
# The case page is a Jinja2 template (cherish.core.jinja): markupsafe writes ' as &#39;.
ESCAPED_JINJA = ESCAPED.replace("&#x27;", "&#39;")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def complaint_data(**changes):
    data = {
        "text": "The delivery was two weeks late.",
        "name": "Sam Example",
        "email": "sam@example.com",
        "kind": "complaint",
    }
    data.update(changes)
    return data


@pytest.fixture
def script_case(agent):
    person, _ = find_or_create_customer(name=f"Mallory {SCRIPT}", email="mallory@example.com")
    case, _ = actions.open_case(person, text=f"Hi {SCRIPT}", subject=f"Subject {SCRIPT}")
    actions.reply_to_customer(case, text=f"Reply {SCRIPT}", by=agent)
    return case


# -- Content-Security-Policy --------------------------------------------------------------


def assert_strict_csp(response):
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert "script-src" in directives
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]


def test_every_html_page_carries_a_strict_csp(client, desk_client, script_case):
    # given: a public page, the thank-you page, login, a 404 and desk pages
    public = Client()
    thanks = public.post("/complain/", complaint_data())
    responses = [
        public.get("/complain/"),
        public.get(thanks["Location"]),
        public.post("/complain/", complaint_data(email="")),
        Client().get("/login/"),
        Client().get("/no-such-page/"),
        desk_client.get("/desk/"),
        desk_client.get("/desk/?view=open", HTTP_HX_REQUEST="true"),
        desk_client.get(f"/desk/cases/{script_case.reference}/"),
    ]
    # then
    for response in responses:
        assert response["Content-Type"].startswith("text/html")
        assert_strict_csp(response)


def test_pages_contain_no_inline_scripts_or_styles(desk_client, script_case):
    for url in ["/complain/", "/desk/", f"/desk/cases/{script_case.reference}/"]:
        html = (desk_client if url.startswith("/desk") else Client()).get(url).content.decode()
        assert "<script>" not in html
        assert " style=" not in html
        assert " onclick=" not in html and " onload=" not in html


# -- stored markup is always escaped -------------------------------------------------------


def test_stored_script_is_escaped_on_inbox_and_case_page(desk_client, script_case):
    for url in [
        "/desk/?view=open",
        f"/desk/cases/{script_case.reference}/",
        f"/desk/?q={script_case.reference}",
    ]:
        html = desk_client.get(url).content.decode()
        assert SCRIPT not in html, url
        assert ESCAPED in html or ESCAPED_JINJA in html, url


def test_stored_script_is_escaped_on_thank_you_page(client, agent):
    response = client.post("/complain/", complaint_data(name=SCRIPT, text=f"Look {SCRIPT}"))
    html = client.get(response["Location"]).content.decode()
    assert SCRIPT not in html
    assert ESCAPED in html


# -- CSRF ---------------------------------------------------------------------------------


def test_public_form_refuses_post_without_csrf_token(agent):
    # given
    client = Client(enforce_csrf_checks=True)
    # when
    response = client.post("/complain/", complaint_data())
    # then
    assert response.status_code == 403
    assert Case.objects.count() == 0 and RawContact.objects.count() == 0


def test_public_form_accepts_post_with_csrf_token(agent):
    client = Client(enforce_csrf_checks=True)
    client.get("/complain/")
    token = client.cookies["csrftoken"].value
    response = client.post("/complain/", {**complaint_data(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Case.objects.count() == 1


def test_desk_posts_refuse_missing_csrf_token(complaint, agent):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent.user)
    url = f"/desk/cases/{complaint.reference}/"
    # when
    refused = [
        client.post(url + "reply/", {"text": "hi"}),
        client.post(url + "note/", {"text": "hi"}),
        client.post(url + "update/", {"stage": "closed", "kind": "complaint", "severity": "low"}),
        client.post(url + "reassign/", {"to": agent.pk, "note": "a long enough handoff note"}),
    ]
    # then
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert Message.objects.filter(case=complaint).count() == 1
    complaint.refresh_from_db()
    assert complaint.stage == "received"
    # and the HTMX header token (as the pages send it) is accepted
    client.get(url)
    token = client.cookies["csrftoken"].value
    ok = client.post(url + "reply/", {"text": "hi"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200


# -- who may use the desk ------------------------------------------------------------------


def test_desk_refuses_anonymous_and_non_staff(complaint):
    anonymous = Client()
    assert anonymous.get("/desk/").status_code == 302
    assert anonymous.get(f"/desk/cases/{complaint.reference}/").status_code == 302
    customer_login = Client()
    customer_login.force_login(get_user_model().objects.create_user("cust", password=PASSWORD))
    assert customer_login.get("/desk/").status_code == 403
    assert customer_login.get(f"/desk/cases/{complaint.reference}/").status_code == 403


# -- login throttling ----------------------------------------------------------------------


def test_staff_login_is_throttled_after_repeated_failures(agent, settings):
    # given
    client = Client()
    limit = settings.CHERISH_LOGIN_FAILURE_LIMIT
    for _ in range(limit):
        response = client.post("/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    # when: even the right password
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    # then
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_works_before_the_limit(agent):
    client = Client()
    client.post("/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/desk/").status_code == 200


def test_one_accounts_failures_do_not_lock_out_a_colleague_at_the_same_address(agent, lead):
    # given: the whole desk signs in from one address; someone mistypes alice's password
    same_address = {"REMOTE_ADDR": "203.0.113.7"}
    mistyper = Client(**same_address)
    for _ in range(5):
        mistyper.post("/login/", {"username": "alice", "password": "wrong"})
    # when: a colleague signs in from the same address
    colleague = Client(**same_address)
    response = colleague.post("/login/", {"username": "lena", "password": PASSWORD})
    # then: in; alice's account alone is paused
    assert response.status_code == 302
    assert colleague.get("/desk/").status_code == 200
    again = mistyper.post("/login/", {"username": "alice", "password": PASSWORD})
    assert again.status_code == 429


def test_one_address_trying_many_accounts_is_paused(agent, settings):
    # given: a low address limit for the test
    settings.CHERISH_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    guesser = Client(REMOTE_ADDR="198.51.100.9")
    for n in range(8):
        guesser.post("/login/", {"username": f"user{n}", "password": "wrong"})
    # when: even alice's right password from that address
    response = guesser.post("/login/", {"username": "alice", "password": PASSWORD})
    # then: paused there, but not elsewhere
    assert response.status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.10")
    assert elsewhere.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_behind_a_trusted_proxy_each_client_address_is_counted_separately(agent, settings):
    # given: Cherish behind one reverse proxy; one client hammers the form
    settings.CHERISH_TRUSTED_PROXIES = ["10.0.0.1"]
    settings.CHERISH_LOGIN_ADDRESS_FAILURE_LIMIT = 6
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(6):
        Client(**proxy).post(
            "/login/",
            {"username": f"user{n}", "password": "wrong"},
            headers={"X-Forwarded-For": "198.51.100.20"},
        )
    # when: another client behind the same proxy, and the first one again
    other = Client(**proxy).post(
        "/login/",
        {"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.21"},
    )
    first = Client(**proxy).post(
        "/login/",
        {"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.20"},
    )
    # then
    assert other.status_code == 302
    assert first.status_code == 429


def test_an_untrusted_forwarded_for_header_does_not_escape_the_address_limit(agent, settings):
    settings.CHERISH_TRUSTED_PROXIES = []
    settings.CHERISH_LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for n in range(3):
        Client(REMOTE_ADDR="198.51.100.30").post(
            "/login/",
            {"username": f"user{n}", "password": "wrong"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
    response = Client(REMOTE_ADDR="198.51.100.30").post(
        "/login/",
        {"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.99"},
    )
    assert response.status_code == 429


def _visible_text(response):
    html = response.content.decode()
    html = re.sub(r"[A-Za-z0-9]{64}", "", html)  # CSRF tokens
    html = re.sub(r'nonce="[^"]*"', "", html)
    return re.sub(r'name="username"[^>]*value="[^"]*"', "", html)


def test_sign_in_never_tells_whether_an_account_exists(agent):
    # given: a real account and one that does not exist, same wrong password
    def answers(username):
        client = Client(REMOTE_ADDR=f"192.0.2.{len(username)}")
        return [
            client.post("/login/", {"username": username, "password": "wrong"}) for _ in range(6)
        ]

    known, unknown = answers("alice"), answers("nobodyhere")
    # then: the same statuses, the same words, the same pause after the same number of tries
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.status_code for r in known] == [200] * 5 + [429]
    for a, b in zip(known, unknown, strict=True):
        assert _visible_text(a) == _visible_text(b)


def test_the_admin_has_no_second_sign_in_page(admin_staff, agent, settings):
    # given: the admin's own login form would skip the throttle and the second factor
    settings.CHERISH_LOGIN_FAILURE_LIMIT = 2
    client = Client()
    # when: someone posts passwords to it
    for _ in range(5):
        response = client.post(
            "/admin/login/?next=/admin/", {"username": "root", "password": "wrong"}
        )
        # then: nothing is tried there; it sends them to Cherish's sign-in page
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/admin/"
    right = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert right.status_code == 302 and "_auth_user_id" not in client.session
    # a signed-in agent is refused, not sent round in circles
    agent_client = Client()
    agent_client.force_login(agent.user)
    assert agent_client.get("/admin/login/?next=/admin/").status_code == 403


# -- deployment check ------------------------------------------------------------------------


def test_check_deploy_with_production_settings_reports_nothing(tmp_path):
    # given
    env = {
        key: value
        for key, value in os.environ.items()
        # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a production check.
        if not key.startswith(("CHERISH_", "DJANGO_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cherish.settings",
            "CHERISH_DEBUG": "0",
            "CHERISH_HTTPS": "1",
            "CHERISH_SECRET_KEY": secrets.token_urlsafe(60),
            "CHERISH_ALLOWED_HOSTS": "care.example.com",
            "CHERISH_DATA_DIR": str(tmp_path),
        }
    )
    cherish = Path(sys.executable).parent / "cherish"
    # when
    result = subprocess.run(
        [str(cherish), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
