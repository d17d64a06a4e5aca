"""The WSGI application: the API's requests under the API's middleware, the pages' under
the pages' (cherish.core.handlers)."""

from __future__ import annotations

import io
import os
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from cherish.core.handlers import ChainHandler, make_application, process_variables
from cherish.core.middleware import CSP
from cherish.intake.models import RawContact


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
    api, pages = (
        _middleware_classes(ChainHandler("API_MIDDLEWARE")),
        _middleware_classes(WSGIHandler()),
    )
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


def _serve(application: Any, path: str, method: str = "GET", body: bytes = b"") -> tuple:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    setup_testing_defaults(environ)
    environ.update(
        {
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
    )
    said: list[Any] = []
    content = b"".join(application(environ, lambda status, headers: said.extend([status, headers])))
    return said[0], dict(said[1]), content


def test_the_public_form_keeps_its_csrf_check_and_headers_without_a_session(
    transactional_db: Any,
) -> None:
    # (transactional: the application closes the database connection after each request)
    application = make_application()
    # the form: its CSRF cookie and the headers, no session
    status, headers, content = _serve(application, "/complain/")
    assert status == "200 OK"
    assert b'name="csrfmiddlewaretoken"' in content
    assert "csrftoken=" in headers["Set-Cookie"]
    assert "sessionid" not in headers["Set-Cookie"]
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Frame-Options"] == "DENY"
    # a post without the form's token is refused, and nothing is stored
    form = b"kind=complaint&text=Broken+blender&name=Robot&email=robot%40example.com"
    status, _, _ = _serve(application, "/complain/", "POST", form)
    assert status.startswith("403")
    assert not RawContact.objects.exists()
    # and its chain is the one its setting names: the CSRF check, not the session's
    chain = _middleware_classes(ChainHandler("PUBLIC_FORM_MIDDLEWARE"))
    assert "django.middleware.csrf.CsrfViewMiddleware" in chain
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in (
        settings.PUBLIC_FORM_MIDDLEWARE
    )
