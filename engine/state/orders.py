"""The order store: every order `sync orders pull` read, with its items, per seller account.

Upserts are idempotent and never go backwards: an order read again with the same or an older
LastUpdateDate (the pull's overlap window reads some orders twice, and pages of concurrent
runs may interleave) leaves the stored one alone. The order read has no ship time (Orders
2026-01-01 has one per package, for MFN orders, with includedData PACKAGES, which the pull
does not ask for), so the first pull that sees an order Shipped records that order's
LastUpdateDate as `shipped_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from engine.core.orders import Order, OrderItem
from engine.state.tables import order_checkpoints, order_items, orders, upsert

Upserted = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order as stored: the order, and when it was first seen Shipped."""

    order: Order
    shipped_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """`sync orders list` filters; None means any. Dates bound the purchase date [from, to).
    `statuses` keeps orders in any of those statuses (stock allocation's unshipped ones)."""

    marketplace: str | None = None
    status: str | None = None
    sku: str | None = None
    promotion_id: str | None = None
    purchased_from: datetime | None = None
    purchased_to: datetime | None = None
    channel: str | None = None
    statuses: tuple[str, ...] | None = None


_ORDER_COLUMNS = (
    "amazon_order_id",
    "marketplace",
    "status",
    "channel",
    "currency",
    "purchase_date",
    "last_update",
    "latest_ship_date",
    "ship_country",
    "order_total",
)
_ITEM_COLUMNS = (
    "order_item_id",
    "sku",
    "asin",
    "quantity",
    "quantity_shipped",
    "item_price",
    "promotion_discount",
    "promotion_ids",
    "buyer_requested_cancel",
    "buyer_cancel_reason",
)


def save(conn: sa.Connection, seller_id: str, order: Order) -> Upserted:
    """Store the order and its items unless the stored copy is as new or newer."""
    stored = conn.execute(
        sa.select(orders.c.last_update, orders.c.shipped_at).where(
            orders.c.seller_id == seller_id, orders.c.amazon_order_id == order.amazon_order_id
        )
    ).one_or_none()
    if stored is not None and stored.last_update >= order.last_update:
        return "unchanged"
    shipped_at = stored.shipped_at if stored is not None else None
    if shipped_at is None and order.status == "Shipped":
        shipped_at = order.last_update
    values = {name: getattr(order, name) for name in _ORDER_COLUMNS[1:]}
    key = {"seller_id": seller_id, "amazon_order_id": order.amazon_order_id}
    upsert(conn, orders, key, **values, shipped_at=shipped_at)
    for position, item in enumerate(order.items):
        upsert(
            conn,
            order_items,
            {"seller_id": seller_id, "order_item_id": item.order_item_id},
            amazon_order_id=order.amazon_order_id,
            position=position,
            **{name: getattr(item, name) for name in _ITEM_COLUMNS[1:]},
        )
    return "new" if stored is None else "updated"


def find(
    conn: sa.Connection, seller_id: str, where: OrderFilter = OrderFilter()
) -> list[StoredOrder]:
    """Stored orders matching the filter, oldest purchase first, with their items."""
    query = sa.select(*(orders.c[name] for name in _ORDER_COLUMNS), orders.c.shipped_at).where(
        orders.c.seller_id == seller_id
    )
    for column, value in (
        (orders.c.marketplace, where.marketplace),
        (orders.c.status, where.status),
        (orders.c.channel, where.channel),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.statuses is not None:
        query = query.where(orders.c.status.in_(where.statuses))
    if where.purchased_from is not None:
        query = query.where(orders.c.purchase_date >= where.purchased_from)
    if where.purchased_to is not None:
        query = query.where(orders.c.purchase_date < where.purchased_to)
    if where.sku is not None:
        query = query.where(orders.c.amazon_order_id.in_(_orders_with(seller_id, sku=where.sku)))
    rows = conn.execute(query.order_by(orders.c.purchase_date, orders.c.amazon_order_id)).all()
    items = _items(conn, seller_id, [r.amazon_order_id for r in rows])
    found = [
        StoredOrder(
            Order(**{name: getattr(r, name) for name in _ORDER_COLUMNS}).with_items(
                items.get(r.amazon_order_id, ())
            ),
            r.shipped_at,
        )
        for r in rows
    ]
    if where.promotion_id is not None:  # a JSON list: filtered here, alike on both dialects
        found = [s for s in found if where.promotion_id in s.order.promotion_ids]
    return found


def _orders_with(seller_id: str, *, sku: str) -> sa.Select[Any]:
    return sa.select(order_items.c.amazon_order_id).where(
        order_items.c.seller_id == seller_id, order_items.c.sku == sku
    )


def _items(
    conn: sa.Connection, seller_id: str, order_ids: Sequence[str]
) -> dict[str, list[OrderItem]]:
    result: dict[str, list[OrderItem]] = {}
    for start in range(0, len(order_ids), 500):  # bound-parameter limits
        chunk = order_ids[start : start + 500]
        rows = conn.execute(
            sa.select(order_items.c.amazon_order_id, *(order_items.c[n] for n in _ITEM_COLUMNS))
            .where(order_items.c.seller_id == seller_id, order_items.c.amazon_order_id.in_(chunk))
            .order_by(order_items.c.amazon_order_id, order_items.c.position)
        )
        for r in rows:
            values = {name: getattr(r, name) for name in _ITEM_COLUMNS}
            values["promotion_ids"] = tuple(values["promotion_ids"])
            result.setdefault(r.amazon_order_id, []).append(OrderItem(**values))
    return result


def checkpoint(conn: sa.Connection, seller_id: str, marketplace: str) -> datetime | None:
    """Up to when the marketplace's orders were completely pulled, if ever."""
    return conn.execute(
        sa.select(order_checkpoints.c.pulled_until).where(
            order_checkpoints.c.seller_id == seller_id,
            order_checkpoints.c.marketplace == marketplace,
        )
    ).scalar_one_or_none()


def set_checkpoint(conn: sa.Connection, seller_id: str, marketplace: str, until: datetime) -> None:
    """Move the checkpoint forward to `until` (never back)."""
    current = checkpoint(conn, seller_id, marketplace)
    if current is None or until > current:
        upsert(
            conn,
            order_checkpoints,
            {"seller_id": seller_id, "marketplace": marketplace},
            pulled_until=until,
        )
