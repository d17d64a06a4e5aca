"""The WSGI application: each request under the middleware its kind of page needs.

- The API (``/api/``, ``settings.API_MIDDLEWARE``): a request is authenticated by its key
  alone (``intake.apikeys.ApiKeyAuth``); a session, a CSRF token, a signed-in user, a second
  factor, flash messages and HTMX mean nothing to it, and their middleware was about a fifth
  of the web process's CPU for an API complaint (issue #14).
- The public complaint form (``/complain/``, ``settings.PUBLIC_FORM_MIDDLEWARE``): a customer
  is never signed in there; the form keeps its CSRF check, the headers and the language.
- Every other page: ``settings.MIDDLEWARE``.

Django loads one middleware chain per handler; each kind gets a handler of its own, chosen
by path before any middleware runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/"
PUBLIC_FORM_PREFIX = "/complain/"


class Chained:
    """For a handler class: its middleware chain is the one the setting ``chain`` names."""

    chain = "MIDDLEWARE"

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; it runs once, when the
        # handler is made (before any request thread), so no request sees the swap.
        pages = settings.MIDDLEWARE
        settings.MIDDLEWARE = getattr(settings, self.chain)
        try:
            super().load_middleware(is_async)  # type: ignore[misc]
        finally:
            settings.MIDDLEWARE = pages


class ChainHandler(Chained, WSGIHandler):
    """A WSGI handler under the middleware the setting ``chain`` names."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        super().__init__()


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
    """Django's WSGI applications for the pages, the API and the public form behind one
    callable, which first drops the process's environment variables from each request's environ.

    Why drop them: granian copies its process's environment (CHERISH_DATABASE_URL with its
    password, the secret key, ...) into every request's, where request.META showed them to
    any code that logs or reports a request, and Django's reading of the headers went
    through all fifty of them on every request."""
    import os

    import django

    django.setup(set_prefix=False)
    pages = WSGIHandler()
    api = ChainHandler("API_MIDDLEWARE")
    form = ChainHandler("PUBLIC_FORM_MIDDLEWARE")
    foreign = process_variables(os.environ)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        for name in foreign.intersection(environ):
            del environ[name]
        path = environ.get("PATH_INFO", "")
        if path.startswith(API_PREFIX):
            return api(environ, start_response)
        if path.startswith(PUBLIC_FORM_PREFIX):
            return form(environ, start_response)
        return pages(environ, start_response)

    return application
