"""Property-based run of the whole API against its own OpenAPI document (schemathesis).

Every generated request, valid or deliberately invalid, must get a declared status, a body
matching the declared schema, and never a server error. Examples are bounded (25 per
operation and mode, plus schemathesis' boundary cases) to keep the run near half a minute
of CPU time.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cherish.cases.models import Case
from cherish.customers.models import Customer

# A body field path (customer.email, attachments.0.name) or a header (Idempotency-Key).
FIELD_PATH = re.compile(
    r"[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|[0-9]+))*|[A-Z][A-Za-z0-9]*(-[A-Z][A-Za-z0-9]*)*"
)


@schemathesis.check
def problems_name_only_our_fields(ctx: Any, response: Any, case: Any) -> bool | None:
    """A refusal names fields as the client wrote them, never pydantic's internal steps
    (``function-wrap[_run_root_validator()]``)."""
    if response.status_code < 400 or "problem+json" not in str(response.headers):
        return None
    for error in response.json().get("errors", []):
        field = error.get("field", "")
        if not FIELD_PATH.fullmatch(field):
            raise AssertionError(f"an error names an internal path: {field!r}")
    return True


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    problems_name_only_our_fields,
]


# Loading the document needs no database: /api/v1/openapi.json is served without a key.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
# Valid requests and requests that break the schema: the latter must get a declared 4xx.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Iterator[None]:
    """Like Django's test client: keep the test's connection (and its transaction) open
    across the WSGI requests instead of closing it at the end of each one."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


REAL = {"email": "carla@example.com", "external_id": "crm-carla"}


def _point_at_real_records(case: Any, complaint: Case, customer: Customer) -> None:
    """Half the requests address records that exist, so more than 404 is exercised."""
    params = case.path_parameters or {}
    if zlib.crc32(repr(sorted(params.items())).encode()) % 2:
        return
    real = {**REAL, "reference": complaint.reference, "customer_id": str(customer.pk)}
    for name in params:
        if name in real:
            params[name] = real[name]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_response_matches_the_schema(
    case: Any, api_key: str, complaint: Case, customer: Customer
) -> None:
    Customer.objects.filter(pk=customer.pk).update(external_id="crm-carla")
    _point_at_real_records(case, complaint, customer)
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)
