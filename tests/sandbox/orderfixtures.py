"""Orders built directly with a known fate, for tests that need exact statuses and numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.sandbox.lifecycle import Fate, Order, OrderItem
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.runtime import Sandbox
from tests.sandbox.conftest import DE, NOW, SELLER


def make_order(
    n: int,
    placed: datetime,
    *,
    marketplace_id: str = DE,
    channel: str = "MFN",
    sku: str = "HP-001",
    quantity: int = 1,
    price: str = "21.99",
    discount: str = "0",
    promotion_ids: tuple[str, ...] = (),
    ship_after: timedelta = timedelta(hours=20),
    handling: timedelta = timedelta(days=2),
    valid_tracking: bool = True,
    cancel_request_after: timedelta | None = None,
    defect: str | None = None,
    currency: str = "EUR",
) -> Order:
    """Order number n, placed at `placed`: paid 5 minutes later, shipped `ship_after` later."""
    unit = Decimal(price)
    return Order(
        amazon_order_id=f"302-{n:07d}-{n:07d}",
        seller_id=SELLER,
        marketplace_id=marketplace_id,
        channel=channel,
        currency=currency,
        purchase_date=placed,
        latest_ship_date=placed + handling,
        ship_country="DE",
        ship_city="Berlin",
        fate=Fate(
            paid_at=placed + timedelta(minutes=5),
            ship_at=placed + ship_after,
            valid_tracking=valid_tracking,
            cancel_request_at=(
                None if cancel_request_after is None else placed + cancel_request_after
            ),
            buyer_cancel_reason=None if cancel_request_after is None else "Order placed by mistake",
            defect=defect,
            defect_at=None if defect is None else placed + timedelta(days=5),
        ),
        items=(
            OrderItem(
                order_item_id=f"{n:014d}",
                sku=sku,
                asin="B0TEST0001",
                title=f"Sonora {sku}",
                quantity=quantity,
                item_price=unit * quantity,
                promotion_discount=Decimal(discount) * quantity,
                promotion_ids=promotion_ids,
            ),
        ),
    )


def runaway_order(n: int, placed: datetime, **options: Any) -> Order:
    """Two headphones at 49.99 with the incident's promotion taking 49.49 off each: the
    buyer pays 0.50 a unit (`options` as make_order's)."""
    runaway = {
        "quantity": 2,
        "price": "49.99",
        "discount": "49.49",
        "promotion_ids": ("INCIDENT-1",),
    }
    return make_order(n, placed, **(runaway | options))


def insert_to_filter(box: Sandbox) -> None:
    """Orders 1 (MFN, placed two days before NOW: Shipped), 2 (MFN) and 3 (FBA, HP-004),
    both placed an hour before NOW: what the status and channel filters tell apart."""
    insert(
        box,
        make_order(1, NOW - timedelta(days=2)),
        make_order(2, NOW - timedelta(hours=1)),
        make_order(3, NOW - timedelta(hours=1), channel="AFN", sku="HP-004"),
    )


def insert(box: Sandbox, *orders: Order) -> None:
    with box.store.write() as tx:
        tables = OrderTables(tx)
        for order in orders:
            tables.add_order(order)
