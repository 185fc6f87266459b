"""Virtual clock and token buckets: deterministic with a frozen clock, faster at speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.core.spapi_limits import GET_ORDER_2026
from engine.sandbox.clock import ClockState, ClockTimer, VirtualClock
from engine.sandbox.ratelimit import LIMITS, Limit, RateLimiter
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
