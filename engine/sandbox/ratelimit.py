"""Amazon's published per-operation rate limits, enforced with token buckets on virtual time.

"Rate limits are physics" (DESIGN.md): the engine must survive them against the sandbox
exactly as against Amazon, so each operation gets a bucket of `burst` tokens refilled at
`rate` tokens per (virtual) second; the table is engine.core.spapi_limits'. Buckets refill from the
virtual clock, so a sandbox running at 60× real speed also refills 60× faster, and a frozen
test clock refills only when the test advances it.

Amazon also limits some operations per application, over every selling partner one SP-API
application serves (engine.core.spapi_limits.APP_LIMITS, sources cited there): "Requests are
rate-limited by whichever threshold you reach first". A call that names its application (the
LWA client id) must find a token in the seller's bucket and in the application's; it takes
them only when all have one. Every client of the application shares its buckets, from any
process, as the server holds them.

An application's bucket holds at least the seller's burst for the operation: Amazon publishes
no burst per application, and publishes a seller burst (10 for getListingsItem) that a
single seller could not use if the application's were the smaller one spapi_limits assumes
for pacing (5). So the sandbox is as hard as every published figure and no harder. With the
one seller the sandbox serves, the published application rates (100 a second and more) do
not bind before the seller's own (5 a second); they bind for smaller limits (tests) and keep
the 429 Amazon sends when they do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from engine.core.spapi_limits import APP_LIMITS, GET_ORDER_2026, LIMITS, Limit
from engine.sandbox.clock import Clock

# Operations whose calls the sandbox takes from another operation's bucket. Orders 2026-01-01's
# getOrder has the limits of v0's (0.5/s, burst 30, in both models) and Amazon does not say
# whether the two share one quota: the sandbox makes them share it, the stricter reading.
SHARED_BUCKETS = {GET_ORDER_2026: "getOrder"}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: datetime


# What `admit` names when the selling partner's own bucket is empty (an application's bucket
# is named by its APP_LIMITS key).
SELLER: Final = "seller"


class RateLimiter:
    """One token bucket per operation for the selling partner (the sandbox serves one), and
    one per (application, operation) of APP_LIMITS.

    Thread-safe. Disabled, it admits everything (benchmarks, bulk fixtures) but still knows
    each operation's header value.
    """

    def __init__(
        self,
        clock: Clock,
        limits: dict[str, Limit] | None = None,
        *,
        app_limits: dict[str, Limit] | None = None,
        enabled: bool = True,
    ) -> None:
        self._clock = clock
        self._limits = dict(LIMITS if limits is None else limits)
        self._app_limits = dict(APP_LIMITS if app_limits is None else app_limits)
        # (application, operation) -> bucket; application None is the selling partner's
        self._buckets: dict[tuple[str | None, str], _Bucket] = {}
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
        """Take one token of the selling partner's; False means the caller must answer 429
        QuotaExceeded."""
        return self.admit(operation) is None

    def admit(
        self, operation: str, application: str | None = None, app_quotas: tuple[str, ...] = ()
    ) -> str | None:
        """None when the call may go: it took a token of the selling partner's bucket for
        `operation` and, for `application` (an LWA client id), of the application's buckets
        for `operation` and `app_quotas` that APP_LIMITS lists. Otherwise the name of an empty
        bucket, SELLER first, then the application's by APP_LIMITS key, and no token is
        taken."""
        limit = self.limit(operation)
        if not self.enabled:
            return None
        wanted: list[tuple[tuple[str | None, str], Limit, str]] = [
            ((None, SHARED_BUCKETS.get(operation, operation)), limit, SELLER)
        ]
        if application is not None:
            wanted += [
                ((application, quota), self._app_limit(quota, limit), quota)
                for quota in (operation, *app_quotas)
                if quota in self._app_limits
            ]
        now = self._clock.now()
        with self._lock:
            buckets = [(self._refilled(key, lim, now), name) for key, lim, name in wanted]
            for bucket, name in buckets:
                if bucket.tokens < 1.0:
                    return name
            for bucket, _ in buckets:
                bucket.tokens -= 1.0
        return None

    def _app_limit(self, quota: str, seller: Limit) -> Limit:
        """The application's limit for `quota`, its burst at least the seller's (see above)."""
        limit = self._app_limits[quota]
        return limit if limit.burst >= seller.burst else replace(limit, burst=seller.burst)

    def _refilled(self, key: tuple[str | None, str], limit: Limit, now: datetime) -> _Bucket:
        """The bucket of `key`, refilled up to `now`; the caller holds the lock."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
        elapsed = (now - bucket.updated).total_seconds()
        if elapsed > 0:
            bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
            bucket.updated = now
        return bucket

    def available(self, operation: str, application: str | None = None) -> float:
        """Tokens left right now in the selling partner's bucket, or the application's (for
        tests and `sandbox status`)."""
        limit = self.limit(operation)
        if application is not None:
            limit = self._app_limit(operation, limit)
        now = self._clock.now()
        with self._lock:
            key = operation if application is not None else SHARED_BUCKETS.get(operation, operation)
            bucket = self._buckets.get((application, key))
            if bucket is None:
                return float(limit.burst)
            elapsed = max(0.0, (now - bucket.updated).total_seconds())
            return min(float(limit.burst), bucket.tokens + elapsed * limit.rate)

    def reset(self) -> None:
        """Refill every bucket (a fresh run)."""
        with self._lock:
            self._buckets.clear()
