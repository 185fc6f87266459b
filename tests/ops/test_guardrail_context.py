from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.ops.guardrail_context import from_store
from engine.state import orders as order_store
from tests.ops.stored_orders import NOW, SELLER, order


def test_nothing_pulled_is_unknown_not_zero(db):
    with db.read() as conn:
        context = from_store(conn, SELLER, ["US", "DE"], NOW)
    assert context.open_order_units is None and context.account_health is None


def test_pulled_marketplaces_give_health_and_all_pulled_give_open_units(db):
    with db.write() as conn:
        order_store.save(conn, SELLER, order(1, "DE", "Unshipped"))
        order_store.save(conn, SELLER, order(2, "DE", "Canceled"))
        order_store.set_checkpoint(conn, SELLER, "DE", NOW - timedelta(minutes=2))
    with db.read() as conn:
        partial = from_store(conn, SELLER, ["US", "DE"], NOW)
        full = from_store(conn, SELLER, ["DE"], NOW)
    # US was never pulled: its open orders are unknown, so no mapping (it would read as none).
    assert partial.open_order_units is None
    assert set(partial.account_health) == {"DE"}
    assert partial.account_health["DE"].cancellation_rate_pct == Decimal("50.00")
    assert partial.account_health["DE"].order_defect_rate_pct is None
    assert full.open_order_units == {("DE", "HP-100"): 3}


def test_open_order_units_are_the_units_stock_allocation_reserves(db):
    with db.write() as conn:
        order_store.save(conn, SELLER, order(1, "DE", "Pending", quantity=2))
        order_store.save(conn, SELLER, order(2, "DE", "Unshipped"))
        order_store.set_checkpoint(conn, SELLER, "DE", NOW - timedelta(minutes=2))
    with db.read() as conn:
        context = from_store(conn, SELLER, ["DE"], NOW)
    assert context.open_order_units == {("DE", "HP-100"): 5}  # a Pending order owes units too


def test_orders_of_marketplaces_sharing_the_stock_count_in_a_plan_of_one(db):
    with db.write() as conn:
        order_store.save(conn, SELLER, order(1, "DE", "Unshipped"))
        order_store.save(conn, SELLER, order(2, "US", "Unshipped", quantity=4))
        for code in ("DE", "US"):
            order_store.set_checkpoint(conn, SELLER, code, NOW - timedelta(minutes=2))
    with db.read() as conn:
        alone = from_store(conn, SELLER, ["DE"], NOW)
        sharing = from_store(conn, SELLER, ["DE"], NOW, sharing_stock=["US", "DE", "JP"])
    assert alone.open_order_units == {("DE", "HP-100"): 3}
    assert sharing.open_order_units == {("DE", "HP-100"): 3, ("US", "HP-100"): 4}
    assert set(sharing.account_health) == {"DE"}  # health is the planned marketplaces' only
