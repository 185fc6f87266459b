"""Orders v0 over the sandbox's orders: getOrders, getOrder, getOrderItems, and stock.

Amazon's behaviours reproduced (ordersV0.json and its parameter notes):
- getOrders needs exactly one of CreatedAfter / LastUpdatedAfter; CreatedBefore goes only
  with CreatedAfter and LastUpdatedBefore only with LastUpdatedAfter, each no later than two
  minutes before now; MaxResultsPerPage is 1-100 (default 100).
- A NextToken carries the whole query (a client may send it alone) plus the moment the first
  page was read: later pages never include orders created or updated after that moment, so
  paging is stable while orders keep arriving. The payload says up to when the listing is
  complete (`CreatedBefore` / `LastUpdatedBefore`): the next poll starts there.
- A Pending order has no OrderTotal and no shipping address, and its items carry no prices
  or promotions (payment not yet authorised).
- Planned lifecycle events (see `lifecycle`) are applied before every read, like queued
  listing writes: an order shipped at 03:00 virtual time reads as Shipped from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.core.marketplaces import BY_ID
from engine.sandbox import lifecycle, listings, pagetoken
from engine.sandbox.account import (
    Account,
    ApiError,
    csv_values,
    invalid_input,
    size_arg,
    time_arg,
)
from engine.sandbox.lifecycle import Order, OrderItem
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.store import Tx, from_micros, to_micros

MAX_RESULTS = 100
# Amazon: a *Before bound must be at least two minutes before the current time.
BEFORE_MARGIN = timedelta(minutes=2)
ORDER_STATUSES = (*lifecycle.STATUSES, "InvoiceUnconfirmed", "PendingAvailability")
_ORDER_ID_DIGITS = (3, 7, 7)


def iso(value: datetime) -> str:
    """Orders v0 timestamps: ISO 8601 UTC to the second, e.g. 2026-11-22T12:00:00Z."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def valid_order_id(order_id: str) -> bool:
    parts = order_id.split("-")
    return [len(p) for p in parts] == list(_ORDER_ID_DIGITS) and all(p.isdigit() for p in parts)


def not_found(order_id: str) -> ApiError:
    return ApiError(404, "NotFound", f"Order '{order_id}' was not found.")


def find_order(tables: OrderTables, order_id: str) -> Order:
    """The order, or 400 for a malformed id and 404 for an unknown one."""
    if not valid_order_id(order_id):
        raise invalid_input(f"Invalid order identifier '{order_id}': expected 3-7-7 digits.")
    order = tables.order(order_id)
    if order is None:
        raise not_found(order_id)
    return order


def change_stock(tx: Tx, seller_id: str, order: Order, sign: int, now: datetime) -> None:
    """Take an order's units out of stock (sign -1) or put them back (+1, on cancellation):
    MFN quantity lives in the listing attributes, FBA quantity is Amazon's."""
    for item in order.items:
        listing = tx.listing(seller_id, item.sku, order.marketplace_id)
        if listing is None:
            continue  # the listing was deleted since; there is no stock to adjust
        delta = sign * item.quantity
        if order.channel == "AFN":
            quantity = max(0, (listing.fba_quantity or 0) + delta)
            tx.save_listing(replace(listing, fba_quantity=quantity, updated_at=now))
            continue
        quantity = max(0, (listings.mfn_quantity(listing.attributes) or 0) + delta)
        attrs = listings.with_mfn_quantity(listing.attributes, quantity)
        tx.save_listing(replace(listing, attributes=attrs, updated_at=now))


def process_due(account: Account) -> int:
    """Apply every planned order event up to now; returns how many orders changed."""
    now = account.clock.now()
    with account.store.read() as tx:
        if not OrderTables(tx).has_due(now):
            return 0
    with account.store.write() as tx:
        tables = OrderTables(tx)
        due = tables.due(now)
        for order in due:
            tables.save_order(lifecycle.advance(order, now))
    return len(due)


def _money(currency: str, amount: Any) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": f"{amount:f}"}


def order_view(order: Order) -> dict[str, Any]:
    """An Order of the v0 model."""
    mkt = BY_ID[order.marketplace_id]
    shipped = order.units if order.status == lifecycle.SHIPPED else 0
    open_units = order.units if order.status in (lifecycle.PENDING, lifecycle.UNSHIPPED) else 0
    view: dict[str, Any] = {
        "AmazonOrderId": order.amazon_order_id,
        "PurchaseDate": iso(order.purchase_date),
        "LastUpdateDate": iso(order.updated),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.channel,
        "SalesChannel": "Amazon." + mkt.domain.removeprefix("amazon."),
        "ShipServiceLevel": "Std " + mkt.country + " Dom",
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": open_units,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(order.purchase_date),
        "LatestShipDate": iso(order.latest_ship_date),
        "IsBusinessOrder": False,
        "IsPrime": order.channel == "AFN",
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
    }
    if order.status != lifecycle.PENDING:
        view["OrderTotal"] = _money(order.currency, order.total)
        view["ShippingAddress"] = {"City": order.ship_city, "CountryCode": order.ship_country}
    return view


