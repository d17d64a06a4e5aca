"""API keys: created once, stored hashed, sent as a Bearer token; docs open without one."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from tests.api.conftest import assert_problem

from cherish.core.middleware import DOCS_CSP
from cherish.intake.apikeys import create_api_key, revoke_api_key
from cherish.intake.models import ApiKey


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer chk_thisisnotakeythisisnotakeythisisnotakey0",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "chk_withoutscheme",
    ],
)
def test_requests_without_a_valid_key_get_401(db: Any, header: str | None) -> None:
    # given a request without a valid key
    client = Client(headers={"Authorization": header} if header else {})
    # when it asks for cases
    response = client.get("/api/v1/cases")
    # then it is refused with a problem and a hint
    body = assert_problem(response, 401, "not_authenticated")
    assert "Bearer" in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_gets_401(api: Client, api_key: str) -> None:
    # given a key that worked
    assert api.get("/api/v1/cases").status_code == 200
    # when it is revoked
    revoke_api_key(api_key[:12])
    # then it no longer works
    assert_problem(api.get("/api/v1/cases"), 401, "not_authenticated")


def test_only_the_hash_of_a_key_is_stored(db: Any) -> None:
    record, key = create_api_key("webshop")
    assert re.fullmatch(r"chk_[A-Za-z0-9_-]{40}", key)
    stored = ApiKey.objects.filter(pk=record.pk).values().get()
    assert key not in {str(value) for value in stored.values()}
    assert stored["key_hash"] == ApiKey.hash_key(key)
    assert stored["prefix"] == key[:12]


def test_last_used_is_written_at_most_once_a_minute(api: Client, api_key_record: ApiKey) -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        api.get("/api/v1/cases")
    api_key_record.refresh_from_db()
    assert api_key_record.last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        api.get("/api/v1/cases")
    api_key_record.refresh_from_db()
    assert api_key_record.last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=90), tick=False):
        api.get("/api/v1/cases")
    api_key_record.refresh_from_db()
    assert api_key_record.last_used_at == start + dt.timedelta(seconds=90)


def test_createapikey_prints_the_key_once_and_revokes_by_prefix(db: Any) -> None:
    # when a key is created on the command line
    out, err = io.StringIO(), io.StringIO()
    call_command("createapikey", "webshop", "--scope", "cases:read", stdout=out, stderr=err)
    key = out.getvalue().strip()
    # then the key is printed (alone on stdout) and works
    assert re.fullmatch(r"chk_[A-Za-z0-9_-]{40}", key)
    assert "shown only once" in err.getvalue()
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert client.get("/api/v1/cases").status_code == 200
    # and the list shows its prefix, never the key
    listing = io.StringIO()
    call_command("createapikey", "--list", stdout=listing)
    assert key[:12] in listing.getvalue() and key not in listing.getvalue()
    # when it is revoked by its prefix
    call_command("createapikey", "--revoke", key[:10], stdout=io.StringIO())
    # then it stops working
    assert client.get("/api/v1/cases").status_code == 401


def test_createapikey_refuses_an_unknown_or_short_prefix(db: Any) -> None:
    create_api_key("webshop")
    with pytest.raises(CommandError, match="No active key"):
        call_command("createapikey", "--revoke", "chk_zzzzzzzz")
    with pytest.raises(CommandError, match="at least the first 8"):
        call_command("createapikey", "--revoke", "chk_")
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_openapi_document_and_docs_need_no_key_and_load_nothing_from_elsewhere(db: Any) -> None:
    client = Client()
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert {"/api/v1/cases", "/api/v1/cases/{reference}", "/api/v1/customers"} <= set(paths)
    assert document.json()["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert docs["Content-Security-Policy"] == DOCS_CSP
