"""One SP-API operation, done right: paced, retried, recorded.

Each attempt first takes a token from the operation's bucket (engine.live.throttle), then,
when the backend has one, from the application-wide bucket every process of the SP-API
application shares (engine.state.app_quota); a 429 that names the application empties that
one too. Transient
failures (429, 5xx, non-JSON gateway pages, timeouts, dropped connections) are retried through
tenacity with exponential backoff and full jitter, `attempts` tries at most. A 429 also empties
our bucket and takes the rate Amazon states in `x-amzn-RateLimit-Limit`, so pacing slows to
Amazon's pace; a `Retry-After` header, when an answer has one, is waited out before the next
try (bounded by `max_wait`). Every attempt is recorded as an CallAttempt.

When the tries run out the call fails with a one-line UserError, never a crash:
`SpApiUnavailable` (an SpApiError: Amazon kept answering 429 or 5xx) or `SpApiUnreachable`
(an httpx.TransportError: no answer at all). Each says what Amazon answered, to which call,
how long it was tried, and what to do. Callers that can carry on without the answer (a write
recorded as failed) catch them as the errors they subclass.

A non-idempotent operation (createFeed, and every listing write: see engine.live.spapi) is
retried only when the failure proves nothing was done: a 429 (refused before processing) or a
connection that was never made. Anything else (a 5xx, a timeout, a connection dropped after
the request went out) is ambiguous and raised as `AmbiguousFailure`, for the caller to check
live before sending again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from engine.core.api_call import CallAttempt
from engine.core.errors import UserError
from engine.core.spapi_limits import (
    APPLICATION_THROTTLED,
    PRODUCT_DATA_PATCH,
    PRODUCT_DATA_THROTTLED,
)
from engine.live.clients import SpApiError
from engine.live.recording import CallRecorder
from engine.live.throttle import AppLimiter, Timer, TokenBuckets

T = TypeVar("T")


class AmbiguousFailure(Exception):
    """A non-idempotent call failed in a way that leaves open whether it took effect."""


class SpApiUnavailable(SpApiError):
    """Amazon kept answering a transient error (429 or 5xx) until the tries ran out."""

    def __init__(
        self, last: SpApiError, operation: str, marketplace: str, attempts: int, waited: float
    ) -> None:
        headers = {
            k: v
            for k, v in (
                ("x-amzn-RequestId", last.request_id),
                ("x-amzn-RateLimit-Limit", last.rate_limit),
                ("Retry-After", last.retry_after),
            )
            if v is not None
        }
        super().__init__(last.status, last.errors, headers)
        self.operation, self.marketplace = operation, marketplace
        self.attempts = attempts
        request = f", last request id {self.request_id}" if self.request_id else ""
        advice = (
            "the quota recovers by itself: wait a few minutes"
            if last.status == 429
            else "Amazon's side is failing: wait a few minutes"
        )
        self.args = (
            f"Amazon kept answering {operation} for {marketplace} with "
            f"{_said(last)} ({attempts} tries over {waited:.0f} s{request}); {advice}, then "
            "run the command again",
        )

    def lines(self) -> list[str]:
        return [str(self)]


class SpApiUnreachable(httpx.TransportError, UserError):
    """No answer at all (timeouts, dropped or refused connections) until the tries ran out."""

    def __init__(
        self,
        last: httpx.TransportError,
        operation: str,
        marketplace: str,
        attempts: int,
        waited: float,
    ) -> None:
        detail = " ".join(str(last).split()) or "no details"
        super().__init__(
            f"no answer from Amazon to {operation} for {marketplace} ({type(last).__name__}: "
            f"{detail}; {attempts} tries over {waited:.0f} s); check the network and "
            "backend.endpoint, then run the command again"
        )
        self.operation, self.marketplace = operation, marketplace


def _said(err: SpApiError) -> str:
    message = str(err.errors[0].get("message", "")) if err.errors else ""
    short = " ".join(message.split())[:160]
    return f"HTTP {err.status} {err.code}" + (f" ({short})" if short else "")


def _throttled_quotas(
    err: SpApiError, operation: str, app_quotas: tuple[str, ...]
) -> tuple[str, ...]:
    """The application-wide buckets a 429 says are empty, by Amazon's message: the
    operation's ("allowed for the application"), the product-data one ("allowed for product
    data"), or none (the seller's own limit)."""
    messages = " ".join(str(e.get("message", "")) for e in err.errors or ())
    if APPLICATION_THROTTLED in messages:
        return (operation,)
    if PRODUCT_DATA_THROTTLED in messages:
        return tuple(q for q in app_quotas if q == PRODUCT_DATA_PATCH)
    return ()


