"""One error shape everywhere: problem details, 4xx for client errors, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from tests.api.conftest import assert_problem, new_case_body

from cherish.cases.models import Case
from cherish.intake.models import RawContact
from cherish.staff.models import Staff

POST_ENDPOINTS = ["/api/v1/cases", "/api/v1/cases/CH-ZZZZZZ/messages", "/api/v1/customers"]


@pytest.mark.parametrize("url", POST_ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe\x00", b'{"customer": {"email": "a@b.c"}, "text": "x"'],
)
def test_malformed_json_is_400_not_500(api: Client, agent: Staff, url: str, raw: bytes) -> None:
    response = api.post(url, raw, content_type="application/json")
    assert_problem(response, 400, "malformed_request")
    assert not Case.objects.exists() and not RawContact.objects.exists()


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "42"])
def test_json_that_is_not_an_object_is_a_validation_error(
    api: Client, agent: Staff, body: str
) -> None:
    response = api.post("/api/v1/cases", body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"
    assert not Case.objects.exists()


def test_lone_surrogates_and_nul_characters_are_refused_not_stored(
    api: Client, agent: Staff
) -> None:
    body = json.dumps(new_case_body(subject="\ud800 broken", order="A\x00B"))
    response = api.post("/api/v1/cases", body, content_type="application/json")
    problem = assert_problem(response, 422, "validation_error")
    assert {error["field"] for error in problem["errors"]} == {"subject", "order"}
    assert not Case.objects.exists()


def test_unsupported_method_is_405_with_allow(api: Client) -> None:
    response = api.delete("/api/v1/cases")
    problem = assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, POST"
    assert "GET, POST" in problem["detail"]


def test_unknown_api_address_is_404_problem(api: Client) -> None:
    assert_problem(api.get("/api/v1/nothing/here"), 404, "not_found")
    assert_problem(
        api.post("/api/v1/nothing", "{}", content_type="application/json"), 404, "not_found"
    )


def test_a_body_over_the_upload_limit_is_413(api: Client, agent: Staff, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps(new_case_body(text="x" * 5000))
    response = api.post("/api/v1/cases", body, content_type="application/json")
    assert_problem(response, 413, "request_too_large")
    assert not Case.objects.exists()


def test_validation_errors_name_each_field(api: Client, agent: Staff) -> None:
    body = {"customer": {"email": "dana@example.com", "name": 5}, "channel": "api"}
    response = api.post("/api/v1/cases", json.dumps(body), content_type="application/json")
    problem = assert_problem(response, 422, "validation_error")
    assert {(e["field"], e["message"]) for e in problem["errors"]} == {
        ("customer.name", "Input should be a valid string"),
        ("text", "Field required"),
    }
    assert problem["detail"] == "Some fields are not valid: customer.name, text."


def test_errors_inside_a_union_name_the_field_not_the_validator(rf: Any) -> None:
    # given a body whose field may be one of two shapes, and a value that is neither
    from ninja import Schema
    from ninja.errors import ValidationError as NinjaValidationError
    from pydantic import ValidationError as PydanticValidationError

    from cherish.api import _validation_error

    class ByEmail(Schema):
        email: str

    class ByPhone(Schema):
        phone: str

    class Body(Schema):
        customer: ByEmail | ByPhone

    with pytest.raises(PydanticValidationError) as raised:
        Body.model_validate({"customer": {"name": "Carla"}})
    errors = [{**e, "loc": ("body", "payload", *e["loc"])} for e in raised.value.errors()]
    # when
    response = _validation_error(rf.post("/api/v1/cases"), NinjaValidationError(errors))
    # then
    assert response.status_code == 422
    assert json.loads(response.content)["errors"] == [
        {"field": "customer.email", "message": "Field required"},
        {"field": "customer.phone", "message": "Field required"},
    ]
    assert "function-" not in response.content.decode()


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_the_api_answers_in_english_and_says_so(
    client: Client, api: Client, agent: Staff, language: str
) -> None:
    # given a client that prefers another language the pages speak
    asked = {"HTTP_ACCEPT_LANGUAGE": language}
    # when it is refused for want of a key (under the pages' middleware, as the test client
    # runs it, and under the API's own, as `cherish serve` does) ...
    refused = client.get("/api/v1/cases", **asked)
    assert assert_problem(refused, 401, "not_authenticated")["detail"].startswith("Send a valid")
    assert refused["Content-Language"] == "en"
    # ... asks for a case that is not there, sends a field that is not valid ...
    missing = api.get("/api/v1/cases/CH-ZZZZZZ", **asked)
    assert assert_problem(missing, 404, "not_found")["detail"] == "There is no case CH-ZZZZZZ."
    assert missing["Content-Language"] == "en"
    invalid = api.post(
        "/api/v1/cases",
        json.dumps(new_case_body(customer={"email": "not an address"})),
        content_type="application/json",
        **asked,
    )
    assert assert_problem(invalid, 422, "validation_error")["errors"] == [
        {"field": "customer.email", "message": "is not a valid email address"}
    ]
    assert invalid["Content-Language"] == "en"
    # ... opens a case ...
    created = api.post(
        "/api/v1/cases", json.dumps(new_case_body()), content_type="application/json", **asked
    )
    assert created.status_code == 201
    assert created["Content-Language"] == "en"
    # ... or is refused by the domain, whose message the pages show translated
    reference = created.json()["reference"]
    refusal = api.post(
        f"/api/v1/cases/{reference}/stage",
        json.dumps({"stage": "nonsense"}),
        content_type="application/json",
        **asked,
    )
    problem = assert_problem(refusal, 422, "unknown_stage")
    assert problem["detail"] == "There is no stage called “nonsense”."
    assert refusal["Content-Language"] == "en"
    # while the pages still speak the client's language
    page = client.get("/complain/", **asked)
    assert page["Content-Language"] == language
