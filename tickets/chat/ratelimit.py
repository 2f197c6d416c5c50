"""Fixed-window counters for chat messages per session and per IP.

A small counter on Django's cache rather than ``django-ratelimit``: that
library decorates views and keys on the request, while the same limits must
hold for the websocket consumer, which has no request. One function serves
both. The cache is Redis when ``REDIS_URL`` is set, so every web process
counts together; embedded, one process, local memory is enough.
"""

import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


@dataclass(frozen=True)
class Limited:
    scope: str
    retry_after: int


def hit(*, scope: str, key: str, limit: int, window: int) -> Limited | None:
    """Count one event; a Limited when this one is over ``limit`` per window."""
    if limit <= 0:
        return None
    now = int(time.time())
    bucket = now // window
    count = _count(f"chatrl:{scope}:{key}:{bucket}", timeout=window + 1)
    if count > limit:
        return Limited(scope=scope, retry_after=(bucket + 1) * window - now)
    return None


def _count(cache_key: str, *, timeout: int) -> int:
    """Add one to the window's counter, created at 0 if missing; the new count."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # Django's add() then incr() is three round trips (incr checks EXISTS
        # first); the same SET NX and INCR pipelined are one, on every message.
        redis_key = backend.make_and_validate_key(cache_key)
        pipe = backend._cache.get_client(redis_key, write=True).pipeline(
            transaction=False
        )
        pipe.set(redis_key, 0, ex=timeout, nx=True)
        pipe.incr(redis_key)
        return pipe.execute()[1]
    # add() is atomic and only sets a missing key, so the first hit of a
    # window creates the counter and no concurrent hit can reset it.
    backend.add(cache_key, 0, timeout=timeout)
    try:
        return backend.incr(cache_key)
    except ValueError:  # expired between add and incr: a new window
        backend.add(cache_key, 1, timeout=timeout)
        return 1
