"""The WSGI application: the pages under ``settings.MIDDLEWARE``, the API under
``settings.API_MIDDLEWARE``.

An API request is authenticated by its key alone (``intake.apikeys.ApiKeyAuth``): a session,
a CSRF token, a signed-in user, a second factor, flash messages and HTMX mean nothing to it,
and their middleware was about a fifth of the web process's CPU for an API complaint
(issue #14). Django loads one middleware chain per handler; the API gets a handler of its
own, chosen by path before any middleware runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/"


class ApiMiddleware:
    """For a handler class: its middleware chain is ``settings.API_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; it runs once, when the
        # handler is made (before any request thread), so no request sees the swap.
        pages = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)  # type: ignore[misc]
        finally:
            settings.MIDDLEWARE = pages


class ApiWSGIHandler(ApiMiddleware, WSGIHandler):
    """The API's WSGI handler."""


def make_application() -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """Django's WSGI application for the pages and one for the API, behind one callable."""
    import django

    django.setup(set_prefix=False)
    pages = WSGIHandler()
    api = ApiWSGIHandler()

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(API_PREFIX):
            return api(environ, start_response)
        return pages(environ, start_response)

    return application
