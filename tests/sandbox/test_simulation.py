"""Simulation over virtual time on a frozen clock: orders, stock, promotions, reproducibility."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from engine.sandbox import listings, orders, simulation
from engine.sandbox.clock import VirtualClock
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.promotions import Promotion
from engine.sandbox.runtime import Sandbox
from engine.sandbox.scenario import add_promotion
from tests.sandbox.conftest import DE, NOW, SELLER, demo_resources


def open_box(path: Path) -> Sandbox:
    return Sandbox.open(path, seed=(SELLER, demo_resources()), clock=VirtualClock.frozen_at(NOW))


def stock(box: Sandbox) -> dict[tuple[str, str], int]:
    with box.store.read() as tx:
        rows = tx.listings(SELLER, [DE])
    return {
        (li.sku, li.marketplace_id): (
            li.fba_quantity
            if listings.is_fba(li.attributes)
            else listings.mfn_quantity(li.attributes)
        )
        or 0
        for li in rows
    }


def test_simulate_steps_the_clock_and_takes_stock(tmp_path):
    box = open_box(tmp_path)
    before = stock(box)
    summary = simulation.simulate(box.account, box.advance, timedelta(hours=48), random.Random(3))
    assert box.clock.now() == summary.end == NOW + timedelta(hours=48)
    assert 10 <= len(summary.orders) <= 200
    assert all(NOW <= o.purchase_date < summary.end for o in summary.orders)
    sold: dict[tuple[str, str], int] = {}
    for order in summary.orders:
        for item in order.items:
            key = (item.sku, order.marketplace_id)
            sold[key] = sold.get(key, 0) + item.quantity
    after = stock(box)
    for key, units in sold.items():
        if key in before:
            assert after[key] == before[key] - units
    assert {o.status for o in summary.orders} <= {"Pending", "Unshipped", "Shipped"}
    data = summary.to_dict()
    assert data["orders"] == len(summary.orders)
    assert sum(r["units"] for r in data["by_marketplace"]) == data["units"]
    emptied = {sku for (sku, _), units in after.items() if units == 0 and before[(sku, DE)]}
    assert {s["sku"] for s in data["sold_out"] if s["marketplace"] == "DE"} == emptied


def test_the_same_seed_gives_the_same_orders(tmp_path):
    runs = []
    for name in ("a", "b"):
        box = open_box(tmp_path / name)
        summary = simulation.simulate(
            box.account, box.advance, timedelta(hours=24), random.Random(9)
        )
        runs.append([(o.amazon_order_id, o.purchase_date, o.total) for o in summary.orders])
        box.store.close()
    assert runs[0] == runs[1] and runs[0]


def test_a_promotion_lowers_prices_until_its_redemptions_run_out(tmp_path):
    box = open_box(tmp_path)
    add_promotion(
        box.account,
        Promotion(
            promotion_id="HALF",
            kind="percent-off",
            discount_pct=Decimal(50),
            sku_pattern="HP-00*",
            marketplace_id=DE,
            starts_at=NOW + timedelta(hours=1),
            ends_at=NOW + timedelta(hours=30),
            created_at=NOW,
            max_redemptions=5,
        ),
    )
    summary = simulation.simulate(box.account, box.advance, timedelta(hours=36), random.Random(4))
    promoted = [o for o in summary.orders if o.items[0].promotion_ids == ("HALF",)]
    assert len(promoted) == 5
    for order in promoted:
        item = order.items[0]
        assert item.sku.startswith("HP-00") and order.purchase_date >= NOW + timedelta(hours=1)
        assert item.promotion_discount == item.item_price - item.paid
        unit = item.item_price / item.quantity
        assert item.paid == (unit / 2).quantize(Decimal("0.01")) * item.quantity
    with box.store.read() as tx:
        assert OrderTables(tx).promotion("HALF").redemptions == 5
    last = max(o.purchase_date for o in promoted)
    later = [
        o for o in summary.orders if o.purchase_date > last and o.items[0].sku.startswith("HP-00")
    ]
    assert all(not o.items[0].promotion_ids for o in later)


def order_ids(box: Sandbox) -> tuple[list[str], list[str]]:
    with box.store.read() as tx:
        stored = OrderTables(tx).select("1", ())
    return [o.amazon_order_id for o in stored], [i.order_item_id for o in stored for i in o.items]


def test_running_the_same_seed_twice_continues_the_order_ids(tmp_path):
    box = open_box(tmp_path)
    first = simulation.simulate(box.account, box.advance, timedelta(hours=24), random.Random(9))
    second = simulation.simulate(box.account, box.advance, timedelta(hours=24), random.Random(9))
    assert first.orders and second.orders
    firsts = {o.amazon_order_id for o in first.orders}
    assert firsts.isdisjoint(o.amazon_order_id for o in second.orders)
    ids, item_ids = order_ids(box)
    assert len(ids) == len(set(ids)) == len(first.orders) + len(second.orders)
    assert len(item_ids) == len(set(item_ids)) == len(ids)
    assert all(orders.valid_order_id(i) for i in ids)
    assert all(len(i) == 14 and i.isdigit() for i in item_ids)


def test_the_same_seed_from_the_same_state_repeats_a_second_run(tmp_path):
    runs = []
    for name in ("a", "b"):
        box = open_box(tmp_path / name)
        for _ in range(2):
            simulation.simulate(box.account, box.advance, timedelta(hours=12), random.Random(4))
        runs.append(order_ids(box))
        box.store.close()
    assert runs[0] == runs[1] and runs[0][0]


def test_reset_numbers_the_orders_from_the_start_again(tmp_path):
    box = open_box(tmp_path)
    simulation.simulate(box.account, box.advance, timedelta(hours=12), random.Random(4))
    with box.store.write() as tx:
        assert OrderTables(tx).next_serial() > 0
    box.store.reset()
    with box.store.write() as tx:
        assert OrderTables(tx).next_serial() == 0


def test_order_and_item_ids_are_a_bijection_of_the_serial():
    assert simulation.order_id(302, 0) != simulation.order_id(302, 1)
    assert simulation.order_item_id(0) != simulation.order_item_id(1)
    # the digits are a bijection of the serial: no two of the first 100 000 serials collide
    assert len({simulation.order_id(302, n) for n in range(100_000)}) == 100_000
    assert len({simulation.order_item_id(n) for n in range(100_000)}) == 100_000
