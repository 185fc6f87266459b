"""Pacing, retries and the call record, against the sandbox's fault switches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from engine.core.errors import UserError
from engine.live.clients import SpApiError
from engine.live.invoke import AmbiguousFailure, Invoker, SpApiUnavailable, SpApiUnreachable
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


# -- when the tries run out, and what Amazon's headers ask for -----------------------------------


def test_a_steady_429_ends_in_one_line_saying_what_amazon_answered(make_backend, sandbox):
    backend = make_backend(attempts=4)
    faults.set_throttle_storm(sandbox.store, operations=["getListingsItem"])
    with pytest.raises(SpApiUnavailable) as err:
        backend.read_listing("DE", "HP-002")
    assert isinstance(err.value, UserError) and err.value.status == 429  # no crash, exit 1
    (line,) = err.value.lines()
    assert line.startswith(
        "Amazon kept answering getListingsItem for DE with HTTP 429 QuotaExceeded"
    )
    assert "4 tries over" in line and "last request id" in line
    assert "wait a few minutes, then run the command again" in line
    assert [c.status for c in calls_of(backend)] == [429] * 4


def test_no_answer_at_all_ends_in_one_line_too(make_backend, sandbox):
    backend = make_backend(attempts=3, timeout=0.1)
    faults.set_slow(sandbox.store, 0.3, operations=["getListingsItem"])
    with pytest.raises(SpApiUnreachable) as err:
        backend.read_listing("DE", "HP-002")
    assert isinstance(err.value, UserError) and isinstance(err.value, httpx.TransportError)
    (line,) = err.value.lines()
    assert line.startswith("no answer from Amazon to getListingsItem for DE (ReadTimeout")
    assert "3 tries" in line and "check the network" in line


def test_any_other_sp_api_error_is_one_line_not_a_crash():
    timer, recorder = FakeTimer(), MemoryRecorder()
    gone = SpApiError(409, [{"code": "Conflict", "message": "busy"}], {"x-amzn-RequestId": "r9"})
    with pytest.raises(SpApiError) as err:
        _invoker(timer, recorder).call("getFeed", "DE", "EU", _failing(gone))
    assert isinstance(err.value, UserError)
    assert err.value.lines() == [
        "Amazon answered HTTP 409 Conflict: busy to getFeed for DE (request id r9); run the "
        "command again, and if Amazon answers the same, report it with the request id"
    ]


@pytest.mark.parametrize(
    "retry_after", ["7", (NOW + timedelta(seconds=7)).strftime("%a, %d %b %Y %H:%M:%S GMT")]
)
def test_retry_after_is_waited_out(retry_after):
    timer, recorder = FakeTimer(), MemoryRecorder()
    busy = SpApiError(503, [{"code": "ServiceUnavailable"}], {"Retry-After": retry_after})
    assert _invoker(timer, recorder).call("getFeed", "DE", "EU", _failing(busy)) == "done"
    assert timer.slept == [pytest.approx(7.0)]  # the jitter alone would wait at most 1 s


def test_a_429_takes_the_rate_amazon_states():
    timer, recorder = FakeTimer(), MemoryRecorder()
    invoker = _invoker(timer, recorder)
    throttled = SpApiError(429, [{"code": "QuotaExceeded"}], {"x-amzn-RateLimit-Limit": "0.5"})
    assert invoker.call("getListingsItem", "DE", "EU", _failing(throttled)) == "done"
    assert invoker.buckets.rate("EU", "getListingsItem") == 0.5
    # The emptied bucket refills at Amazon's rate: the retry waited at least one token (2 s).
    assert timer.now >= 2.0


def test_a_non_idempotent_call_refused_by_a_steady_429_is_not_ambiguous():
    timer, recorder = FakeTimer(), MemoryRecorder()
    throttled = SpApiError(429, [{"code": "QuotaExceeded"}], {})
    with pytest.raises(SpApiUnavailable):
        _invoker(timer, recorder).call(
            "patchListingsItem", "DE", "EU", _failing(*[throttled] * 6), idempotent=False
        )
    assert len(recorder.calls) == 6  # every 429 was retried: Amazon did nothing
