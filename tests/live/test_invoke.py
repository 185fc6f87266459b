"""Pacing, retries and the call record, against the sandbox's fault switches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from engine.live.clients import SpApiError
from engine.live.invoke import AmbiguousFailure, Invoker
from engine.live.recording import MemoryRecorder
from engine.live.throttle import TokenBuckets
from engine.sandbox import faults
from tests.live.conftest import FakeTimer, calls_of

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_throttle_storm_is_waited_out_with_backoff(backend, sandbox, timer):
    faults.set_throttle_storm(sandbox.store, until=sandbox.clock.now() + timedelta(seconds=5))
    assert backend.read_listing("DE", "HP-002") is not None
    calls = calls_of(backend)
    assert [c.status for c in calls][-1] == 200
    assert {c.status for c in calls[:-1]} == {429}
    assert [c.retries for c in calls] == list(range(len(calls)))
    assert sum(timer.slept) >= 5  # waited (virtually) until the storm ended


def test_json_server_errors_are_retried(backend, sandbox):
    faults.set_seed(sandbox.store, 3)
    faults.set_server_errors(sandbox.store, 0.5, status=503)
    for sku in ("HP-002", "HP-006", "HP-007", "HP-008"):
        assert backend.read_listing("DE", sku).resource.sku == sku
    statuses = [c.status for c in calls_of(backend)]
    assert 503 in statuses and statuses.count(200) == 4


def test_html_gateway_pages_are_errors_not_empty_successes(make_backend, sandbox):
    backend = make_backend(attempts=3)
    faults.set_gateway_errors(sandbox.store, 1.0, statuses=[502])
    with pytest.raises(SpApiError) as err:
        backend.read_listing("DE", "HP-002")
    assert err.value.status == 502 and err.value.code == "NonJsonError"
    assert "502 Bad Gateway" in str(err.value.errors[0]["message"])
    assert [c.status for c in calls_of(backend)] == [502, 502, 502]


def test_timeouts_are_retried(make_backend, sandbox):
    backend = make_backend(timeout=0.2)
    faults.set_seed(sandbox.store, 1)
    faults.set_slow(sandbox.store, 0.4, probability=0.5, operations=["getListingsItem"])
    assert backend.read_listing("DE", "HP-002") is not None
    statuses = [c.status for c in calls_of(backend)]
    assert None in statuses and statuses[-1] == 200


def test_client_side_buckets_keep_the_sandbox_from_throttling(open_sandbox, make_backend):
    limited = open_sandbox(rate_limits=True)
    backend = make_backend(box=limited)
    for _ in range(25):
        backend.read_listing("DE", "HP-002")
    statuses = [c.status for c in calls_of(backend)]
    assert statuses == [200] * 25
    assert limited.limiter.available("getListingsItem") < 1  # the sandbox did count them


def test_buckets_pace_at_the_published_rate_and_follow_the_header():
    timer = FakeTimer()
    buckets = TokenBuckets(timer)
    waits = [buckets.acquire("EU", "patchListingsItem") for _ in range(7)]
    assert waits[:5] == [0.0] * 5  # burst 5
    assert waits[5:] == [pytest.approx(0.2)] * 2  # then 5 per second
    assert timer.now == pytest.approx(0.4)
    buckets.adapt("EU", "patchListingsItem", "10.0")
    assert buckets.rate("EU", "patchListingsItem") == 10.0
    assert buckets.rate("NA", "patchListingsItem") == 5.0  # regions are separate
    buckets.adapt("EU", "patchListingsItem", "garbage")
    assert buckets.rate("EU", "patchListingsItem") == 10.0


def _invoker(timer: FakeTimer, recorder: MemoryRecorder) -> Invoker:
    return Invoker(TokenBuckets(timer), recorder, timer, lambda: NOW, rng=random.Random(1))


def _failing(*errors: Exception):
    remaining = list(errors)

    def send():
        if remaining:
            raise remaining.pop(0)
        return "done"

    return send


def test_non_idempotent_calls_are_not_repeated_after_an_ambiguous_failure():
    timer, recorder = FakeTimer(), MemoryRecorder()
    invoker = _invoker(timer, recorder)
    server_error = SpApiError(500, [{"code": "InternalFailure"}], {})
    with pytest.raises(AmbiguousFailure):
        invoker.call("createFeed", "DE", "EU", _failing(server_error), idempotent=False)
    assert len(recorder.calls) == 1
    with pytest.raises(AmbiguousFailure):
        invoker.call(
            "createFeed", "DE", "EU", _failing(httpx.ReadTimeout("slow")), idempotent=False
        )
    throttled = SpApiError(429, [{"code": "QuotaExceeded"}], {})
    refused = httpx.ConnectError("refused")
    send = _failing(throttled, refused)
    assert invoker.call("createFeed", "DE", "EU", send, idempotent=False) == "done"
    assert [c.status for c in recorder.calls[-3:]] == [429, None, 200]


def test_client_errors_are_not_retried():
    timer, recorder = FakeTimer(), MemoryRecorder()
    bad = SpApiError(400, [{"code": "InvalidInput", "message": "no"}], {"x-amzn-RequestId": "r1"})
    with pytest.raises(SpApiError):
        _invoker(timer, recorder).call("getListingsItem", "DE", "EU", _failing(bad))
    assert [(c.status, c.request_id) for c in recorder.calls] == [(400, "r1")]
    assert timer.slept == []
