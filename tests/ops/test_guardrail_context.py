from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.live.orders import Order, OrderItem
from engine.ops.guardrail_context import from_store, open_order_units
from engine.state import orders as order_store
from engine.state.orders import StoredOrder

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SELLER = "A1TESTSELLER"


def order(
    n: int,
    marketplace: str,
    status: str,
    *,
    sku: str = "HP-100",
    quantity: int = 3,
    shipped: int = 0,
    channel: str = "MFN",
) -> Order:
    placed = NOW - timedelta(days=1)
    item = OrderItem(f"{n:014d}", sku, "B0TEST0001", quantity, shipped, Decimal("10"), Decimal(0))
    return Order(
        f"302-{n:07d}-{n:07d}",
        marketplace,
        status,
        channel,
        "EUR",
        placed,
        placed,
        placed + timedelta(days=2),
        "DE",
        Decimal("30"),
        (item,),
    )


def test_open_units_count_what_open_mfn_orders_still_have_to_ship():
    stored = [
        StoredOrder(order(1, "DE", "Unshipped"), None),
        StoredOrder(order(2, "DE", "PartiallyShipped", shipped=2), None),
        StoredOrder(order(3, "DE", "Shipped", shipped=3), NOW),
        StoredOrder(order(4, "DE", "Canceled"), None),
        StoredOrder(order(5, "DE", "Unshipped", channel="AFN"), None),
    ]
    assert open_order_units(stored) == {("DE", "HP-100"): 4}


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