def item_view(order: Order, item: OrderItem) -> dict[str, Any]:
    """An OrderItem of the v0 model."""
    view: dict[str, Any] = {
        "ASIN": item.asin,
        "SellerSKU": item.sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.quantity if order.status == lifecycle.SHIPPED else 0,
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsGift": "false",
        "BuyerRequestedCancel": {
            "IsBuyerRequestedCancel": "true" if order.buyer_requested_cancel else "false"
        },
    }
    if order.buyer_requested_cancel and order.fate.buyer_cancel_reason:
        view["BuyerRequestedCancel"]["BuyerCancelReason"] = order.fate.buyer_cancel_reason
    if order.status != lifecycle.PENDING:
        view["ItemPrice"] = _money(order.currency, item.item_price)
        view["PromotionDiscount"] = _money(order.currency, item.promotion_discount)
        if item.promotion_ids:
            view["PromotionIds"] = list(item.promotion_ids)
    return view


# The query parameter names of a window: (created after, created before, updated after,
# updated before) in v0 and in 2026-01-01.
V0_NAMES = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")
V2026_NAMES = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")


def window_args(
    args: Mapping[str, list[str]], now: datetime, names: tuple[str, str, str, str]
) -> tuple[bool, datetime, datetime | None]:
    """(by update, after, before) of an order listing: exactly one of created / last
    updated after, a *before only with its own *after, at or after it and at least two
    minutes before now (the same rules in v0 and 2026-01-01)."""
    c_after, c_before, u_after, u_before = names
    created_after, updated_after = time_arg(args, c_after), time_arg(args, u_after)
    if (created_after is None) == (updated_after is None):
        raise invalid_input(f"Exactly one of '{c_after}' or '{u_after}' is required.")
    # The *after given, its own *before, and the *before that must not come with it.
    a_name, b_name, other = (
        (u_after, u_before, c_before)
        if updated_after is not None
        else (c_after, c_before, u_before)
    )
    if time_arg(args, other) is not None:
        raise invalid_input(f"'{other}' cannot be used with '{a_name}'.")
    after = updated_after or created_after
    assert after is not None  # one of the two, checked above
    before = time_arg(args, b_name)
    if after > now:
        raise invalid_input(f"'{a_name}' must not be in the future.")
    if before is not None and not after <= before <= now - BEFORE_MARGIN:
        raise invalid_input(
            f"'{b_name}' must be at or after '{a_name}' and at least two minutes "
            "before the current time."
        )
    return updated_after is not None, after, before


def page_size(args: Mapping[str, list[str]], name: str) -> int:
    """An orders page size: 1 to MAX_RESULTS, MAX_RESULTS when absent."""
    return size_arg(args, name, MAX_RESULTS, MAX_RESULTS)


