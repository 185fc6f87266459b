"""Orders v0 JSON parsed into sellersync's `Order` / `OrderItem` (engine.core.orders).

Everything downstream (the order store, routing, account health, the watchdog) reads those,
never raw SP-API JSON, so Amazon's quirks are dealt with once, here:
- money is a string `Amount` with a `CurrencyCode`; we keep Decimals and one currency per
  order, and refuse an order whose amounts mix currencies;
- a Pending order (payment not yet authorised) has no prices, promotions or ship-to address:
  those are None, not zero, so nobody mistakes "not known yet" for "free";
- the buyer's cancellation request is a per-item string flag ("true"/"false");
- times are ISO 8601; we keep them timezone-aware UTC.
Malformed data is an `OrderDataError` naming the order and the field, never a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.core.errors import UserError
from engine.core.marketplaces import BY_ID, MARKETPLACES
from engine.core.money import MoneyError, currency, to_decimal
from engine.core.orders import CHANNELS, STATUSES, Order, OrderItem

# getOrders takes up to 50 MarketplaceIds, all served by the endpoint of one region.
MAX_ORDERS_MARKETPLACES = 50


def order_groups(marketplaces: Sequence[str]) -> list[tuple[str, ...]]:
    """Marketplace codes grouped for getOrders: one group per region (in first-seen order),
    split into groups of at most MAX_ORDERS_MARKETPLACES. At getOrders' 0.0167 calls/s one
    call a region instead of one a marketplace is what lets a watch pass run every few
    minutes: the demo seller's nine marketplaces are three calls."""
    by_region: dict[str, list[str]] = {}
    for code in dict.fromkeys(marketplaces):
        by_region.setdefault(MARKETPLACES[code].region, []).append(code)
    return [
        tuple(codes[start : start + MAX_ORDERS_MARKETPLACES])
        for codes in by_region.values()
        for start in range(0, len(codes), MAX_ORDERS_MARKETPLACES)
    ]


class OrderDataError(UserError):
    """Order data from SP-API that does not have the shape of the Orders v0 model."""


class _Fields:
    """Typed access to one JSON object; every failure names the order and the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise OrderDataError(f"{where}: expected a JSON object, got {type(data).__name__}")
        self.data = data
        self.where = where

    def fail(self, name: str, problem: str) -> OrderDataError:
        return OrderDataError(f"{self.where}: {name} {problem}")

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value:
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.data.get(name) is None else self.text(name)

    def choice(self, name: str, allowed: Sequence[str]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise self.fail(name, f"is {value!r}, expected one of {', '.join(allowed)}")
        return value

    def count(self, name: str, default: int | None = None) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(name, f"must be a whole number >= 0, got {value!r}")
        return value

    def time(self, name: str) -> datetime:
        value = self.text(name)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(name, f"is not an ISO 8601 time: {value!r}") from None
        if parsed.tzinfo is None:
            raise self.fail(name, f"has no time zone: {value!r}")
        return parsed.astimezone(UTC)

    def optional_time(self, name: str) -> datetime | None:
        return None if self.data.get(name) is None else self.time(name)

    def money(self, name: str, currency_code: str | None) -> tuple[Decimal, str] | None:
        """(amount, currency) of a Money field, None when absent; the currency must be
        `currency_code` when one is given."""
        if self.data.get(name) is None:
            return None
        money = _Fields(self.data[name], f"{self.where}: {name}")
        code = money.text("CurrencyCode")
        try:
            currency(code)
            amount = to_decimal(money.text("Amount"))
        except MoneyError as err:
            raise self.fail(name, str(err)) from None
        if currency_code is not None and code != currency_code:
            raise self.fail(name, f"is in {code}, but the order is in {currency_code}")
        return amount, code


def parse_order(data: Any) -> Order:
    """An Orders v0 `Order` (from getOrders or getOrder), without items."""
    order_id = data.get("AmazonOrderId") if isinstance(data, Mapping) else None
    fields = _Fields(data, f"order {order_id or '(no AmazonOrderId)'}")
    order_id = fields.text("AmazonOrderId")
    marketplace_id = fields.text("MarketplaceId")
    mkt = BY_ID.get(marketplace_id)
    if mkt is None:
        raise fields.fail("MarketplaceId", f"{marketplace_id!r} is not a known marketplace")
    total = fields.money("OrderTotal", None)
    address = data.get("ShippingAddress")
    country = None
    if address is not None:
        country = _Fields(address, f"{fields.where}: ShippingAddress").optional_text("CountryCode")
    return Order(
        amazon_order_id=order_id,
        marketplace=mkt.code,
        status=fields.choice("OrderStatus", STATUSES),
        channel=fields.choice("FulfillmentChannel", CHANNELS),
        currency=mkt.currency if total is None else total[1],
        purchase_date=fields.time("PurchaseDate"),
        last_update=fields.time("LastUpdateDate"),
        latest_ship_date=fields.optional_time("LatestShipDate"),
        ship_country=country,
        order_total=None if total is None else total[0],
    )


def _flag(fields: _Fields, name: str) -> bool:
    value = fields.data.get(name, "false")
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise fields.fail(name, f"must be 'true' or 'false', got {value!r}")


def _discount(
    price: tuple[Decimal, str] | None, discount: tuple[Decimal, str] | None
) -> Decimal | None:
    """Amazon leaves PromotionDiscount out when no promotion applied: zero once priced."""
    if discount is not None:
        return discount[0]
    return None if price is None else Decimal(0)


def parse_order_item(order: Order, data: Any) -> OrderItem:
    """An Orders v0 `OrderItem` of `order`; its money must be in the order's currency."""
    item_id = data.get("OrderItemId") if isinstance(data, Mapping) else None
    fields = _Fields(data, f"order {order.amazon_order_id} item {item_id or '(no OrderItemId)'}")
    price = fields.money("ItemPrice", order.currency)
    discount = fields.money("PromotionDiscount", order.currency)
    promotion_ids = data.get("PromotionIds") or []
    if not isinstance(promotion_ids, list) or not all(
        isinstance(p, str) and p for p in promotion_ids
    ):
        raise fields.fail("PromotionIds", f"must be a list of strings, got {promotion_ids!r}")
    cancel = _Fields(
        data.get("BuyerRequestedCancel") or {}, f"{fields.where}: BuyerRequestedCancel"
    )
    requested = _flag(cancel, "IsBuyerRequestedCancel")
    return OrderItem(
        order_item_id=fields.text("OrderItemId"),
        sku=fields.text("SellerSKU"),
        asin=fields.text("ASIN"),
        quantity=fields.count("QuantityOrdered"),
        quantity_shipped=fields.count("QuantityShipped", 0),
        item_price=None if price is None else price[0],
        promotion_discount=_discount(price, discount),
        promotion_ids=tuple(promotion_ids),
        buyer_requested_cancel=requested,
        buyer_cancel_reason=cancel.optional_text("BuyerCancelReason") if requested else None,
    )
