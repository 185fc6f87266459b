"""The application-wide quota on top of the per-seller buckets: several processes against one
sandbox share a small application limit through PostgreSQL (bench/app_quota.py runs them),
each process's own seller limit still applies, and the invoker passes both buckets in order.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bench.app_quota import limit, run
from engine.core.spapi_limits import PRODUCT_DATA_PATCH
from engine.flows.connect import open_backend
from engine.flows.session import live_session
from engine.live.clients import SpApiError
from engine.live.invoke import Invoker
from engine.live.recording import MemoryRecorder
from engine.live.throttle import TokenBuckets
from engine.plan.diff import diff
from engine.sandbox.app import SANDBOX_CREDENTIALS
from engine.state.app_quota import SharedBuckets, application_key
from engine.state.tables import app_rate_buckets, metadata, state_meta
from tests.live.conftest import FakeTimer
from tests.minimal_config import MINIMAL_FILES
from tests.state.conftest import open_backend as open_backend_store
from tests.state.conftest import pg_dsn  # noqa: F401  (fixture)

SECONDS = 3.0
# Each process's own seller limit: the sandbox's x-amzn-RateLimit-Limit says 5/s for
# getListingsItem (the per-seller buckets follow it), so 4 processes want 20/s.
SELLER = limit(5.0, 1)


def test_processes_together_stay_within_the_application_limit(pg_dsn):  # noqa: F811
    app = limit(12.0, 2)  # well under what the four ask for together
    result = run(pg_dsn, [SELLER] * 4, app, SECONDS)
    ceiling = app.burst + app.rate * SECONDS  # the most a token bucket can let through
    assert set(result.statuses) == {200}
    # Within the limit (2 calls of slack for a clock read just after a token came due)...
    assert result.calls <= ceiling + 2, result
    # ...and using it: a limiter that let nothing through would pass the line above.
    assert result.calls >= 0.8 * app.rate * SECONDS, result


def test_each_sellers_own_limit_still_applies_under_the_shared_one(pg_dsn):  # noqa: F811
    app = limit(30.0, 2)  # room for both: only the sellers' own 5/s holds them back
    result = run(pg_dsn, [SELLER] * 2, app, 2.0)
    for calls in result.per_process:
        assert 0.7 * SELLER.rate * 2.0 <= calls <= SELLER.burst + SELLER.rate * 2.0 + 1, result


def test_without_the_shared_limiter_the_same_processes_overrun_it():
    """The measurement can fail: per-seller buckets alone take 2 × 5/s of a 6/s quota."""
    result = run(None, [SELLER] * 2, limit(6.0, 1), 2.0)
    assert result.share > 1.4, result


class RecordingLimiter:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    def acquire(self, operation: str) -> float:
        self.events.append(f"app {operation}")
        return 0.0

    def throttled(self, operation: str) -> None:
        self.events.append(f"app throttled {operation}")


class RecordingBuckets(TokenBuckets):
    def __init__(self, timer: FakeTimer, events: list[str]) -> None:
        super().__init__(timer)
        self.events = events

    def acquire(self, region: str, operation: str) -> float:
        self.events.append(f"seller {operation}")
        return super().acquire(region, operation)


def throttled_by(message: str) -> SpApiError:
    return SpApiError(429, [{"code": "QuotaExceeded", "message": message}], {})


def patch_after_a_429(events: list[str], message: str) -> None:
    """A product-data patchListingsItem through an invoker recording its buckets in
    `events`: Amazon answers 429 with `message`, then accepts the retry."""
    timer = FakeTimer()
    invoker = Invoker(
        RecordingBuckets(timer, events),
        MemoryRecorder(),
        timer,
        lambda: datetime(2026, 11, 22, tzinfo=UTC),
        attempts=2,
        app_limiter=RecordingLimiter(events),
    )
    answers = iter([throttled_by(message), None])

    def send() -> None:
        answer = next(answers)
        if answer is not None:
            raise answer

    invoker.call(
        "patchListingsItem", "DE", "EU", send, idempotent=False, app_quotas=(PRODUCT_DATA_PATCH,)
    )


@pytest.mark.parametrize(
    ("message", "app_throttled"),
    [
        ("The frequency of requests was greater than what is allowed for the application.", True),
        ("You exceeded your quota for the requested resource.", False),
    ],
)
def test_the_invoker_passes_the_seller_bucket_then_the_applications(message, app_throttled):
    events: list[str] = []
    patch_after_a_429(events, message)
    once = ["seller patchListingsItem", "app patchListingsItem", f"app {PRODUCT_DATA_PATCH}"]
    throttled = ["app throttled patchListingsItem"] if app_throttled else []
    assert events == [*once, *throttled, *once]


def test_open_backend_asks_for_the_limiter_of_the_application_it_calls_as(seeded_config):
    config = seeded_config()
    asked: list[str] = []
    limiter = RecordingLimiter([])

    def app_quota(client_id: str) -> RecordingLimiter:
        asked.append(client_id)
        return limiter

    with open_backend(config, app_quota=app_quota) as backend:
        assert backend.invoker.app_limiter is limiter
    with open_backend(config) as backend:
        assert backend.invoker.app_limiter is None
    assert asked == [SANDBOX_CREDENTIALS.client_id]


@pytest.mark.parametrize(("setting", "shared"), [("state", True), ("auto", False)])
def test_a_session_on_postgresql_shares_the_quota_as_state_app_quota_says(
    seeded_config,
    monkeypatch,
    pg_dsn,  # noqa: F811
    setting,
    shared,
):
    project = textwrap.dedent(MINIMAL_FILES["project.yaml"])
    state = f"state:\n  backend: postgresql\n  dsn_env: APPQ_DSN\n  app_quota: {setting}\n"
    config = seeded_config({"project.yaml": project + state})
    monkeypatch.setenv("APPQ_DSN", pg_dsn)
    try:
        with live_session(config) as (backend, db):
            limiter = backend.invoker.app_limiter
            assert isinstance(limiter, SharedBuckets) is shared
            if shared:  # the sandbox's demo application, by digest
                assert limiter.application == application_key(SANDBOX_CREDENTIALS.client_id)
                backend.read_listing("DE", "HP-100")
                with db.read() as conn:
                    operations = conn.execute(
                        sa.select(app_rate_buckets.c.operation).where(
                            app_rate_buckets.c.application == limiter.application
                        )
                    ).scalars()
                    assert list(operations) == ["getListingsItem"]
    finally:  # the session wrote its heartbeat and call log to the shared test schema
        store = open_backend_store(pg_dsn)
        with store.write() as conn:
            for table in reversed(metadata.sorted_tables):
                if table is not state_meta:
                    conn.execute(table.delete())
        store.close()


def test_a_429_for_product_data_empties_only_that_bucket():
    events: list[str] = []
    patch_after_a_429(events, "... greater than what is allowed for product data.")
    once = ["seller patchListingsItem", "app patchListingsItem", f"app {PRODUCT_DATA_PATCH}"]
    assert events == [*once, f"app throttled {PRODUCT_DATA_PATCH}", *once]


@pytest.mark.parametrize(
    ("changes", "product_data"),
    [
        ({"our_price": Decimal("64.99")}, False),
        ({"quantity": 42}, False),
        ({"title": "Sonora HP-003 Studio"}, True),
        ({"quantity": 41, "bullet_points": ("Leicht",)}, True),
    ],
)
def test_a_patch_of_product_data_takes_a_token_of_its_smaller_application_limit(
    backend, changes, product_data
):
    events: list[str] = []
    backend.invoker.app_limiter = RecordingLimiter(events)
    live = backend.read_listing("DE", "HP-003").resource
    want = replace(live, **changes)
    change = diff({want.address: want}, {live.address: live}).changes[0]
    assert backend.write(change).status == "ACCEPTED"
    patch = [e for e in events if "patchListingsItem" in e]
    expected = ["app patchListingsItem"]
    if product_data:
        expected.append(f"app {PRODUCT_DATA_PATCH}")
    assert patch == expected
