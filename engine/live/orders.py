"""Orders API 2026-01-01 JSON parsed into sellersync's `Order` / `OrderItem` (engine.core.orders).

sellersync reads orders with searchOrders / getOrder of Orders 2026-01-01 (the model:
amzn/selling-partner-api-models models/orders-api-model/orders_2026-01-01.json); Orders v0 is
deprecated, removal 2027-03-27. One response carries the order and its items: `orderItems`
is always there, and `includedData` (INCLUDED_DATA) adds what sellersync reads besides.
Everything downstream (the order store, routing, account health, the watchdog) reads the
normalised model, never raw SP-API JSON, so Amazon's quirks are dealt with once, here:
- money is a string `amount` with a `currencyCode`; we keep Decimals and one currency per
  order, and refuse an order whose amounts mix currencies;
- the status is `fulfillment.fulfillmentStatus` (PENDING, UNSHIPPED, ...), mapped onto the
  status names sellersync has always stored (Pending, Unshipped, ...); the channel is
  `fulfillment.fulfilledBy` (MERCHANT is MFN, AMAZON is AFN);
- an item's price is its `product.price.unitPrice`: the ItemPrice sellersync keeps (unit
  price times quantity, as v0 reported it) is computed; its promotion discount is the
  item's DISCOUNT proceeds, their ITEM part where broken down (the model does not say
  whether that amount is signed, so its magnitude is taken), its promotion ids
  `promotion.breakdowns[].promotionId`;
- the order total is `proceeds.grandTotal`, the ship-to country
  `recipient.deliveryAddress.countryCode`;
- a Pending order (payment not yet authorised) has no prices, proceeds or ship-to address:
  those are None, not zero, so nobody mistakes "not known yet" for "free";
- the buyer's cancellation request is an item's `cancellation.cancellationRequest` with
  requester BUYER;
- times are ISO 8601; we keep them timezone-aware UTC.
Malformed data is an `OrderDataError` naming the order and the field, never a KeyError.

What v0 had and 2026-01-01 has not: the InvoiceUnconfirmed status (the model's
FulfillmentStatus enum has no such value). sellersync never acted on it, so no v0 call
remains (see docs/spapi.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.core.errors import UserError
from engine.core.marketplaces import BY_ID, MARKETPLACES
from engine.core.money import MoneyError, currency, to_decimal
from engine.core.orders import Order, OrderItem

# searchOrders takes up to 50 marketplaceIds (the model's maxItems), all served by the
# endpoint of one region.
MAX_ORDERS_MARKETPLACES = 50
# What sellersync asks searchOrders and getOrder to include: status and channel
# (FULFILLMENT), prices and totals (PROCEEDS), promotion ids (PROMOTION), buyer cancellation
# requests (CANCELLATION) and the ship-to country (RECIPIENT).
INCLUDED_DATA = ("FULFILLMENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "RECIPIENT")
# FulfillmentStatus (2026-01-01) -> the status name sellersync stores (v0's OrderStatus).
STATUS_NAMES = {
    "PENDING_AVAILABILITY": "PendingAvailability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
FULFILLED_BY = {"MERCHANT": "MFN", "AMAZON": "AFN"}


def order_groups(marketplaces: Sequence[str]) -> list[tuple[str, ...]]:
    """Marketplace codes grouped for searchOrders: one group per region (in first-seen
    order), split into groups of at most MAX_ORDERS_MARKETPLACES. At searchOrders' 0.0056
    calls/s (burst 20) one call a region instead of one a marketplace is what lets a watch
    pass run every few minutes: the demo seller's nine marketplaces are three calls."""
    by_region: dict[str, list[str]] = {}
    for code in dict.fromkeys(marketplaces):
        by_region.setdefault(MARKETPLACES[code].region, []).append(code)
    return [
        tuple(codes[start : start + MAX_ORDERS_MARKETPLACES])
        for codes in by_region.values()
        for start in range(0, len(codes), MAX_ORDERS_MARKETPLACES)
    ]


class OrderDataError(UserError):
    """Order data from SP-API that does not have the shape of the Orders 2026-01-01 model."""


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

    def choice(self, name: str, allowed: Mapping[str, str]) -> str:
        """The value `name` holds, mapped by `allowed`."""
        value = self.text(name)
        if value not in allowed:
            raise self.fail(name, f"is {value!r}, expected one of {', '.join(allowed)}")
        return allowed[value]

    def part(self, name: str) -> _Fields | None:
        """The nested object `name`, None when absent."""
        value = self.data.get(name)
        return None if value is None else _Fields(value, f"{self.where}: {name}")

    def parts(self, name: str) -> list[_Fields]:
        """The objects of the list `name` (empty when absent)."""
        value = self.data.get(name) or []
        if not isinstance(value, list):
            raise self.fail(name, f"must be a list, got {value!r}")
        return [_Fields(v, f"{self.where}: {name}[{n}]") for n, v in enumerate(value)]

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
        code = money.text("currencyCode")
        try:
            currency(code)
            amount = to_decimal(money.text("amount"))
        except MoneyError as err:
            raise self.fail(name, str(err)) from None
        if currency_code is not None and code != currency_code:
            raise self.fail(name, f"is in {code}, but the order is in {currency_code}")
        return amount, code


