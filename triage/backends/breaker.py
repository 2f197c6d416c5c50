"""A circuit breaker whose state lives in the Django cache.

With Redis as the cache every worker process sees the same state, so a model
that is down is skipped by the whole desk at once, not learned per process.
"""

from __future__ import annotations

import time

from django.core.cache import cache


class CircuitBreaker:
    """``failures`` consecutive failures open the circuit for ``seconds``.

    After that window one call is let through (half-open): a success closes
    the circuit, a failure opens it again at once, since the count is still
    over the limit.
    """

    def __init__(self, name: str, *, failures: int, seconds: float) -> None:
        self.failures = max(1, failures)
        self.seconds = seconds
        self._count_key = f"triage:breaker:{name}:failures"
        self._open_key = f"triage:breaker:{name}:open_until"

    def is_open(self) -> bool:
        until = cache.get(self._open_key)
        return until is not None and until > time.time()

    def record_failure(self) -> None:
        cache.add(self._count_key, 0, timeout=None)
        try:
            count = cache.incr(self._count_key)
        except ValueError:  # evicted between add and incr
            cache.set(self._count_key, 1, timeout=None)
            count = 1
        if count >= self.failures:
            cache.set(
                self._open_key,
                time.time() + self.seconds,
                timeout=int(self.seconds) + 60,
            )

    def record_success(self) -> None:
        cache.delete_many([self._count_key, self._open_key])

    reset = record_success
