"""The WSGI application: the API's requests under the API's middleware, the pages' under
the pages' (cherish.core.handlers)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from cherish.core.handlers import ApiWSGIHandler


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
