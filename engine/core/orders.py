"""Orders as sellersync sees them: the normalised `Order` / `OrderItem`.

Everything downstream (the order store, routing, account health, the watchdog) reads these,
never raw SP-API JSON; engine.live.orders parses Orders 2026-01-01 into them. Money is
Decimal in the order's one currency; a Pending order's prices, promotions and ship-to
country are None, not zero, so nobody mistakes "not known yet" for "free"; times are
timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

STATUSES = (
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
)
CHANNELS = ("MFN", "AFN")
OPEN_STATUSES = ("Unshipped", "PartiallyShipped")  # paid, still to be shipped by someone


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One order line. `item_price` is Amazon's ItemPrice (unit price times quantity) and
    `promotion_discount` what promotions took off it; both None while the order is Pending."""

    order_item_id: str
    sku: str
    asin: str
    quantity: int
    quantity_shipped: int
    item_price: Decimal | None
    promotion_discount: Decimal | None
    promotion_ids: tuple[str, ...] = ()
    buyer_requested_cancel: bool = False
    buyer_cancel_reason: str | None = None

    @property
    def realized_unit_price(self) -> Decimal | None:
        """What the buyer paid per unit after promotions; None when not priced yet."""
        if self.item_price is None or self.quantity <= 0:
            return None
        return (self.item_price - (self.promotion_discount or Decimal(0))) / self.quantity

    def to_dict(self) -> dict[str, Any]:
        unit = self.realized_unit_price
        return {
            "order_item_id": self.order_item_id,
            "sku": self.sku,
            "asin": self.asin,
            "quantity": self.quantity,
            "quantity_shipped": self.quantity_shipped,
            "item_price": _text(self.item_price),
            "promotion_discount": _text(self.promotion_discount),
            "realized_unit_price": _text(unit),
            "promotion_ids": list(self.promotion_ids),
            "buyer_requested_cancel": self.buyer_requested_cancel,
            "buyer_cancel_reason": self.buyer_cancel_reason,
        }


@dataclass(frozen=True, slots=True)
class Order:
    """An order of one marketplace (by its code, e.g. DE). `channel` is MFN (the seller
    ships) or AFN (Amazon ships, FBA). `ship_country` is None while Pending."""

    amazon_order_id: str
    marketplace: str
    status: str
    channel: str
    currency: str
    purchase_date: datetime
    last_update: datetime
    latest_ship_date: datetime | None
    ship_country: str | None
    order_total: Decimal | None
    items: tuple[OrderItem, ...] = ()

    @property
    def buyer_requested_cancel(self) -> bool:
        return any(item.buyer_requested_cancel for item in self.items)

    @property
    def buyer_cancel_reason(self) -> str | None:
        return next((i.buyer_cancel_reason for i in self.items if i.buyer_cancel_reason), None)

    @property
    def promotion_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for item in self.items for p in item.promotion_ids))

    def with_items(self, items: Sequence[OrderItem]) -> Order:
        return replace(self, items=tuple(items))

    def to_dict(self) -> dict[str, Any]:
        return {
            "amazon_order_id": self.amazon_order_id,
            "marketplace": self.marketplace,
            "status": self.status,
            "channel": self.channel,
            "currency": self.currency,
            "purchase_date": iso(self.purchase_date),
            "last_update": iso(self.last_update),
            "latest_ship_date": None
            if self.latest_ship_date is None
            else iso(self.latest_ship_date),
            "ship_country": self.ship_country,
            "order_total": _text(self.order_total),
            "buyer_requested_cancel": self.buyer_requested_cancel,
            "promotion_ids": list(self.promotion_ids),
            "items": [item.to_dict() for item in self.items],
        }


def iso(value: datetime) -> str:
    """SP-API style: ISO 8601 UTC to the second, with Z."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"
