"""Virtual clock and token buckets: deterministic with a frozen clock, faster at speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.core.spapi_limits import APP_LIMITS, GET_ORDER_2026, PRODUCT_DATA_PATCH
from engine.sandbox.clock import ClockState, ClockTimer, VirtualClock
from engine.sandbox.ratelimit import LIMITS, SELLER, Limit, RateLimiter
from tests.sandbox.conftest import NOW


class FakeWall:
    """Real seconds under test control, so speed can be checked without sleeping."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def test_frozen_clock_moves_only_when_advanced():
    wall = FakeWall()
    clock = VirtualClock(NOW, frozen=True, wall=wall)
    wall.value += 3600
    assert clock.now() == NOW
    assert clock.advance(timedelta(minutes=5)) == NOW + timedelta(minutes=5)
    assert clock.now().tzinfo is UTC


def test_speed_factor_scales_real_time():
    wall = FakeWall()
    clock = VirtualClock(NOW, speed=60, wall=wall)
    wall.value += 10
    assert clock.now() == NOW + timedelta(minutes=10)
    clock.set_speed(1)
    wall.value += 10
    assert clock.now() == NOW + timedelta(minutes=10, seconds=10)
    clock.advance(timedelta(hours=1))
    assert clock.now() == NOW + timedelta(hours=1, minutes=10, seconds=10)


def test_freeze_and_unfreeze_keep_virtual_time_continuous():
    wall = FakeWall()
    clock = VirtualClock(NOW, speed=2, wall=wall)
    wall.value += 5
    clock.freeze()
    wall.value += 100
    assert clock.now() == NOW + timedelta(seconds=10)
    clock.unfreeze()
    wall.value += 1
    assert clock.now() == NOW + timedelta(seconds=12)


def test_state_resumes_in_another_process():
    wall = FakeWall()
    clock = VirtualClock(NOW, speed=30, wall=wall)
    wall.value += 2
    saved = ClockState.from_dict(clock.state().to_dict())
    wall.value += 2  # time passes before the next process starts
    resumed = VirtualClock.resume(saved, wall=wall)
    assert resumed.now() == clock.now() == NOW + timedelta(minutes=2)


def test_clock_rejects_naive_times_bad_speed_and_going_back():
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        VirtualClock(NOW, speed=0)
    with pytest.raises(ValueError, match="backwards"):
        VirtualClock.frozen_at(NOW).advance(timedelta(seconds=-1))


def test_bucket_allows_burst_then_refills_at_rate():
    clock = VirtualClock.frozen_at(NOW)
    limiter = RateLimiter(clock)
    assert [limiter.acquire("getListingsItem") for _ in range(11)] == [True] * 10 + [False]
    clock.advance(timedelta(seconds=0.2))  # 5/s: one token
    assert limiter.acquire("getListingsItem") is True
    assert limiter.acquire("getListingsItem") is False
    clock.advance(timedelta(hours=1))
    assert limiter.available("getListingsItem") == 10.0  # never above burst


def test_slow_operations_refill_slowly():
    clock = VirtualClock.frozen_at(NOW)
    limiter = RateLimiter(clock)
    for _ in range(15):
        assert limiter.acquire("getMarketplaceParticipations")
    assert not limiter.acquire("getMarketplaceParticipations")
    clock.advance(timedelta(seconds=62))  # 0.016/s: one token per 62.5 s
    assert not limiter.acquire("getMarketplaceParticipations")
    clock.advance(timedelta(seconds=1))
    assert limiter.acquire("getMarketplaceParticipations")


def test_disabled_limiter_admits_everything_and_still_reports_headers():
    limiter = RateLimiter(VirtualClock.frozen_at(NOW), enabled=False)
    assert all(limiter.acquire("createFeed") for _ in range(100))
    assert limiter.header("createFeed") == "0.0083"


def test_published_table_matches_the_notes():
    assert LIMITS["patchListingsItem"] == Limit(5.0, 5, "5.0")
    assert LIMITS["getOrders"].burst == 20 and LIMITS["getOrders"].header == "0.0167"
    assert LIMITS["searchOrders"] == Limit(0.0056, 20, "0.0056")
    assert LIMITS[GET_ORDER_2026] == Limit(0.5, 30, "0.5")  # orders_2026-01-01.json
    with pytest.raises(KeyError, match="no published rate limit"):
        RateLimiter(VirtualClock.frozen_at(NOW)).acquire("fooBar")


