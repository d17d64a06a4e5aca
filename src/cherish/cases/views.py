"""Attachment downloads for the desk (the inbox and case page live in ``cherish.desk``).

Thin by design: parse the form, call an access/query/action function, render. HTMX requests
get the partial they asked for; the same URLs work as plain pages and plain POSTs.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from cherish.cases.access import access_attachment
from cherish.desk.guard import DeskRequest, desk_view

# Types a browser may be told about; anything else downloads as opaque bytes.
DOWNLOADABLE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
}
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request


# -- attachments ----------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    cleaned = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    return cleaned[:150] or "attachment"


@require_GET
@desk_view
def attachment(request: DeskRequest, public_id: str) -> HttpResponseBase:
    """Download through an access check; never inline, never sniffed, never cached."""
    staff = request.staff
    item = access_attachment(staff, public_id)
    try:
        handle = item.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("The file is missing.") from error
    content_type = (
        item.content_type if item.content_type in DOWNLOADABLE_TYPES else "application/octet-stream"
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=safe_filename(item.original_name),
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
