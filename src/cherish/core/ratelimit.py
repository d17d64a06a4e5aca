"""Fixed-window counters shared by every process: in the database for intake, in the cache
for the rest.

``count_in_window`` counts in the caller's database transaction with one upsert, so the
public complaint form counts its sender in the same short transaction that stores the
complaint (no extra write, nothing counted for a request that was refused or rolled back).
``hit``/``count``/``reset`` use the shared cache (Redis or the database cache) for limits that
guard no write of their own, such as failed logins.

The limits fail open: when the cache itself is down (Redis restarting, a database cache
locked past its timeout), a customer's complaint is taken rather than refused, and the
failure is logged. A spam wave during a cache outage is a smaller harm than turning away
customers at the moment something is already going wrong.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest

from cherish.core.client import client_address

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address, behind trusted proxies too (see core.client)."""
    return client_address(request)


def _key(bucket: str, ident: str) -> str:
    return "rl:" + bucket + ":" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def counter_key(bucket: str, ident: str) -> str:
    """The key of ``ident``'s counter in ``bucket``, as ``count_in_window`` stores it."""
    return _key(bucket, ident)[:80]


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


def count_in_window(bucket: str, ident: str, *, window_s: int, events: int = 1) -> int:
    """Count ``events`` events (one by default) for ``ident`` in the caller's transaction;
    returns the count in the current window, these events included. One statement on SQLite
    and PostgreSQL alike."""
    from cherish.core.models import RateCount

    table = connection.ops.quote_name(RateCount._meta.db_table)
    period = int(time.time()) // window_s * window_s
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", period, hits) VALUES (%s, %s, %s) '
            f'ON CONFLICT ("key") DO UPDATE SET hits = CASE WHEN {table}.period = '
            f"excluded.period THEN {table}.hits + excluded.hits ELSE excluded.hits END,"
            " period = excluded.period RETURNING hits",
            [_key(bucket, ident)[:80], period, events],
        )
        row = cursor.fetchone()
    return int(row[0])


def purge_old_windows(*, older_than_s: int = 24 * 3600) -> int:
    """Forget counters of windows that ended long ago (run hourly)."""
    from cherish.core.models import RateCount

    deleted, _ = RateCount.objects.filter(period__lt=int(time.time()) - older_than_s).delete()
    return deleted
