"""Orders as the order store holds them, built directly: exact statuses and units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.core.orders import Order, OrderItem

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
    """Order number n, placed a day before NOW, with one line of `quantity` units of `sku`."""
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
