"""One SP-API operation, done right: paced, retried, recorded.

Each attempt first takes a token from the operation's bucket (engine.live.throttle). Transient
failures (429, 5xx, non-JSON gateway pages, timeouts, dropped connections) are retried through
tenacity with exponential backoff and full jitter; a 429 also empties our bucket, so pacing
slows to Amazon's pace. Every attempt is recorded as an ApiCall.

A non-idempotent operation (createFeed) is retried only when the failure proves nothing was
done: a 429 (refused before processing) or a connection that was never made. Anything else is
ambiguous and raised as `AmbiguousFailure`, for the caller to check before resubmitting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from engine.live.backend import ApiCall
from engine.live.clients import SpApiError
from engine.live.recording import CallRecorder
from engine.live.throttle import Timer, TokenBuckets

T = TypeVar("T")


class AmbiguousFailure(Exception):
    """A non-idempotent call failed in a way that leaves open whether it took effect."""


def _retryable(idempotent: bool) -> Callable[[BaseException], bool]:
    def check(err: BaseException) -> bool:
        if isinstance(err, SpApiError):
            return err.status == 429 or (idempotent and err.transient)
        if isinstance(err, httpx.ConnectError):
            return True  # never reached the server
        return idempotent and isinstance(err, httpx.TransportError)

    return check


class Invoker:
    """Runs operations for one backend. `attempts` bounds tries per call; waits are
    `backoff` × 2^n seconds with full jitter, capped at `max_wait`."""

    def __init__(
        self,
        buckets: TokenBuckets,
        recorder: CallRecorder,
        timer: Timer,
        now: Callable[[], datetime],
        *,
        attempts: int = 6,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.buckets = buckets
        self.recorder = recorder
        self._timer = timer
        self._now = now
        self._attempts = attempts
        self._backoff = backoff
        self._max_wait = max_wait
        self._rng = rng or random.Random()

    def call(
        self,
        operation: str,
        marketplace: str,
        region: str,
        send: Callable[[], T],
        *,
        idempotent: bool = True,
    ) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._jitter,
            retry=retry_if_exception(_retryable(idempotent)),
            sleep=self._timer.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    retries = attempt.retry_state.attempt_number - 1
                    return self._once(operation, marketplace, region, send, retries)
        except (SpApiError, httpx.TransportError) as err:
            if not idempotent and not _retryable(False)(err):
                raise AmbiguousFailure(f"{operation} ({marketplace}): {err}") from err
            raise
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _jitter(self, state: RetryCallState) -> float:
        """Full jitter ("exponential backoff and jitter", AWS architecture blog) from our own
        RNG, so a test can seed it."""
        ceiling = min(self._max_wait, self._backoff * 2 ** (state.attempt_number - 1))
        return self._rng.uniform(0, ceiling)

    def _once(
        self,
        operation: str,
        marketplace: str,
        region: str,
        send: Callable[[], T],
        retries: int,
    ) -> T:
        self.buckets.acquire(region, operation)
        at = self._now()
        started = self._timer.monotonic()
        status: int | None = None
        request_id: str | None = None
        try:
            result = send()
            status = getattr(result, "status_code", 200)
            headers = getattr(result, "headers", None) or {}
            request_id = headers.get("x-amzn-RequestId")
            self.buckets.adapt(region, operation, headers.get("x-amzn-RateLimit-Limit"))
            return result
        except SpApiError as err:
            status, request_id = err.status, err.request_id
            if err.status == 429:
                self.buckets.throttled(region, operation)
            else:
                self.buckets.adapt(region, operation, err.rate_limit)
            raise
        finally:
            latency = (self._timer.monotonic() - started) * 1000.0
            self.recorder.record(
                ApiCall(operation, marketplace, status, latency, request_id, retries, at)
            )
