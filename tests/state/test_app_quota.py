"""The application-wide token buckets in the PostgreSQL state store (engine.state.app_quota):
one row per application and operation, refilled on the database's clock, shared by every
caller; and when a command shares them (`state.app_quota`)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.config.model import StateStore
from engine.core.spapi_limits import APP_LIMITS, PRODUCT_DATA_PATCH, Limit
from engine.state.app_quota import SharedBuckets, application_key, wanted
from engine.state.db import StateDB, StateStoreError, open_sqlite
from engine.state.tables import app_rate_buckets

OP = "getListingsItem"


# The conftest's `db`, on PostgreSQL only: SQLite has no shared bucket.
postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def buckets(db: StateDB, rate: float, burst: int, slept: list[float]) -> SharedBuckets:
    return SharedBuckets(
        db,
        f"app-{uuid.uuid4().hex[:8]}",
        limits={OP: Limit(rate, burst, str(rate))},
        sleep=slept.append,
    )


@postgresql
def test_the_burst_goes_at_once_then_callers_queue_one_token_apart(db):
    slept: list[float] = []
    shared = buckets(db, rate=1.0, burst=3, slept=slept)
    waits = [shared.acquire(OP) for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    # Each caller past the burst reserves the next token: 1, 2, 3 seconds out (less the
    # milliseconds the six statements took, which refilled a little).
    assert waits[3:] == pytest.approx([1.0, 2.0, 3.0], abs=0.1)
    assert slept == waits[3:]


@postgresql
def test_the_bucket_refills_on_the_database_clock(db):
    slept: list[float] = []
    shared = buckets(db, rate=20.0, burst=1, slept=slept)
    assert shared.acquire(OP) == 0.0
    assert 0.0 < shared.acquire(OP) <= 0.05  # one token is 1/20 s, less what refilled since
    time.sleep(0.3)  # 6 tokens' worth: the debt of one is paid, the bucket is full (1)
    assert shared.acquire(OP) == 0.0
    assert shared.acquire(OP) > 0.0


@postgresql
def test_one_row_per_application_and_operation_shared_by_every_caller(db):
    slept: list[float] = []
    first = buckets(db, rate=1.0, burst=2, slept=slept)
    same_app = SharedBuckets(db, first.application, limits={OP: Limit(1.0, 2, "1")})
    other_app = buckets(db, rate=1.0, burst=2, slept=slept)
    assert [first.acquire(OP), same_app.acquire(OP)] == [0.0, 0.0]
    assert first.acquire(OP) == pytest.approx(1.0, abs=0.1)  # the other caller took one
    assert other_app.acquire(OP) == 0.0  # another application has its own quota
    with db.read() as conn:
        rows = conn.execute(sa.select(app_rate_buckets.c.application)).scalars().all()
    assert sorted(rows) == sorted([first.application, other_app.application])


@postgresql
def test_an_operation_without_a_published_application_limit_passes(db):
    slept: list[float] = []
    shared = buckets(db, rate=1.0, burst=1, slept=slept)
    assert [shared.acquire("getOrders") for _ in range(5)] == [0.0] * 5
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(app_rate_buckets)).scalar() == 0


@postgresql
def test_amazon_saying_the_application_is_throttled_empties_the_shared_bucket(db):
    slept: list[float] = []
    shared = buckets(db, rate=2.0, burst=5, slept=slept)
    assert shared.acquire(OP) == 0.0  # four left
    shared.throttled(OP)
    assert shared.acquire(OP) == pytest.approx(0.5, abs=0.05)


def test_the_published_application_limits_are_the_listings_items_table():
    assert APP_LIMITS["patchListingsItem"].rate == 500
    assert APP_LIMITS[PRODUCT_DATA_PATCH].rate == 100  # a patch of item_name and the like
    assert {APP_LIMITS[op].rate for op in ("getListingsItem", "putListingsItem")} == {100}


def test_the_application_key_never_holds_the_client_id():
    key = application_key("amzn1.application-oa2-client.abc123")
    assert "abc123" not in key and key == application_key("amzn1.application-oa2-client.abc123")
    assert key != application_key("amzn1.application-oa2-client.other")


def test_sqlite_has_no_application_wide_limiter(tmp_path: Path):
    db = open_sqlite(tmp_path / "state")
    try:
        with pytest.raises(StateStoreError, match="PostgreSQL"):
            SharedBuckets(db, "app")
    finally:
        db.close()


@postgresql
@pytest.mark.parametrize(
    ("setting", "kind", "on"),
    [
        ("auto", "spapi", True),
        ("auto", "sandbox", False),
        ("state", "sandbox", True),
        ("state", "spapi", True),
        ("off", "spapi", False),
    ],
)
def test_when_a_postgresql_store_shares_the_quota(db, setting, kind, on):
    assert wanted(StateStore("postgresql", app_quota=setting), kind, db).on is on


@pytest.mark.parametrize("setting", ["auto", "off"])
def test_a_sqlite_store_never_shares_the_quota(tmp_path: Path, setting):
    db = open_sqlite(tmp_path / "state")
    try:
        result = wanted(StateStore(app_quota=setting), "spapi", db)
    finally:
        db.close()
    assert not result.on and ("SQLite" in result.why or "off" in result.why)
