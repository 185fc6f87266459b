"""Orders API 2026-01-01 over the sandbox's orders: searchOrders and getOrder.

The model is amzn/selling-partner-api-models models/orders-api-model/orders_2026-01-01.json.
Amazon's behaviours reproduced (its parameter and field notes):
- searchOrders needs exactly one of createdAfter / lastUpdatedAfter, with the same *Before
  rules as v0 (engine.sandbox.orders.window_args); marketplaceIds takes at most 50;
  maxResultsPerPage is 1-100 (default 100); fulfillmentStatuses and fulfilledBy filter.
- The next page is asked for with `paginationToken` (the previous `pagination.nextToken`);
  the model asks the client to repeat the other parameters, and the token alone carries
  the query here, as in v0, with the same stable paging while orders keep arriving.
- Every order carries its `orderItems`; `includedData` adds the datasets named (unknown
  values are refused). Of those, the sandbox has FULFILLMENT, PROCEEDS, PROMOTION,
  CANCELLATION and RECIPIENT; the others (buyer, tax, payment, packages, ...) are answered
  without data, as Amazon answers for an order that has none.
- A Pending order has no proceeds, no recipient and no item prices (payment not yet
  authorised), as in v0.
- getOrder answers 404 for an unknown order and 400 for a malformed id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from engine.core.marketplaces import BY_ID
from engine.sandbox import lifecycle
from engine.sandbox.account import Account, csv_values, invalid_input
from engine.sandbox.lifecycle import Order, OrderItem
from engine.sandbox.orders import (
    V2026_NAMES,
    OrdersQuery,
    find_order,
    iso,
    page_size,
    process_due,
    window_args,
)
from engine.sandbox.orderstore import OrderTables

INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)
MAX_MARKETPLACES = 50
# The sandbox's status (v0's OrderStatus) <-> FulfillmentStatus.
FULFILLMENT_STATUS = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
}
STATUS_OF = {v: k for k, v in FULFILLMENT_STATUS.items()}
FULFILLED_BY = {"MFN": "MERCHANT", "AFN": "AMAZON"}
CHANNEL_OF = {v: k for k, v in FULFILLED_BY.items()}


def _money(currency: str, amount: Any) -> dict[str, str]:
    return {"currencyCode": currency, "amount": f"{amount:f}"}


def _choices(
    args: Mapping[str, list[str]], name: str, allowed: Mapping[str, str]
) -> tuple[str, ...]:
    values = csv_values(args.get(name, []))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise invalid_input(f"Invalid '{name}' value(s): {', '.join(unknown)}.")
    return tuple(allowed[v] for v in values)


def included(args: Mapping[str, list[str]]) -> frozenset[str]:
    return frozenset(_choices(args, "includedData", {v: v for v in INCLUDED_DATA}))


def parse_query(account: Account, args: Mapping[str, list[str]]) -> OrdersQuery:
    now = account.clock.now()
    by_update, after, before = window_args(args, now, V2026_NAMES)
    ids = csv_values(args.get("marketplaceIds", []))
    if not ids:
        raise invalid_input("Missing required parameter 'marketplaceIds'.")
    if len(ids) > MAX_MARKETPLACES:
        raise invalid_input(f"'marketplaceIds' takes at most {MAX_MARKETPLACES} values.")
    return OrdersQuery(
        marketplace_ids=tuple(m.marketplace_id for m in account.marketplaces(ids)),
        by_update=by_update,
        after=after,
        as_of=before or now,
        statuses=_choices(args, "fulfillmentStatuses", STATUS_OF),
        channels=_choices(args, "fulfilledBy", CHANNEL_OF),
        max_results=page_size(args, "maxResultsPerPage"),
    )


def item_view(order: Order, item: OrderItem, wanted: frozenset[str]) -> dict[str, Any]:
    """An OrderItem of the 2026-01-01 model with the datasets `wanted`."""
    priced = order.status != lifecycle.PENDING
    product: dict[str, Any] = {
        "asin": item.asin,
        "title": item.title,
        "sellerSku": item.sku,
        "condition": {"conditionType": "New", "conditionSubtype": "New"},
    }
    if priced:
        product["price"] = {"unitPrice": _money(order.currency, item.item_price / item.quantity)}
    view: dict[str, Any] = {
        "orderItemId": item.order_item_id,
        "quantityOrdered": item.quantity,
        "product": product,
    }
    if "PROCEEDS" in wanted and priced:
        breakdowns: list[dict[str, Any]] = [
            {"type": "ITEM", "subtotal": _money(order.currency, item.item_price)}
        ]
        if item.promotion_discount:
            off = _money(order.currency, -item.promotion_discount)
            breakdowns.append(
                {
                    "type": "DISCOUNT",
                    "subtotal": off,
                    "detailedBreakdowns": [{"subtype": "ITEM", "value": off}],
                }
            )
        view["proceeds"] = {
            "proceedsTotal": _money(order.currency, item.paid),
            "breakdowns": breakdowns,
        }
    if "PROMOTION" in wanted and priced and item.promotion_ids:
        view["promotion"] = {"breakdowns": [{"promotionId": p} for p in item.promotion_ids]}
    if "CANCELLATION" in wanted:
        cancellation: dict[str, Any] = {}
        if order.buyer_requested_cancel:
            request = {"requester": "BUYER"}
            if order.fate.buyer_cancel_reason:
                request["cancelReason"] = order.fate.buyer_cancel_reason
            cancellation["cancellationRequest"] = request
        if order.status == lifecycle.CANCELED and order.canceled_by:
            execution = {"cancelledBy": order.canceled_by.upper()}
            if order.cancel_reason:
                execution["cancelReason"] = order.cancel_reason
            cancellation["cancellationExecution"] = execution
        if cancellation:
            view["cancellation"] = cancellation
    if "FULFILLMENT" in wanted:
        shipped = item.quantity if order.status == lifecycle.SHIPPED else 0
        view["fulfillment"] = {
            "quantityFulfilled": shipped,
            "quantityUnfulfilled": 0
            if order.status == lifecycle.CANCELED
            else item.quantity - shipped,
        }
    return view


def order_view(order: Order, wanted: frozenset[str]) -> dict[str, Any]:
    """An Order of the 2026-01-01 model with the datasets `wanted`."""
    mkt = BY_ID[order.marketplace_id]
    priced = order.status != lifecycle.PENDING
    view: dict[str, Any] = {
        "orderId": order.amazon_order_id,
        "createdTime": iso(order.purchase_date),
        "lastUpdatedTime": iso(order.updated),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace_id,
            "marketplaceName": "Amazon." + mkt.domain.removeprefix("amazon."),
        },
    }
    if order.channel == "AFN":
        view["programs"] = ["PRIME"]
    if "RECIPIENT" in wanted and priced:
        view["recipient"] = {
            "deliveryAddress": {"city": order.ship_city, "countryCode": order.ship_country}
        }
    if "PROCEEDS" in wanted and priced:
        price = sum((i.item_price for i in order.items), Decimal(0))
        off = sum((i.promotion_discount for i in order.items), Decimal(0))
        breakdowns = [{"type": "ITEM", "subtotal": _money(order.currency, price)}]
        if off:
            breakdowns.append({"type": "DISCOUNT", "subtotal": _money(order.currency, -off)})
        view["proceeds"] = {
            "grandTotal": _money(order.currency, order.total),
            "breakdowns": breakdowns,
        }
    if "FULFILLMENT" in wanted:
        view["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS[order.status],
            "fulfilledBy": FULFILLED_BY[order.channel],
            "fulfillmentServiceLevel": "STANDARD",
            "shipByWindow": {
                "earliestDateTime": iso(order.purchase_date),
                "latestDateTime": iso(order.latest_ship_date),
            },
        }
    view["orderItems"] = [item_view(order, item, wanted) for item in order.items]
    return view


def search_orders(account: Account, args: Mapping[str, list[str]]) -> dict[str, Any]:
    wanted = included(args)
    token = (args.get("paginationToken") or [None])[0]
    if token:
        query, cursor = OrdersQuery.from_token(account.page_tokens(), token, "paginationToken")
        if args.get("maxResultsPerPage"):  # the one filter the model lets a page change
            query = replace(query, max_results=page_size(args, "maxResultsPerPage"))
    else:
        query, cursor = parse_query(account, args), None
    page, next_token = query.read(account, cursor)
    body: dict[str, Any] = {"orders": [order_view(o, wanted) for o in page]}
    if next_token is not None:
        body["pagination"] = {"nextToken": next_token}
    body["lastUpdatedBefore" if query.by_update else "createdBefore"] = iso(query.as_of)
    return body


def get_order(account: Account, order_id: str, args: Mapping[str, list[str]]) -> dict[str, Any]:
    wanted = included(args)
    process_due(account)
    with account.store.read() as tx:
        return {"order": order_view(find_order(OrderTables(tx), order_id), wanted)}
