"""The REST API under /api/v1/: one Ninja router per app, mounted here.

This module owns what is the same for every endpoint: API-key authentication
(``Authorization: Bearer chk_…``), the one error shape (problem details, RFC 9457, served as
``application/problem+json``) for every refusal, the OpenAPI document at
/api/v1/openapi.json and the interactive docs at /api/v1/docs (served from local static files).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI, Router, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from cherish.api_common import PROBLEM_CONTENT_TYPE, FieldError, Problem, problem_response
from cherish.care.api import router as care_router
from cherish.cases import access as cases_access
from cherish.cases.api import router as cases_router
from cherish.core.errors import CherishError, Forbidden
from cherish.core.middleware import DOCS_CSP
from cherish.core.unavailable import RETRY_AFTER_S, storage_trouble
from cherish.customers import access as customers_access
from cherish.customers.api import router as customers_router
from cherish.customers.api_transactions import router as transactions_router
from cherish.feedback.api import router as feedback_router
from cherish.intake.api import router as intake_router
from cherish.intake.apikeys import ApiKeyAuth
from cherish.learning.api import router as learning_router
from cherish.outreach.api import router as outreach_router
from cherish.scorecard.api import router as scorecard_router
from cherish.staff.audit import audit
from cherish.staff.principal import ApiPrincipal, ScopeRule, enforce, scope_rule
from cherish.triage.api import router as triage_router

logger = logging.getLogger("django.request")

View = Callable[..., HttpResponse]


def _docs_csp(view: View) -> View:
    """The docs page runs Swagger UI from /static/; it gets the docs CSP, not the desk's."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CSP
        return response

    return wrapper


def _method_not_allowed(allowed: set[str]) -> HttpResponse:
    methods = ", ".join(sorted(allowed))
    response = problem_response(405, "method_not_allowed", f"This address accepts only {methods}.")
    response["Allow"] = methods
    return response


def _problem_view(view: View) -> View:
    """Ninja answers some requests outside its exception handlers (an unsupported method,
    the bare API root); give those the problem shape too."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problem_response(404, "not_found", "There is nothing at this address.")
        if isinstance(response, HttpResponseNotAllowed):
            return _method_not_allowed({m.strip() for m in response["Allow"].split(",")})
        return response

    return wrapper


def _first_allowed(views: list[View]) -> View:
    """One URL served by several routers (POST /cases in intake, GET /cases in cases): try
    each router's view until one accepts the method."""

    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed: set[str] = set()
        for view in views:
            response = view(request, *args, **kwargs)
            if not isinstance(response, HttpResponseNotAllowed):
                return response
            allowed.update(m.strip() for m in response["Allow"].split(","))
        return _method_not_allowed(allowed)

    dispatch.csrf_exempt = True  # type: ignore[attr-defined]
    return dispatch


def _not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem_response(404, "not_found", "There is no API endpoint at this address.")


_not_found.csrf_exempt = True  # type: ignore[attr-defined]


def _is_internal(part: Any) -> bool:
    """A step pydantic adds to an error's location that names no field of ours: the member
    of a union (``function-wrap[_run_root_validator()]``, ``tagged-union[...]``)."""
    return isinstance(part, str) and any(mark in part for mark in "[(-")


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    source = str(parts.pop(0)) if parts else "body"
    if source == "body" and parts and parts[0] == "payload":
        parts.pop(0)
    return ".".join(str(part) for part in parts if not _is_internal(part)) or source


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def _declare_scopes(router: Router) -> None:
    """Every operation says which key scope it needs (staff/principal.key_scope), in the
    OpenAPI document too (``x-cherish-scope``, ``x-cherish-staff-key-only``), and the scope is
    enforced before the operation runs. One that says nothing is closed to integration keys:
    a new endpoint is never open by omission."""
    for path_view in router.path_operations.values():
        for operation in path_view.operations:
            rule = scope_rule(operation.view_func)
            # The operation has read its signature already: wrapping now changes nothing else.
            operation.view_func = _enforcing(rule, operation.view_func)
            extra = {
                "x-cherish-scope": rule.scope if rule else None,
                "x-cherish-staff-key-only": rule.person if rule else True,
            }
            operation.openapi_extra = {**(operation.openapi_extra or {}), **extra}


def _within_boundary(request: HttpRequest, kwargs: dict[str, Any]) -> None:
    """A staff member's key reaches what that person reaches at the desk: a case or customer
    outside their team boundary is "not found", one they may only read is not changed (403,
    audited). Integration keys act as the system and are bounded by their scopes."""
    principal = getattr(request, "auth", None)
    staff = principal.staff if isinstance(principal, ApiPrincipal) else None
    if staff is None:
        return
    change = request.method not in ("GET", "HEAD", "OPTIONS")
    try:
        if "reference" in kwargs:
            fetch_case = cases_access.access_case_to_work if change else cases_access.access_case
            fetch_case(staff, str(kwargs["reference"]))
        if "customer_id" in kwargs:
            fetch_customer = (
                customers_access.access_customer_to_work
                if change
                else customers_access.access_customer
            )
            fetch_customer(staff, kwargs["customer_id"])
    except Forbidden as error:
        audit(
            request,
            f"api.{error.code}",
            by=staff,
            outcome="refused",
            target_type="path",
            target_id=request.path,
            detail={"method": request.method or ""},
        )
        raise


