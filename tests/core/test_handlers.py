"""The WSGI application: the API's requests under the API's middleware, the pages' under
the pages' (cherish.core.handlers)."""

from __future__ import annotations

import os
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from cherish.core.handlers import ApiWSGIHandler, make_application, process_variables


def _middleware_classes(handler: Any) -> set[str]:
    """The middleware a handler loaded, as far as its hooks show them."""
    hooks = (
        handler._view_middleware
        + handler._template_response_middleware
        + handler._exception_middleware
    )
    return {
        f"{type(hook.__self__).__module__}.{type(hook.__self__).__qualname__}" for hook in hooks
    }


def test_the_api_runs_without_the_pages_session_csrf_and_sign_in_middleware() -> None:
    api, pages = _middleware_classes(ApiWSGIHandler()), _middleware_classes(WSGIHandler())
    # the pages check CSRF tokens (a view hook); the API has no such check: its requests
    # are authenticated by key, never by a cookie
    assert "django.middleware.csrf.CsrfViewMiddleware" in pages
    assert "django.middleware.csrf.CsrfViewMiddleware" not in api
    # and the API's chain is the one its setting names, the pages' left as they were
    assert settings.MIDDLEWARE[2] == "django.contrib.sessions.middleware.SessionMiddleware"
    assert not set(settings.API_MIDDLEWARE) - set(settings.MIDDLEWARE)
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in settings.API_MIDDLEWARE


def test_the_process_environment_is_not_in_a_requests_environ(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server process with a secret in its environment, which its web server copies
    # into every request's environ (granian does)
    monkeypatch.setenv("CHERISH_DATABASE_URL", "postgres://cherish:hunter2@db/cherish")
    application = make_application()
    environ: dict[str, Any] = {"PATH_INFO": "/api/v1/cases", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    environ.update(os.environ)
    environ["HTTP_ACCEPT_LANGUAGE"] = "de"
    statuses: list[str] = []
    # when a request is served
    body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
    # then it was answered, and what Django saw of it held the request's keys only
    assert statuses == ["401 Unauthorized"], body
    assert "CHERISH_DATABASE_URL" not in environ
    assert "PATH" not in environ
    assert environ["HTTP_ACCEPT_LANGUAGE"] == "de"
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["wsgi.url_scheme"] == "http"


def test_only_names_no_request_has_are_taken_for_the_process() -> None:
    assert process_variables(
        ["PATH", "HOME", "HTTP_PROXY", "CONTENT_TYPE", "QUERY_STRING", "SERVER_NAME", "HTTPS"]
    ) == {"PATH", "HOME"}