@dataclass(frozen=True, slots=True)
class OrdersQuery:
    """A getOrders query: the filters, and the moment its listing is complete (`as_of`)."""

    marketplace_ids: tuple[str, ...]
    by_update: bool  # LastUpdatedAfter (True) or CreatedAfter (False)
    after: datetime
    as_of: datetime
    statuses: tuple[str, ...]
    channels: tuple[str, ...]
    max_results: int

    @classmethod
    def parse(cls, account: Account, args: Mapping[str, list[str]], now: datetime) -> OrdersQuery:
        by_update, after, before = window_args(args, now, V0_NAMES)
        ids = csv_values(args.get("MarketplaceIds", []))
        if not ids:
            raise invalid_input("Missing required parameter 'MarketplaceIds'.")
        statuses = tuple(csv_values(args.get("OrderStatuses", [])))
        unknown = [s for s in statuses if s not in ORDER_STATUSES]
        if unknown:
            raise invalid_input(f"Invalid 'OrderStatuses' value(s): {', '.join(unknown)}.")
        channels = tuple(csv_values(args.get("FulfillmentChannels", [])))
        if not set(channels) <= set(lifecycle.CHANNELS):
            raise invalid_input("'FulfillmentChannels' takes AFN and MFN.")
        return cls(
            marketplace_ids=tuple(m.marketplace_id for m in account.marketplaces(ids)),
            by_update=by_update,
            after=after,
            as_of=before or now,
            statuses=statuses,
            channels=channels,
            max_results=page_size(args, "MaxResultsPerPage"),
        )

    # -- NextToken: the query and the position after the last order served ---------------
    def token(self, tokens: pagetoken.Codec, last: Order) -> str:
        """A NextToken (v0) or nextToken (2026-01-01): opaque to the client."""
        key = last.updated if self.by_update else last.purchase_date
        data = {
            "m": self.marketplace_ids,
            "u": self.by_update,
            "a": to_micros(self.after),
            "o": to_micros(self.as_of),
            "s": self.statuses,
            "c": self.channels,
            "n": self.max_results,
            "k": [to_micros(key), last.amazon_order_id],
        }
        return tokens.encode(data)

    @classmethod
    def from_token(
        cls, tokens: pagetoken.Codec, token: str, name: str = "NextToken"
    ) -> tuple[OrdersQuery, tuple[int, str]]:
        try:
            data = tokens.decode(token)
            query = cls(
                marketplace_ids=tuple(str(m) for m in data["m"]),
                by_update=bool(data["u"]),
                after=from_micros(int(data["a"])),
                as_of=from_micros(int(data["o"])),
                statuses=tuple(str(s) for s in data["s"]),
                channels=tuple(str(c) for c in data["c"]),
                max_results=int(data["n"]),
            )
            cursor = (int(data["k"][0]), str(data["k"][1]))
        except pagetoken.TokenError as err:
            raise invalid_input(pagetoken.problem(name, err)) from None
        except (ValueError, KeyError, TypeError, IndexError):
            raise invalid_input(f"Invalid '{name}'.") from None
        return query, cursor

    def read(
        self, account: Account, cursor: tuple[int, str] | None
    ) -> tuple[list[Order], str | None]:
        """One page of orders after the cursor (due events applied first) and the token of
        the next page, None on the last."""
        process_due(account)
        with account.store.read() as tx:
            found = self.page(OrderTables(tx), cursor)
        page = found[: self.max_results]
        more = len(found) > self.max_results
        return page, self.token(account.page_tokens(), page[-1]) if more else None

    def page(self, tables: OrderTables, cursor: tuple[int, str] | None) -> list[Order]:
        """Up to max_results + 1 matching orders after the cursor (one more tells whether
        another page follows)."""
        column = "last_update" if self.by_update else "purchase_date"
        where = [
            f"marketplace_id IN ({','.join('?' * len(self.marketplace_ids))})",
            f"{column} >= ?",
            f"{column} <= ?",
        ]
        args: list[Any] = [*self.marketplace_ids, to_micros(self.after), to_micros(self.as_of)]
        if self.statuses:
            where.append(f"status IN ({','.join('?' * len(self.statuses))})")
            args.extend(self.statuses)
        if self.channels:
            where.append(f"channel IN ({','.join('?' * len(self.channels))})")
            args.extend(self.channels)
        if cursor is not None:
            where.append(f"({column}, amazon_order_id) > (?, ?)")
            args.extend(cursor)
        return tables.select(
            " AND ".join(where),
            args,
            f"ORDER BY {column}, amazon_order_id LIMIT {self.max_results + 1}",
        )


def get_orders(account: Account, args: Mapping[str, list[str]]) -> dict[str, Any]:
    token = (args.get("NextToken") or [None])[0]
    if token:
        query, cursor = OrdersQuery.from_token(account.page_tokens(), token)
    else:
        query, cursor = OrdersQuery.parse(account, args, account.clock.now()), None
    page, next_token = query.read(account, cursor)
    payload: dict[str, Any] = {"Orders": [order_view(o) for o in page]}
    if next_token is not None:
        payload["NextToken"] = next_token
    payload["LastUpdatedBefore" if query.by_update else "CreatedBefore"] = iso(query.as_of)
    return {"payload": payload}


def get_order(account: Account, order_id: str) -> dict[str, Any]:
    process_due(account)
    with account.store.read() as tx:
        return {"payload": order_view(find_order(OrderTables(tx), order_id))}


def get_order_address(account: Account, order_id: str) -> dict[str, Any]:
    """getOrderAddress (restricted: engine.sandbox.tokens): the ship-to address the sandbox
    holds (city and country) once the order is paid; a Pending order has none yet."""
    process_due(account)
    with account.store.read() as tx:
        order = find_order(OrderTables(tx), order_id)
    payload: dict[str, Any] = {"AmazonOrderId": order.amazon_order_id}
    if order.status != lifecycle.PENDING:
        payload["ShippingAddress"] = {"City": order.ship_city, "CountryCode": order.ship_country}
    return {"payload": payload}


def get_order_buyer_info(account: Account, order_id: str) -> dict[str, Any]:
    """getOrderBuyerInfo (restricted): the sandbox keeps no buyer name, e-mail or tax data,
    so only the order id (the one required field of OrderBuyerInfo)."""
    process_due(account)
    with account.store.read() as tx:
        order = find_order(OrderTables(tx), order_id)
    return {"payload": {"AmazonOrderId": order.amazon_order_id}}


def get_order_items(account: Account, order_id: str) -> dict[str, Any]:
    process_due(account)
    with account.store.read() as tx:
        order = find_order(OrderTables(tx), order_id)
    return {
        "payload": {
            "AmazonOrderId": order.amazon_order_id,
            "OrderItems": [item_view(order, item) for item in order.items],
        }
    }