def _enforcing(rule: ScopeRule | None, view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        enforce(rule, request)
        _within_boundary(request, kwargs)
        return view(request, *args, **kwargs)

    return wrapper


class CherishAPI(NinjaAPI):
    def add_router(self, prefix: str, router: Router | str, **kwargs: Any) -> None:
        if isinstance(router, Router):
            _declare_scopes(router)
        super().add_router(prefix, router, **kwargs)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        by_route: dict[str, list[URLPattern]] = defaultdict(list)
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                by_route[str(pattern.pattern)].append(pattern)
        result: list[URLResolver | URLPattern] = []
        for route, same in by_route.items():
            views = list(dict.fromkeys(p.callback for p in same))
            if len(views) > 1:
                result.append(path(route, _problem_view(_first_allowed(views))))
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_view(pattern.callback)
            result.append(pattern)
        result.append(re_path(r"^.*$", _not_found))
        return result

    def set_default_exception_handlers(self) -> None:
        handlers: dict[type[Exception], Any] = {
            Exception: _server_error,
            Http404: _http_404,
            HttpError: _http_error,
            AuthenticationError: _not_authenticated,
            ValidationError: _validation_error,
            CherishError: _cherish_error,
            SuspiciousOperation: _suspicious,
            DatabaseError: _storage_error,
            OSError: _storage_error,
        }
        for exc_class, handler in handlers.items():
            self.add_exception_handler(exc_class, handler)

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        _declare_common_problems(schema)
        return schema


def _declare_common_problems(schema: Any) -> None:
    """Every operation can answer 422 and 503 (and 400/413/507 with a body, 401 with a key):
    say so, and give problem responses their own media type."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in components:
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.setdefault("FieldError", FieldError.model_json_schema())
        components["Problem"].pop("$defs", None)
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            common = [422, 503]
            if operation.get("security"):
                common += [401, 403]
            if "requestBody" in operation:
                common += [400, 413, 507]
            for status in common:
                responses.setdefault(
                    status, {"description": "Problem", "content": {"application/json": {}}}
                )
                content = responses[status].setdefault("content", {})
                if not content.get("application/json", {}).get("schema"):
                    content["application/json"] = {"schema": problem_ref}
            for response in responses.values():
                content = response.get("content", {})
                json_content = content.get("application/json")
                ref = (json_content or {}).get("schema", {}).get("$ref", "")
                if ref.endswith("Problem"):
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")


# ------------------------------------------------------------------ exception handlers


def _cherish_error(request: HttpRequest, exc: CherishError) -> HttpResponse:
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
    extra = getattr(exc, "extra", {}) or {}
    return problem_response(exc.status, exc.code, exc.message, errors=errors, **extra)


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # One entry per field and message: each member of a union reports the same field.
    pairs = dict.fromkeys((_field_name(e.get("loc", ())), _message(e)) for e in exc.errors)
    errors = [{"field": field, "message": message} for field, message in pairs]
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem_response(
        422, "validation_error", f"Some fields are not valid: {fields}.", errors=errors
    )


def _not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem_response(
        401,
        "not_authenticated",
        "Send a valid, unrevoked API key as 'Authorization: Bearer KEY' "
        "(create one with 'cherish createapikey NAME').",
    )
    response["WWW-Authenticate"] = 'Bearer realm="cherish"'
    return response


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        return problem_response(
            400, "malformed_request", "The request body is not valid JSON (UTF-8)."
        )
    code = {403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(
        exc.status_code, "http_error"
    )
    return problem_response(exc.status_code, code, str(exc))


def _http_404(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(404, "not_found", "There is nothing at this address.")


def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "request_too_large", "The request body is too large.")
    return problem_response(400, "bad_request", "The request was refused as unsafe.")


def _storage_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Nothing was stored: 503/507 with Retry-After tells the client to send it again.
    trouble = storage_trouble(exc)
    if trouble is None:
        return _server_error(request, exc)
    logger.warning("%s %s answered %d: %s", request.method, request.path, trouble.status, exc)
    response = problem_response(trouble.status, trouble.code, trouble.message)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Same signal and log line as Django's own 500 handling (the test client re-raises).
    got_request_exception.send(sender=None, request=request)
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return problem_response(
        500, "server_error", "Something went wrong on our side. The error was logged."
    )


api = CherishAPI(
    title="Cherish API",
    version="1.0.0",
    description=(
        "Cases, customers and messages for integrations. JSON bodies are snake_case. "
        "Authenticate with `Authorization: Bearer KEY` (create a key with "
        "`cherish createapikey NAME --staff USERNAME` or `--scope SCOPE`, or in the admin). "
        "A staff member's key acts as them; an integration's key acts as the system within "
        "its scopes (each operation's `x-cherish-scope`; `x-cherish-staff-key-only`: staff "
        "keys only). Who acts is never read from the body. Every error is a problem-details object "
        "(`application/problem+json`) with a stable `code` and field `errors`."
    ),
    urls_namespace="api",
    auth=ApiKeyAuth(),
    docs=Swagger(settings={"persistAuthorization": True}),
    docs_decorator=_docs_csp,
)
api.add_router("/", intake_router)
api.add_router("/", cases_router)
api.add_router("/", customers_router)
api.add_router("/", transactions_router)
api.add_router("/", care_router)
api.add_router("/", triage_router)
api.add_router("/", outreach_router)
api.add_router("/", feedback_router)
api.add_router("/", scorecard_router)
api.add_router("/", learning_router)
