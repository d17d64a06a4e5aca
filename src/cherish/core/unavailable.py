"""Say "try again" instead of "we broke" when storage, not the request, is the problem.

A full disk, a database that is restarting or locked past its timeout, or a lost connection
means nothing was stored; the honest answer is 507 Insufficient Storage or 503 Service
Unavailable with ``Retry-After``, so clients and browsers retry and the operator's
monitoring sees a capacity problem rather than a bug. Never a 2xx: the contact is only
acknowledged once it is committed.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# SQLite says "database or disk is full"; PostgreSQL "could not extend file ... No space".
_FULL_WORDS = ("disk is full", "no space left", "could not extend file", "disk full")


@dataclass(frozen=True)
class Trouble:
    status: int
    code: str
    message: str


FULL = Trouble(
    507,
    "insufficient_storage",
    "We could not store your message because our storage is full. Nothing was saved. "
    "Please try again in a few minutes.",
)
UNAVAILABLE = Trouble(
    503,
    "service_unavailable",
    "We could not store your message just now. Nothing was saved. Please try again in a moment.",
)


def storage_trouble(error: BaseException) -> Trouble | None:
    """507 for a full disk, 503 for a database that cannot be reached or written; else None."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return FULL
    if isinstance(error, DatabaseError | OSError):
        text = str(error).lower()
        if any(word in text for word in _FULL_WORDS):
            return FULL
    if isinstance(error, OperationalError | InterfaceError):
        return UNAVAILABLE
    return None


class StorageTroubleMiddleware:
    """Answer pages with 503/507 and ``Retry-After`` when storage fails (see storage_trouble).

    The API turns exceptions into problem documents itself and uses storage_trouble too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        trouble = storage_trouble(exception)
        if trouble is None:
            return None
        logger.warning(
            "%s %s answered %d: %s", request.method, request.path, trouble.status, exception
        )
        # Rendered without the request: context processors would ask the session store.
        html = render_to_string("core/unavailable.html", {"trouble": trouble})
        response = HttpResponse(html, status=trouble.status)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
