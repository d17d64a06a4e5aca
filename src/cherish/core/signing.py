"""Signed, unguessable links for customers who never log in."""

from __future__ import annotations

from django.core import signing

_SALT_PREFIX = "cherish.link."


def make_token(purpose: str, payload: dict[str, object]) -> str:
    return signing.dumps(payload, salt=_SALT_PREFIX + purpose, compress=True)


def read_token(purpose: str, token: str, *, max_age: int | None = None) -> dict[str, object] | None:
    try:
        value = signing.loads(token, salt=_SALT_PREFIX + purpose, max_age=max_age)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None
