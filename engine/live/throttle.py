"""Client-side pacing: a token bucket per operation, so the backend rarely meets a 429.

Amazon applies each operation's usage plan per selling partner and application pair (and
each region is a separate endpoint with its own plans). One backend serves one selling
partner through one application, so its buckets are keyed by region and operation. They
start from the published limits (engine.core.spapi_limits) and follow `x-amzn-RateLimit-Limit`
whenever a response carries a different rate (Amazon may grant a seller more, or less).

Some operations are also limited per application, over every seller account it serves: an
`AppLimiter` (engine.state.app_quota.SharedBuckets, shared through the state store) is the
second bucket a call passes, after its seller's here (engine.live.invoke).

Waiting goes through an injectable `Timer`, so tests never sleep for real: a fake timer's
sleep advances its own monotonic time (and can advance the sandbox's virtual clock too).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from engine.core.spapi_limits import LIMITS, Limit


class Timer(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTimer:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class AppLimiter(Protocol):
    """The application-wide quota, shared by every process of one SP-API application."""

    def acquire(self, operation: str) -> float: ...

    def throttled(self, operation: str) -> None: ...


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: int
    tokens: float
    updated: float


class TokenBuckets:
    """Thread-safe. `acquire` reserves a token and sleeps (outside the lock) until it is
    due, so concurrent callers queue fairly instead of all waking at once."""

    def __init__(self, timer: Timer, limits: dict[str, Limit] | None = None) -> None:
        self._timer = timer
        self._limits = LIMITS if limits is None else limits
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, region: str, operation: str, now: float) -> _Bucket:
        bucket = self._buckets.get((region, operation))
        if bucket is None:
            limit = self._limits.get(operation)
            if limit is None:
                raise KeyError(f"no published rate limit for operation {operation!r}")
            bucket = _Bucket(limit.rate, limit.burst, float(limit.burst), now)
            self._buckets[(region, operation)] = bucket
        elapsed = now - bucket.updated
        if elapsed > 0:
            bucket.tokens = min(float(bucket.burst), bucket.tokens + elapsed * bucket.rate)
            bucket.updated = now
        return bucket

    def acquire(self, region: str, operation: str) -> float:
        """Take a token, waiting if none is left; returns the seconds waited."""
        with self._lock:
            bucket = self._bucket(region, operation, self._timer.monotonic())
            bucket.tokens -= 1.0
            wait = -bucket.tokens / bucket.rate if bucket.tokens < 0 else 0.0
        if wait > 0:
            self._timer.sleep(wait)
        return wait

    def adapt(self, region: str, operation: str, header: str | None) -> None:
        """Follow the rate a response reports in `x-amzn-RateLimit-Limit`."""
        try:
            rate = float(header) if header else 0.0
        except ValueError:
            return
        if rate <= 0:
            return
        with self._lock:
            bucket = self._bucket(region, operation, self._timer.monotonic())
            bucket.rate = rate

    def throttled(self, region: str, operation: str) -> None:
        """Amazon said 429: our bucket was fuller than Amazon's; empty it, so the next
        attempt waits at least one token's refill time."""
        with self._lock:
            bucket = self._bucket(region, operation, self._timer.monotonic())
            bucket.tokens = min(bucket.tokens, 0.0)

    def rate(self, region: str, operation: str) -> float:
        with self._lock:
            return self._bucket(region, operation, self._timer.monotonic()).rate
