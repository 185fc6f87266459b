"""Routing open MFN orders to the nearest warehouse with stock, with both fallbacks."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.config.model import Warehouse, Warehouses
from engine.core.orders import Order, OrderItem
from engine.ops.routing import route

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LEIPZIG = (51.34, 12.37)
MADRID = (40.42, -3.70)
COLUMBUS = (39.96, -83.00)
DE_CENTRE = (51.165691, 10.451526)
ES_CENTRE = (40.463667, -3.74922)


def flat_km(a, b):
    """Equirectangular approximation, good to well under 1 km at these distances."""
    mean_lat = math.radians((a[0] + b[0]) / 2)
    dx = math.radians(b[1] - a[1]) * math.cos(mean_lat)
    dy = math.radians(b[0] - a[0])
    return 6371.0088 * math.hypot(dx, dy)


def warehouse(ident, where, countries, **stock):
    return Warehouse(ident, ident, where[0], where[1], tuple(countries), dict(stock), None)  # type: ignore[arg-type]


EU = ("DE", "AT", "FR", "ES", "PT", "IT")
WAREHOUSES = Warehouses(
    "backorder",
    (
        warehouse("eu-leipzig", LEIPZIG, EU, **{"HP-100": 5, "SPK-1": 1}),
        warehouse("eu-madrid", MADRID, EU, **{"HP-100": 1}),
        warehouse("us-columbus", COLUMBUS, ("US", "CA"), **{"HP-100": 50}),
    ),
)


def order(n, country, *lines, minutes=0, status="Unshipped", channel="MFN", marketplace="DE"):
    items = tuple(
        OrderItem(f"{n}{i}", sku, "B0TEST", qty, 0, Decimal("10"), Decimal(0))
        for i, (sku, qty) in enumerate(lines)
    )
    placed = NOW + timedelta(minutes=minutes)
    return Order(
        f"302-{n:07d}-0000000",
        marketplace,
        status,
        channel,
        "EUR",
        placed,
        placed,
        placed + timedelta(days=2),
        country,
        Decimal("10"),
        items,
    )


def picks(lines):
    return [
        (ln.amazon_order_id[4:11].lstrip("0"), ln.sku, ln.quantity, ln.warehouse, ln.backorder)
        for ln in lines
    ]


def test_the_nearest_warehouse_with_stock_ships_and_distances_are_right():
    lines = route(
        [order(1, "ES", ("HP-100", 1)), order(2, "DE", ("HP-100", 2), minutes=1)], WAREHOUSES
    )
    assert picks(lines) == [
        ("1", "HP-100", 1, "eu-madrid", False),
        ("2", "HP-100", 2, "eu-leipzig", False),
    ]
    assert lines[0].distance_km == round(flat_km(ES_CENTRE, MADRID))  # a few km: Madrid is central
    assert abs(lines[1].distance_km - flat_km(DE_CENTRE, LEIPZIG)) < 1  # ~135 km
    assert 130 < lines[1].distance_km < 140


def test_stock_is_taken_first_come_first_served():
    orders = [order(2, "ES", ("HP-100", 1), minutes=5), order(1, "ES", ("HP-100", 1))]
    assert picks(route(orders, WAREHOUSES)) == [
        ("1", "HP-100", 1, "eu-madrid", False),  # earlier order takes Madrid's one unit
        ("2", "HP-100", 1, "eu-leipzig", False),  # the next goes further, to Leipzig
    ]


def test_an_order_no_one_warehouse_can_fill_is_backordered_at_the_nearest():
    lines = route([order(1, "ES", ("HP-100", 3), ("SPK-1", 2))], WAREHOUSES)
    assert picks(lines) == [
        ("1", "HP-100", 3, "eu-madrid", True),
        ("1", "SPK-1", 2, "eu-madrid", True),
    ]
    # A backorder takes no stock: the next order still gets Madrid's unit.
    after = route(
        [order(1, "ES", ("HP-100", 9)), order(2, "ES", ("HP-100", 1), minutes=1)], WAREHOUSES
    )
    assert picks(after)[-1] == ("2", "HP-100", 1, "eu-madrid", False)


def test_split_takes_each_line_from_the_nearest_warehouses_that_have_it():
    split = replace(WAREHOUSES, fallback="split")
    lines = route([order(1, "ES", ("HP-100", 7), ("SPK-1", 1))], split)
    assert picks(lines) == [
        ("1", "HP-100", 1, "eu-madrid", False),
        ("1", "HP-100", 5, "eu-leipzig", False),
        ("1", "HP-100", 1, "eu-madrid", True),  # none left anywhere: backordered nearest
        ("1", "SPK-1", 1, "eu-leipzig", False),
    ]


def test_only_open_mfn_orders_are_routed_and_unserved_countries_say_why():
    orders = [
        order(1, "DE", ("HP-100", 1), status="Shipped"),
        order(2, "DE", ("HP-100", 1), channel="AFN"),
        order(3, "DE", ("HP-100", 1), status="Pending"),
        order(4, "JP", ("HP-100", 1), marketplace="JP"),
    ]
    (line,) = route(orders, WAREHOUSES)
    assert (line.warehouse, line.distance_km) == (None, None)
    assert line.note == "no warehouse serves ship-to country JP"


def test_routing_is_deterministic_and_a_tie_goes_to_the_lower_id():
    twins = Warehouses(
        "backorder",
        (
            warehouse("b", LEIPZIG, EU, **{"HP-100": 1}),
            warehouse("a", LEIPZIG, EU, **{"HP-100": 1}),
        ),
    )
    orders = [order(1, "DE", ("HP-100", 1))]
    assert route(orders, twins) == route(list(reversed(orders)), twins)
    assert route(orders, twins)[0].warehouse == "a"


@pytest.mark.parametrize("country", ["US", "CA"])
def test_north_american_orders_go_to_columbus(country):
    (line,) = route([order(1, country, ("HP-100", 1), marketplace="US")], WAREHOUSES)
    assert line.warehouse == "us-columbus" and not line.backorder
