"""The SP-API call log: plain records in, the account's calls since a time out."""

from __future__ import annotations

from datetime import timedelta

from engine.core.api_call import CallAttempt
from engine.state import api_calls
from engine.state.api_calls import ApiCall
from tests.state.conftest import NOW, OTHER_SELLER, SELLER


def call(minutes: int, seller: str = SELLER, **fields) -> ApiCall:
    base = {
        "seller_id": seller,
        "operation": "patchListingsItem",
        "marketplace": "DE",
        "status": 200,
        "latency_ms": 180,
        "request_id": f"req-{minutes}",
        "retries": 0,
        "at": NOW + timedelta(minutes=minutes),
    }
    return ApiCall(**{**base, **fields})


def test_calls_since_a_time_come_back_oldest_first_for_the_account(db):
    throttled = call(2, status=429, latency_ms=2400, retries=3, request_id=None)
    account_wide = call(3, operation="getMarketplaceParticipations", marketplace=None)
    with db.write() as conn:
        for item in (call(5), call(-1), throttled, account_wide, call(4, seller=OTHER_SELLER)):
            api_calls.record(conn, item)
    with db.read() as conn:
        found = api_calls.since(conn, SELLER, NOW)
    assert found == [throttled, account_wide, call(5)]


def test_the_store_recorder_logs_each_backend_call(db):
    recorder = api_calls.StoreRecorder(db, SELLER)
    recorder.record(CallAttempt("getReport", "DE", 200, 41.6, "req-1", 0, NOW))
    recorder.record(CallAttempt("getReport", "DE", None, 30000.2, None, 2, NOW))
    with db.read() as conn:
        found = api_calls.since(conn, SELLER, NOW)
    assert [(c.operation, c.status, c.latency_ms, c.retries) for c in found] == [
        ("getReport", 200, 42, 0),
        ("getReport", api_calls.NO_RESPONSE, 30000, 2),
    ]
