"""Fixed-window counters for chat messages per session and per IP.

A small counter on Django's cache rather than ``django-ratelimit``: that
library decorates views and keys on the request, while the same limits must
hold for the websocket consumer, which has no request. One function serves
both. The cache is Redis when ``REDIS_URL`` is set, so every web process
counts together; embedded, one process, local memory is enough.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache


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
    cache_key = f"chatrl:{scope}:{key}:{bucket}"
    # add() is atomic and only sets a missing key, so the first hit of a
    # window creates the counter and no concurrent hit can reset it.
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(cache_key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return Limited(scope=scope, retry_after=(bucket + 1) * window - now)
    return None