def test_clock_timer_keeps_virtual_seconds_and_sleeps_them_at_speed():
    wall = FakeWall()
    clock = VirtualClock(NOW, speed=50, wall=wall)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        wall.value += seconds

    timer = ClockTimer(clock, sleep=sleep)
    timer.sleep(10)
    assert slept == [0.2]
    assert timer.monotonic() == pytest.approx(10)
    timer.sleep(0)
    assert slept == [0.2]


def test_clock_timer_advances_a_frozen_clock():
    clock = VirtualClock.frozen_at(NOW)
    timer = ClockTimer(clock, sleep=lambda s: pytest.fail("a frozen clock must not sleep"))
    timer.sleep(1.5)
    assert clock.now() == NOW + timedelta(seconds=1.5)
    assert timer.monotonic() == 1.5


def test_the_applications_bucket_binds_across_its_clients_and_takes_nothing_when_empty():
    clock = VirtualClock.frozen_at(NOW)
    seller = Limit(rate=5.0, burst=4, header="5.0")
    limiter = RateLimiter(
        clock,
        {"getListingsItem": seller, "searchListingsItems": seller},
        app_limits={"getListingsItem": Limit(rate=1.0, burst=2, header="1")},
    )
    app = "amzn1.application-oa2-client.one"
    # the application's burst is raised to the seller's (4): Amazon's is at least that
    assert [limiter.admit("getListingsItem", app) for _ in range(4)] == [None] * 4
    assert limiter.available("getListingsItem") == 0
    clock.advance(timedelta(seconds=0.4))  # the seller's bucket refills faster
    assert limiter.admit("getListingsItem", app) == "getListingsItem"
    assert limiter.available("getListingsItem") == pytest.approx(2)  # nothing taken
    assert limiter.admit("getListingsItem", "amzn1.application-oa2-client.two") is None
    assert limiter.acquire("searchListingsItems")  # not limited per application
    clock.advance(timedelta(seconds=0.6))
    assert limiter.admit("getListingsItem", app) is None


def test_with_the_published_limits_one_seller_meets_its_own_limit_first():
    clock = VirtualClock.frozen_at(NOW)
    limiter = RateLimiter(clock)
    app = "amzn1.application-oa2-client.one"
    for operation, quotas in (
        ("getListingsItem", ()),
        ("putListingsItem", ()),
        ("deleteListingsItem", ()),
        ("patchListingsItem", (PRODUCT_DATA_PATCH,)),
    ):
        burst = LIMITS[operation].burst
        assert [limiter.admit(operation, app, quotas) for _ in range(burst)] == [None] * burst
        assert limiter.admit(operation, app, quotas) == SELLER
        assert all(APP_LIMITS[q].rate > LIMITS[operation].rate for q in (operation, *quotas))


def test_the_seller_is_named_first_and_product_data_has_its_own_bucket():
    clock = VirtualClock.frozen_at(NOW)
    limiter = RateLimiter(
        clock,
        {"patchListingsItem": Limit(rate=5.0, burst=2, header="5.0")},
        app_limits={
            "patchListingsItem": Limit(rate=1.0, burst=3, header="500"),
            PRODUCT_DATA_PATCH: Limit(rate=0.5, burst=1, header="100"),
        },
    )
    product = ("patchListingsItem", "app", (PRODUCT_DATA_PATCH,))
    assert limiter.admit(*product) is None
    assert limiter.admit(*product) is None  # raised to the seller's burst (2)
    assert limiter.admit(*product) == SELLER
    clock.advance(timedelta(seconds=0.4))  # seller 2, application 1.4, product data 0.2
    assert limiter.admit(*product) == PRODUCT_DATA_PATCH
    assert limiter.admit("patchListingsItem", "app") is None  # an offer patch still goes
    clock.advance(timedelta(seconds=0.4))  # seller 2, application 0.8
    assert limiter.admit("patchListingsItem", "app") == "patchListingsItem"
    assert limiter.admit("patchListingsItem") is None  # no application named: seller only


def test_both_get_order_versions_take_from_one_bucket():
    """Amazon does not say whether v0's and 2026-01-01's getOrder share a quota: the sandbox
    takes the stricter reading, one bucket."""
    limiter = RateLimiter(VirtualClock.frozen_at(NOW))
    burst = LIMITS["getOrder"].burst
    assert all(limiter.acquire(GET_ORDER_2026) for _ in range(burst))
    assert not limiter.acquire("getOrder")
    assert limiter.available("getOrder") < 1 and limiter.available(GET_ORDER_2026) < 1