def _retryable(idempotent: bool) -> Callable[[BaseException], bool]:
    def check(err: BaseException) -> bool:
        if isinstance(err, SpApiError):
            return err.status == 429 or (idempotent and err.transient)
        if isinstance(err, httpx.ConnectError):
            return True  # never reached the server
        return idempotent and isinstance(err, httpx.TransportError)

    return check


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header as seconds from `now`: delta-seconds or an HTTP date (RFC 9110
    section 10.2.3); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


class Invoker:
    """Runs operations for one backend. `attempts` bounds tries per call; waits are
    `backoff` × 2^n seconds with full jitter, capped at `max_wait` (so is a Retry-After)."""

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
        app_limiter: AppLimiter | None = None,
    ) -> None:
        self.buckets = buckets
        self.app_limiter = app_limiter
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
        app_quotas: tuple[str, ...] = (),
    ) -> T:
        """`app_quotas`: application-wide buckets this call takes a token of besides the
        operation's own (a patch of product data: engine.core.spapi_limits)."""
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(_retryable(idempotent)),
            sleep=self._timer.sleep,
            reraise=True,
        )
        started = self._timer.monotonic()
        tries = 0
        try:
            for attempt in retrying:
                with attempt:
                    tries = attempt.retry_state.attempt_number
                    return self._once(operation, marketplace, region, send, tries - 1, app_quotas)
        except (SpApiError, httpx.TransportError) as err:
            waited = self._timer.monotonic() - started
            if isinstance(err, SpApiError):
                err.operation, err.marketplace = operation, marketplace
            if not _retryable(idempotent)(err):
                if not idempotent and (not isinstance(err, SpApiError) or err.transient):
                    raise AmbiguousFailure(f"{operation} ({marketplace}): {err}") from err
                raise
            # Retryable, and the tries ran out.
            if isinstance(err, SpApiError):
                raise SpApiUnavailable(err, operation, marketplace, tries, waited) from err
            raise SpApiUnreachable(err, operation, marketplace, tries, waited) from err
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _wait(self, state: RetryCallState) -> float:
        """Full jitter ("exponential backoff and jitter", AWS architecture blog) from our own
        RNG, so a test can seed it; at least what a `Retry-After` asked for."""
        ceiling = min(self._max_wait, self._backoff * 2 ** (state.attempt_number - 1))
        wait = self._rng.uniform(0, ceiling)
        err = state.outcome.exception() if state.outcome is not None else None
        if isinstance(err, SpApiError):
            asked = retry_after_seconds(err.retry_after, self._now())
            if asked is not None:
                wait = max(wait, min(asked, self._max_wait))
        return wait

    def _once(
        self,
        operation: str,
        marketplace: str,
        region: str,
        send: Callable[[], T],
        retries: int,
        app_quotas: tuple[str, ...] = (),
    ) -> T:
        self.buckets.acquire(region, operation)
        if self.app_limiter is not None:
            for quota in (operation, *app_quotas):
                self.app_limiter.acquire(quota)
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
            self.buckets.adapt(region, operation, err.rate_limit)
            if err.status == 429:
                self.buckets.throttled(region, operation)
                if self.app_limiter is not None:
                    for quota in _throttled_quotas(err, operation, app_quotas):
                        self.app_limiter.throttled(quota)
            raise
        finally:
            latency = (self._timer.monotonic() - started) * 1000.0
            self.recorder.record(
                CallAttempt(operation, marketplace, status, latency, request_id, retries, at)
            )
