"""Security headers Django does not set on its own, and the API's one language."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from cherish.core.handlers import API_PREFIX

# No inline scripts anywhere: HTMX and our small script are files from /static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
# The interactive API docs load their own inline bootstrap; they get a narrower exception.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CSP
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


API_LANGUAGE = "en"


class ApiLanguageMiddleware:
    """The REST API answers in English whatever language the client asks for.

    Its readers are the programs of the shops and services that integrate (their developers
    read ``detail``; programs read the stable ``code``), not the customers, whose pages and
    mail speak their language. With the pages' negotiation the API said ``Content-Language:
    de`` to a German client over details written in English, some of them German where the
    domain's message happened to be translated: one language, said truly, is the contract.

    In the API's own chain (``settings.API_MIDDLEWARE``) it replaces Django's
    LocaleMiddleware; in the pages' chain (``settings.MIDDLEWARE``, which Django's test client
    runs for every path) it follows LocaleMiddleware and acts on the API's paths only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        translation.activate(API_LANGUAGE)
        request.LANGUAGE_CODE = API_LANGUAGE
        response = self.get_response(request)
        response.headers["Content-Language"] = API_LANGUAGE
        return response
