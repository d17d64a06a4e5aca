"""The edge's side of the audit log: where a request came from, and one call to log it.

Views and API handlers of every app call ``audit(request, ...)``; the writing itself is
``staff.actions.record_audit`` (also used by commands and tasks, which have no request).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cherish.core.client import client_address
from cherish.staff.models import AuditEntry, Staff


def origin_of(request: HttpRequest) -> dict[str, str]:
    """ip, via (desk, api or admin) and, for an integration key, who it was."""
    path = request.path
    via = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "desk"
    origin = {"ip": client_address(request), "via": via}
    label = getattr(request, "audit_actor", "")
    if label:
        origin["actor"] = str(label)
    return origin


def audit(
    request: HttpRequest,
    action: str,
    *,
    by: Staff | None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: str = "done",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    from cherish.staff.actions import record_audit

    return record_audit(
        action,
        by=by,
        target_type=target_type,
        target_id=str(target_id),
        outcome=outcome,
        detail=detail,
        origin=origin_of(request),
    )
