"""Fixed-window counters in the shared cache, so limits hold across processes."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest

from cherish.core.client import client_address


def client_ip(request: HttpRequest) -> str:
    """The client's address, behind trusted proxies too (see core.client)."""
    return client_address(request)


def _key(bucket: str, ident: str) -> str:
    return "rl:" + bucket + ":" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def hit(bucket: str, ident: str, *, window_s: int) -> int:
    """Count one event for ``ident`` and return the count in the current window."""
    key = _key(bucket, ident)
    if cache.add(key, 1, timeout=window_s):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_s)
        return 1


def count(bucket: str, ident: str) -> int:
    return int(cache.get(_key(bucket, ident), 0))


def reset(bucket: str, ident: str) -> None:
    cache.delete(_key(bucket, ident))
