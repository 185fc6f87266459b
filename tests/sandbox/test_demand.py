"""The demand model: the documented rate curve, and reproducible Poisson arrivals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.sandbox import demand

START = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("paid", "lift"),
    [("100", 1.0), ("80", 1.5625), ("50", 4.0), ("10", 100.0), ("1", 400.0), ("0", 400.0)],
)
def test_lift_rises_with_the_square_of_the_discount_up_to_the_cap(paid, lift):
    assert demand.price_lift(Decimal("100"), Decimal(paid)) == pytest.approx(lift)


def test_a_higher_price_than_the_reference_lowers_demand():
    assert demand.price_lift(Decimal("50"), Decimal("100")) == pytest.approx(0.25)


def test_base_rate_is_per_sku_and_lower_for_expensive_items():
    factor = demand.sku_factor("HP-100")
    assert 0.5 <= factor <= 1.5 and factor == demand.sku_factor("HP-100")
    assert factor != demand.sku_factor("HP-200")
    typical = Decimal("25")
    at_typical = demand.base_rate("HP-100", "US", typical, typical)
    assert at_typical == pytest.approx(3.0 / 24 * factor)
    assert demand.base_rate("HP-100", "US", Decimal("100"), typical) == pytest.approx(
        at_typical / 2
    )
    assert demand.base_rate("HP-100", "DE", typical, typical) == pytest.approx(at_typical * 0.55)
    # The price effect is clamped: a 1000x more expensive item still sells a quarter as often.
    assert demand.base_rate("HP-100", "US", typical * 1000, typical) == pytest.approx(
        at_typical / 4
    )


def test_hourly_rate_is_base_rate_times_lift():
    rate = demand.hourly_rate("HP-100", "US", Decimal("99.99"), Decimal("20"), Decimal("1.00"))
    base = demand.base_rate("HP-100", "US", Decimal("99.99"), Decimal("20"))
    assert rate == pytest.approx(base * 400)


def test_arrivals_are_reproducible_with_a_seed():
    end = START + timedelta(hours=10)
    first = demand.arrivals(random.Random(42), 3.0, START, end)
    assert first == demand.arrivals(random.Random(42), 3.0, START, end)
    assert first != demand.arrivals(random.Random(43), 3.0, START, end)
    assert first == sorted(first) and all(START <= t < end for t in first)


def test_arrivals_average_the_rate():
    hours = 2000
    found = demand.arrivals(random.Random(7), 5.0, START, START + timedelta(hours=hours))
    assert len(found) == pytest.approx(5.0 * hours, rel=0.03)
    assert demand.arrivals(random.Random(7), 0.0, START, START + timedelta(hours=1)) == []


def test_units_are_mostly_one():
    rng = random.Random(1)
    drawn = [demand.units(rng) for _ in range(5000)]
    assert set(drawn) == {1, 2, 3}
    assert drawn.count(1) / len(drawn) == pytest.approx(0.88, abs=0.02)