def parse_order(data: Any) -> Order:
    """An Orders 2026-01-01 `Order` (from searchOrders or getOrder) with its items."""
    order_id = data.get("orderId") if isinstance(data, Mapping) else None
    fields = _Fields(data, f"order {order_id or '(no orderId)'}")
    order_id = fields.text("orderId")
    channel = fields.part("salesChannel") or _Fields({}, f"{fields.where}: salesChannel")
    marketplace_id = channel.text("marketplaceId")
    mkt = BY_ID.get(marketplace_id)
    if mkt is None:
        raise channel.fail("marketplaceId", f"{marketplace_id!r} is not a known marketplace")
    fulfillment = fields.part("fulfillment")
    if fulfillment is None:
        raise fields.fail("fulfillment", "is missing (includedData must name FULFILLMENT)")
    proceeds = fields.part("proceeds")
    total = None if proceeds is None else proceeds.money("grandTotal", None)
    recipient = fields.part("recipient")
    address = None if recipient is None else recipient.part("deliveryAddress")
    window = fulfillment.part("shipByWindow")
    order = Order(
        amazon_order_id=order_id,
        marketplace=mkt.code,
        status=fulfillment.choice("fulfillmentStatus", STATUS_NAMES),
        channel=fulfillment.choice("fulfilledBy", FULFILLED_BY),
        currency=mkt.currency if total is None else total[1],
        purchase_date=fields.time("createdTime"),
        last_update=fields.time("lastUpdatedTime"),
        latest_ship_date=None if window is None else window.optional_time("latestDateTime"),
        ship_country=None if address is None else address.optional_text("countryCode"),
        order_total=None if total is None else total[0],
    )
    if not isinstance(data.get("orderItems"), list):
        raise fields.fail("orderItems", f"must be a list, got {data.get('orderItems')!r}")
    return order.with_items([parse_order_item(order, item) for item in data["orderItems"]])


def _discount(
    price: Decimal | None, proceeds: _Fields | None, currency_code: str
) -> Decimal | None:
    """What promotions took off the item's price (v0's PromotionDiscount): the magnitude of
    its DISCOUNT proceeds, of their ITEM part where they are broken down (a shipping
    discount is not the item's); zero once priced when there is no DISCOUNT, None while
    not priced."""
    amounts: list[Decimal] = []
    for breakdown in proceeds.parts("breakdowns") if proceeds is not None else []:
        if breakdown.data.get("type") != "DISCOUNT":
            continue
        details = breakdown.parts("detailedBreakdowns")
        parts = [
            d.money("value", currency_code) for d in details if d.data.get("subtype") == "ITEM"
        ]
        if not details:
            parts = [breakdown.money("subtotal", currency_code)]
        amounts += [part[0] for part in parts if part is not None]
    if amounts:
        return abs(sum(amounts, Decimal(0)))
    return None if price is None else Decimal(0)


def parse_order_item(order: Order, data: Any) -> OrderItem:
    """An Orders 2026-01-01 `OrderItem` of `order`; its money must be in the order's
    currency."""
    item_id = data.get("orderItemId") if isinstance(data, Mapping) else None
    fields = _Fields(data, f"order {order.amazon_order_id} item {item_id or '(no orderItemId)'}")
    product = fields.part("product") or _Fields({}, f"{fields.where}: product")
    quantity = fields.count("quantityOrdered")
    price = product.part("price")
    unit = None if price is None else price.money("unitPrice", order.currency)
    item_price = None if unit is None else unit[0] * quantity
    promotion = fields.part("promotion")
    promotion_ids = [
        b.text("promotionId") for b in (promotion.parts("breakdowns") if promotion else [])
    ]
    cancellation = fields.part("cancellation")
    request = None if cancellation is None else cancellation.part("cancellationRequest")
    requested = request is not None and request.data.get("requester") == "BUYER"
    fulfillment = fields.part("fulfillment")
    return OrderItem(
        order_item_id=fields.text("orderItemId"),
        sku=product.text("sellerSku"),
        asin=product.text("asin"),
        quantity=quantity,
        quantity_shipped=0 if fulfillment is None else fulfillment.count("quantityFulfilled", 0),
        item_price=item_price,
        promotion_discount=_discount(item_price, fields.part("proceeds"), order.currency),
        promotion_ids=tuple(dict.fromkeys(promotion_ids)),
        buyer_requested_cancel=requested,
        buyer_cancel_reason=request.optional_text("cancelReason")
        if request is not None and requested
        else None,
    )
