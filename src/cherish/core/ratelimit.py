"""Fixed-window counters in the shared cache, so limits hold across processes.

The limits fail open: when the cache itself is down (Redis restarting, a database cache
locked past its timeout), a customer's complaint is taken rather than refused, and the
failure is logged. A spam wave during a cache outage is a smaller harm than turning away
customers at the moment something is already going wrong.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.http import HttpRequest

from cherish.core.client import client_address

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address, behind trusted proxies too (see core.client)."""
    return client_address(request)


def _key(bucket: str, ident: str) -> str:
    return "rl:" + bucket + ":" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def hit(bucket: str, ident: str, *, window_s: int) -> int:
    """Count one event for ``ident`` and return the count in the current window (0 when the
    cache cannot be reached)."""
    key = _key(bucket, ident)
    try:
        if cache.add(key, 1, timeout=window_s):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window_s)
            return 1
    except Exception:
        logger.warning("rate limit %s not counted: the cache is unavailable", bucket, exc_info=True)
        return 0


def count(bucket: str, ident: str) -> int:
    try:
        return int(cache.get(_key(bucket, ident), 0))
    except Exception:
        logger.warning("rate limit %s not read: the cache is unavailable", bucket, exc_info=True)
        return 0


def reset(bucket: str, ident: str) -> None:
    cache.delete(_key(bucket, ident))
