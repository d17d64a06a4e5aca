"""API keys: created once, stored only as a SHA-256 hash, sent as a Bearer token.

A key belongs to a staff member (it acts as them) or to an integration with scopes (it acts as
the system); see staff/principal.py for what each may do. ``request.auth`` is an ApiPrincipal.

A key looks like ``chk_`` followed by 40 URL-safe random characters (240 bits). Only its hash
and a short prefix (to recognise it in lists and revoke it) are kept, so a copy of the database
does not hand out working keys. Lookup is by the hash of what the client sent: the comparison
that decides is on a digest the client cannot steer, so response time reveals nothing useful.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.core.rows import RowSelect
from cherish.intake.models import ApiKey
from cherish.staff.actions import record_audit
from cherish.staff.models import Staff
from cherish.staff.principal import ApiPrincipal, parse_scopes

KEY_PREFIX = "chk_"
KEY_RANDOM_CHARS = 40
PREFIX_LENGTH = 12
# last_used_at is a hint for people ("is this key still used?"), not an audit log: writing it
# on every request would turn each read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiKeyError(CherishError):
    code = "api_key_error"


def new_key() -> str:
    # token_urlsafe(30) is exactly 40 characters of [A-Za-z0-9_-].
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_CHARS * 3 // 4)


def create_api_key(
    name: str,
    *,
    staff: Staff | None = None,
    scopes: list[str] | tuple[str, ...] = (),
    by: Staff | None = None,
    origin: dict[str, str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key named ``name``; returns the record and the key (shown once, never stored).

    With ``staff`` the key acts as that person (scopes do not apply); without, it is an
    integration's key that may do only what ``scopes`` (KeyScope values) allow. ``by`` and
    ``origin`` (staff.audit.origin_of, or the command line's) say who made it: written to
    the audit log as apikey.created with the key's owner and scopes.
    """
    name = name.strip()
    if not name:
        raise ApiKeyError("Give the key a name (who or what uses it).", code="name_required")
    if staff is not None and scopes:
        raise ApiKeyError(
            "A staff member's key acts as them; scopes are for integration keys.",
            code="staff_key_scopes",
        )
    try:
        clean_scopes = parse_scopes(scopes)
    except ValueError as error:
        raise ApiKeyError(str(error), code="unknown_scope") from None
    key = new_key()
    with transaction.atomic():
        record = ApiKey.objects.create(
            name=name[:100],
            prefix=key[:PREFIX_LENGTH],
            key_hash=ApiKey.hash_key(key),
            staff=staff,
            scopes=clean_scopes,
        )
        record_key_created(record, by=by, origin=origin)
    return record, key


def _key_facts(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "prefix": key.prefix,
        "kind": "staff" if key.staff_id else "integration",
        "staff_id": key.staff_id,
        "scopes": list(key.scopes or []),
    }


def record_key_created(
    key: ApiKey, *, by: Staff | None, origin: dict[str, str] | None = None
) -> None:
    """Audit a new key: who made it, whom it acts as, what it may do (never the key)."""
    record_audit(
        "apikey.created",
        by=by,
        target_type="apikey",
        target_id=str(key.pk),
        detail=_key_facts(key),
        origin=origin,
    )


def record_key_revoked(
    key: ApiKey, *, by: Staff | None, origin: dict[str, str] | None = None
) -> None:
    record_audit(
        "apikey.revoked",
        by=by,
        target_type="apikey",
        target_id=str(key.pk),
        detail=_key_facts(key),
        origin=origin,
    )


def revoke_api_keys(
    keys: Iterable[ApiKey], *, by: Staff | None, origin: dict[str, str] | None = None
) -> int:
    """Revoke these keys (those still active); each revocation is audited (apikey.revoked)."""
    count = 0
    with transaction.atomic():
        for key in ApiKey.objects.select_for_update().filter(
            pk__in=[key.pk for key in keys], revoked_at__isnull=True
        ):
            key.revoked_at = now()
            key.save(update_fields=["revoked_at"])
            record_key_revoked(key, by=by, origin=origin)
            count += 1
    return count


def revoke_api_key(
    prefix: str, *, by: Staff | None = None, origin: dict[str, str] | None = None
) -> ApiKey:
    """Revoke the one active key whose prefix starts with ``prefix`` (at least 8 characters).

    Writes apikey.revoked to the audit log (``by``, ``origin`` as for create_api_key)."""
    prefix = prefix.strip()
    if len(prefix) < 8:
        raise ApiKeyError(
            "Give at least the first 8 characters of the key (e.g. chk_AbCd).", code="prefix_short"
        )
    with transaction.atomic():
        matches = list(
            ApiKey.objects.select_for_update().filter(
                prefix__startswith=prefix[:PREFIX_LENGTH], revoked_at__isnull=True
            )
        )
        if len(prefix) > PREFIX_LENGTH:
            matches = [key for key in matches if prefix.startswith(key.prefix)]
        if not matches:
            raise ApiKeyError(f"No active key starts with “{prefix}”.", code="unknown_key")
        if len(matches) > 1:
            raise ApiKeyError(
                f"{len(matches)} active keys start with “{prefix}”; give more characters.",
                code="ambiguous_prefix",
            )
        key = matches[0]
        key.revoked_at = now()
        key.save(update_fields=["revoked_at"])
        record_key_revoked(key, by=by, origin=origin)
    return key


def key_for_token(token: str) -> ApiKey | None:
    """The active key the client sent, or None. A staff key works only while its person's
    account is active. Touches last_used_at at most once a minute."""
    token = token.strip()
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    digest = ApiKey.hash_key(token)
    # Plain SQL for the key itself: the ORM query with its joins cost more CPU than the
    # rest of an API request's authentication. A staff key is read again with its person.
    key = next(iter(_KEY_BY_HASH.fetch([digest])), None)
    if key is not None and key.staff_id is not None:
        key = (
            ApiKey.objects.select_related("staff__user", "staff__team")
            .filter(pk=key.pk, revoked_at__isnull=True, staff__user__is_active=True)
            .first()
        )
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        return None
    at = now()
    if key.last_used_at is None or key.last_used_at < at - LAST_USED_RESOLUTION:
        # In a transaction: a write waits in the writer queue, not in SQLite's busy handler.
        # No savepoint when a caller's transaction is already open: one statement needs none.
        with transaction.atomic(savepoint=False):
            ApiKey.objects.filter(pk=key.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=at - LAST_USED_RESOLUTION)
            ).update(last_used_at=at)
        key.last_used_at = at
    return key


_KEY_BY_HASH = RowSelect(ApiKey, "key_hash = %s AND revoked_at IS NULL")


def principal_for(key: ApiKey) -> ApiPrincipal:
    return ApiPrincipal(
        key_id=key.pk,
        name=key.name,
        staff=key.staff,
        scopes=frozenset(key.scopes or ()) if key.staff_id is None else frozenset(),
        record=key,
    )


def api_key_of(request: HttpRequest) -> ApiKey:
    """The key that authenticated this API request (set by ApiKeyAuth)."""
    principal = getattr(request, "auth", None)
    key = principal.record if isinstance(principal, ApiPrincipal) else None
    if not isinstance(key, ApiKey):
        raise CherishError(_("This request was not authenticated."), code="not_authenticated")
    return key


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer chk_…``; request.auth is the ApiPrincipal (who acts)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiPrincipal | None:
        key = key_for_token(token)
        return principal_for(key) if key is not None else None
