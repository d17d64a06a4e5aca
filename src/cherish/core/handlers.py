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


# What a request's environ holds of its own (PEP 3333, CGI): never taken for the process's.
_REQUEST_KEYS = ("HTTP_", "CONTENT_", "wsgi.", "SERVER_", "REMOTE_", "REQUEST_", "PATH_")
_REQUEST_NAMES = {"QUERY_STRING", "SCRIPT_NAME", "GATEWAY_INTERFACE", "HTTPS", "AUTH_TYPE"}


def process_variables(environment: Iterable[str]) -> frozenset[str]:
    """The names in the process's environment that are no request's: the ones a web server
    that copies its environment into every request's (granian does, as CGI did) adds."""
    return frozenset(
        name
        for name in environment
        if not name.startswith(_REQUEST_KEYS) and name not in _REQUEST_NAMES
    )


def make_application() -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """Django's WSGI application for the pages and one for the API, behind one callable,
    which first drops the process's environment variables from each request's environ.

    Why drop them: granian copies its process's environment (CHERISH_DATABASE_URL with its
    password, the secret key, ...) into every request's, where request.META showed them to
    any code that logs or reports a request, and Django's reading of the headers went
    through all fifty of them on every request."""
    import os

    import django

    django.setup(set_prefix=False)
    pages = WSGIHandler()
    api = ApiWSGIHandler()
    foreign = process_variables(os.environ)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        for name in foreign.intersection(environ):
            del environ[name]
        if environ.get("PATH_INFO", "").startswith(API_PREFIX):
            return api(environ, start_response)
        return pages(environ, start_response)

    return application
