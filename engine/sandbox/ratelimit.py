"""Amazon's published per-operation rate limits, enforced with token buckets on virtual time.

"Rate limits are physics" (DESIGN.md): the engine must survive them against the sandbox
exactly as against Amazon, so each operation gets a bucket of `burst` tokens refilled at
`rate` tokens per (virtual) second; the table is engine.core.spapi_limits'. Buckets refill from the
virtual clock, so a sandbox running at 60× real speed also refills 60× faster, and a frozen
test clock refills only when the test advances it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from engine.core.spapi_limits import LIMITS, Limit
from engine.sandbox.clock import Clock


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: datetime


class RateLimiter:
    """One token bucket per operation (the sandbox serves one selling partner and app).

    Thread-safe. Disabled, it admits everything (benchmarks, bulk fixtures) but still knows
    each operation's header value.
    """

    def __init__(
        self,
        clock: Clock,
        limits: dict[str, Limit] | None = None,
        *,
        enabled: bool = True,
    ) -> None:
        self._clock = clock
        self._limits = dict(LIMITS if limits is None else limits)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.enabled = enabled

    def limit(self, operation: str) -> Limit:
        try:
            return self._limits[operation]
        except KeyError:
            raise KeyError(f"no published rate limit for operation {operation!r}") from None

    def header(self, operation: str) -> str:
        return self.limit(operation).header

    def acquire(self, operation: str) -> bool:
        """Take one token; False means the caller must answer 429 QuotaExceeded."""
        limit = self.limit(operation)
        if not self.enabled:
            return True
        now = self._clock.now()
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = _Bucket(float(limit.burst), now)
            elapsed = (now - bucket.updated).total_seconds()
            if elapsed > 0:
                bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            return False

    def available(self, operation: str) -> float:
        """Tokens left right now (for tests and `sandbox status`)."""
        limit = self.limit(operation)
        now = self._clock.now()
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                return float(limit.burst)
            elapsed = max(0.0, (now - bucket.updated).total_seconds())
            return min(float(limit.burst), bucket.tokens + elapsed * limit.rate)

    def reset(self) -> None:
        """Refill every bucket (a fresh run)."""
        with self._lock:
            self._buckets.clear()
