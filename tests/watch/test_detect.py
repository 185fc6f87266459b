"""Detection rules over orders: floor, undeclared deep promotions, velocity; what they ignore."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.desired.render import render
from engine.state.watched_orders import OrderUnits
from engine.watch.detect import History, detect
from engine.watch.run import order_units
from tests.minimal_config import edited
from tests.watch.conftest import NOW, make_order

# Minimal config: HP-100 (MFN) costs 20.00 USD, floor cost + 10 % = 22.00 USD, 40 % max discount.
PROMOTIONS = """\
    promotions:
      - id: WINTER10
        kind: promo_code
        code: WINTER10
        discount: {percent: 10}
        marketplaces: [US]
        skus: [HP-*]
        start: "2026-11-20T00:00:00Z"
        end: "2026-11-30T00:00:00Z"
    """


@pytest.fixture
def config(make_config):
    return make_config({"promotions.yaml": PROMOTIONS})


def run(config, orders=(), history=None):
    desired = render(config, NOW).resources
    return detect(orders, config, desired, history or {}, NOW)


def test_a_unit_under_the_floor_is_detected_and_one_at_the_floor_is_not(config):
    under = make_order(price="59.99", discount="38.00", order_id="111-0000001-0000001")
    at_floor = make_order(price="59.99", discount="37.99", order_id="111-0000001-0000002")
    assert run(config, [at_floor]) == []
    [found] = run(config, [under, at_floor])
    assert (found.rule, found.address, found.order_ids) == (
        "below_floor",
        'listing.US["HP-100"]',
        ("111-0000001-0000001",),
    )
    assert "21.99 a unit, floor 22.00 USD (cost 20.00 USD + 10%)" in found.message


def test_the_floor_is_in_the_marketplace_currency(config):
    # 20.00 USD cost at 150 JPY/USD + 10 % = 3300 JPY.
    cheap = make_order(marketplace="JP", currency="JPY", price="3299", order_id="250-1-1")
    fine = make_order(marketplace="JP", currency="JPY", price="3300", order_id="250-1-2")
    assert [d.order_ids for d in run(config, [cheap, fine])] == [("250-1-1",)]


def test_an_undeclared_promotion_deeper_than_the_limit_is_detected(config):
    deep = make_order(price="100.00", discount="41.00", promotions=("SC-PROMO-7",))
    found = {d.rule for d in run(config, [deep])}
    assert found == {"undeclared_promotion"}  # 59.00 a unit is above the floor


def test_declared_or_shallow_promotions_are_not_suspect(config):
    declared = make_order(price="100.00", discount="10.00", promotions=("WINTER10",))
    rounded = make_order(
        price="59.99", discount="6.00", promotions=("WINTER10",), order_id="111-2-3"
    )
    shallow = make_order(
        price="100.00", discount="40.00", promotions=("SC-PROMO-7",), order_id="111-2-2"
    )
    assert run(config, [declared, rounded, shallow]) == []


def test_a_declared_code_set_deeper_than_declared_is_detected(config):
    # WINTER10 is declared as 10 %; in Seller Central it was set to 45 %.
    wrong = make_order(price="100.00", discount="45.00", promotions=("WINTER10",))
    [found] = run(config, [wrong])
    assert (found.rule, found.sku, found.units) == ("declared_mismatch", "HP-100", 1)
    assert "WINTER10 took 45% off, declared 10% (45.00 against at most 10.00 USD)" in (
        found.message
    )
    # Just past the rounding tolerance (10 % + 1 point of the item price) trips too.
    assert [
        d.rule
        for d in run(
            config, [make_order(price="100.00", discount="11.01", promotions=("WINTER10",))]
        )
    ] == ["declared_mismatch"]


def test_a_declared_code_used_outside_its_window_is_detected(config):
    early = make_order(
        price="100.00", discount="10.00", promotions=("WINTER10",), at=NOW - timedelta(days=8)
    )
    [found] = run(config, [early])
    assert found.rule == "declared_mismatch"
    assert "outside its declared window" in found.message


def test_canceled_and_unpriced_orders_are_not_sales(config):
    canceled = make_order(price="1.00", status="Canceled", promotions=("X",))
    pending = make_order(status="Pending", order_id="111-3-3")
    assert run(config, [canceled, pending]) == []


def test_orders_before_an_acknowledgement_never_trip_again(make_config):
    incidents = """\
        incidents:
          - id: INC-202611272100-US-HP-100
            marketplace: US
            sku: HP-100
            acknowledged_by: maria.keller
            acknowledged_at: "2026-11-27T21:30:00Z"
            resolution: promo code ended, orders cancelled
        """
    config = make_config({"incidents.yaml": incidents})
    before = make_order(price="1.00", at=NOW - timedelta(minutes=31), order_id="111-4-1")
    after = make_order(price="1.00", at=NOW - timedelta(minutes=29), order_id="111-4-2")
    assert run(config, [before]) == []
    assert [d.order_ids for d in run(config, [before, after])] == [("111-4-2",)]


def _lines(units: int, sku: str = "HP-100", minutes_ago: int = 10) -> list[OrderUnits]:
    at = NOW - timedelta(minutes=minutes_ago)
    return [OrderUnits(f"i{n}", f"o{n}", "US", sku, at, 1) for n in range(units)]


@pytest.mark.parametrize(
    ("units", "baseline_week", "trips"),
    [
        (10, 0, True),  # 10 an hour against nothing
        (9, 0, False),  # fewer than min_units: a slow SKU's lucky hour
        (10, 168 * 2, False),  # a best seller at 2 an hour may sell 10 in an hour (5x < 10x)
        (25, 168 * 2, True),  # 12.5x its baseline
    ],
)
def test_velocity_against_the_baseline(config, units, baseline_week, trips):
    history = {"US": History(_lines(units), {"HP-100": baseline_week})}
    found = run(config, [], history)
    assert [d.rule for d in found] == (["velocity"] if trips else [])
    if trips:
        assert found[0].units == units and len(found[0].order_ids) == units


def test_velocity_counts_only_the_window(config):
    old = _lines(30, minutes_ago=61)
    assert run(config, [], {"US": History(old, {})}) == []


def test_thresholds_come_from_project_yaml(make_config):
    config = make_config(
        edited(
            "project.yaml",
            "defaults:\n",
            "watch:\n  velocity: {min_units: 3, multiplier: 2.5, window_minutes: 30}\ndefaults:\n",
        )
    )
    settings = config.project.watch
    assert (settings.velocity_min_units, settings.velocity_window_minutes) == (3, 30)
    assert [d.rule for d in run(config, [], {"US": History(_lines(3), {})})] == ["velocity"]
    assert run(config, [], {"US": History(_lines(3, minutes_ago=31), {})}) == []


RECENT = NOW - timedelta(minutes=5)


def test_pending_units_count_toward_velocity_before_any_price_is_known(config):
    pending = [
        make_order(status="Pending", quantity=2, at=RECENT, order_id=f"111-9-{n}") for n in range(5)
    ]
    lines = order_units(pending)
    assert sum(line.units for line in lines) == 10
    found = run(config, pending, {"US": History(lines, {})})
    # Unpriced: neither the floor nor the promotion rules can judge them, velocity can.
    assert [d.rule for d in found] == ["velocity"]
    # The first priced read of the same orders confirms it with the floor.
    priced = [
        make_order(price="1.00", quantity=2, at=RECENT, order_id=f"111-9-{n}") for n in range(5)
    ]
    assert {d.rule for d in run(config, priced, {"US": History(lines, {})})} == {
        "below_floor",
        "velocity",
    }
