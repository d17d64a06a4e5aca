"""Show the form again, with a sentence, when a post is too large for Django to read.

Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a form with more than
DATA_UPLOAD_MAX_NUMBER_FIELDS fields or more than DATA_UPLOAD_MAX_NUMBER_FILES files by
raising while the CSRF check reads the form, before any view runs; the answer used to be the
bare "Bad Request (400)" page, and the customer lost their way. Here that refusal becomes the
page they posted from, answered 413 with a message that says nothing was saved and what to
change. The API keeps its own problem-details answer (cherish.api). A post sent by HTMX
(a desk form swapping a part of its page) gets the message alone, placed at the top of the
page's main region: swapping a whole page into a part would bury it, and the form keeps what
was typed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.datastructures import MultiValueDict
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import defaults

TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def too_large_message(exception: Exception) -> str:
    """What happened and what to change, in the visitor's language."""
    if isinstance(exception, TooManyFilesSent):
        return gettext(
            "You sent more files than we can take at once, so nothing was saved. "
            "Attach at most %(count)s files and send it again."
        ) % {"count": settings.CHERISH_MAX_ATTACHMENTS}
    if isinstance(exception, TooManyFieldsSent):
        return gettext(
            "What you sent had more parts than this form has, so we could not read it and "
            "nothing was saved. Please fill in the form again and send it."
        )
    return gettext(
        "What you sent was too large for us to read (more than %(text)s of text), so "
        "nothing was saved. Shorten your message and send it again; files can be up to "
        "%(file)s each."
    ) % {
        "text": _megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        "file": _megabytes(settings.CHERISH_MAX_ATTACHMENT_BYTES),
    }


def _page_again(request: HttpRequest, message: str) -> HttpResponseBase | None:
    """The page at the posted address, as a GET would show it, carrying ``message``; None when
    that address shows no page (a post-only view) or the page does not show messages."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    # The body cannot be read: the view sees an empty form, as on a first visit.
    request.method = "GET"
    request._post = QueryDict()  # type: ignore[attr-defined]
    request._files = MultiValueDict()  # type: ignore[attr-defined]
    messages.error(request, message)
    try:
        response: HttpResponseBase = match.func(request, *match.args, **match.kwargs)
    except Exception:
        # A page that cannot be shown (an expired link's 404): the plain answer instead.
        list(messages.get_messages(request))
        return None
    render_later = getattr(response, "render", None)
    if callable(render_later) and not getattr(response, "is_rendered", True):
        render_later()
    shown = getattr(messages.get_messages(request), "used", False)
    if response.status_code != 200 or not shown:
        # Not shown: take the message back so it does not surface on some later page.
        list(messages.get_messages(request))
        return None
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    """handler400: a too-large page post gets its form back (413); the rest Django's 400."""
    if not isinstance(exception, TOO_LARGE) or request.path_info.startswith("/api/"):
        return defaults.bad_request(request, exception)
    message = too_large_message(exception)
    if request.headers.get("HX-Request") == "true":
        return _htmx_alert(request, message)
    page = _page_again(request, message)
    if page is None:
        back = request.headers.get("Referer", "")
        if back and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            # A post-only address (a reply on the customer's page): back to the page it
            # came from, which shows the message.
            messages.error(request, message)
            response = HttpResponse(status=303)
            response["Location"] = back
            return response
        page = render(request, "core/too_large.html", {"message": message})
    page.status_code = 413
    return page


def _htmx_alert(request: HttpRequest, message: str) -> HttpResponse:
    """The message for the page that sent an HTMX post (core/static/cherish/cherish.js swaps
    a 413, which HTMX leaves unswapped by default)."""
    response = render(request, "core/partials/too_large_alert.html", {"message": message})
    response.status_code = 413
    response["HX-Retarget"] = "#main"
    response["HX-Reswap"] = "afterbegin show:top"
    return response
