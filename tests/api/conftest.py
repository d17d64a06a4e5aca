"""API fixtures: a key, a client that sends it, and JSON helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.test.client import ClientHandler

from cherish.core.handlers import Chained
from cherish.intake.apikeys import create_api_key
from cherish.intake.models import ApiKey
from cherish.staff.principal import KeyScope

PROBLEM = "application/problem+json"


@pytest.fixture
def api_key(db: Any) -> str:
    _, key = create_api_key("webshop", scopes=list(KeyScope))
    return key


@pytest.fixture
def api_key_record(api_key: str) -> ApiKey:
    return ApiKey.objects.get(key_hash=ApiKey.hash_key(api_key))


@pytest.fixture
def api(api_key: str) -> Client:
    """A test client that sends the API key on every request, through the API's own
    middleware (``settings.API_MIDDLEWARE``), as ``cherish serve`` runs it."""
    client = Client(headers={"Authorization": f"Bearer {api_key}"})
    client.handler = ApiClientHandler(enforce_csrf_checks=False)
    return client


class ApiClientHandler(Chained, ClientHandler):
    """Django's test handler with the API's middleware chain."""

    chain = "API_MIDDLEWARE"


def post_json(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def patch_json(client: Client, url: str, body: Any) -> Any:
    return client.patch(url, json.dumps(body), content_type="application/json")


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    assert body["status"] == status
    assert body["code"] == code
    return dict(body)


def new_case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"name": "Dana Doe", "email": "dana@example.com"},
        "text": "The blender I bought last week stopped working after two days.",
        "subject": "Broken blender",
        "order": "ORD-1001",
    }
    body.update(overrides)
    return body
