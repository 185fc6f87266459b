"""Reading and writing orders, promotions and buyer messages inside a store transaction.

`OrderTables(tx)` works on the connection of one `Store.read()` / `Store.write()`
transaction, so an order, its stock decrement and its promotion redemption commit together.
Tables: `orderschema`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.core import jsonio
from engine.sandbox import orderschema
from engine.sandbox.lifecycle import Fate, Order, OrderItem
from engine.sandbox.promotions import Promotion
from engine.sandbox.store import Tx, from_micros, to_micros

_ORDER_COLUMNS = (
    "amazon_order_id, seller_id, marketplace_id, channel, status, currency, purchase_date, "
    "last_update, latest_ship_date, ship_country, ship_city, paid_at, ship_at, valid_tracking, "
    "cancel_request_at, buyer_cancel_reason, defect, defect_at, buyer_requested_cancel, "
    "shipped_at, canceled_at, canceled_by, cancel_reason, next_event_at"
)
_ITEM_COLUMNS = (
    "order_item_id, amazon_order_id, position, sku, asin, title, quantity, item_price, "
    "promotion_discount, promotion_ids"
)
_PROMOTION_COLUMNS = (
    "promotion_id, kind, code, discount_pct, sku_pattern, marketplace_id, starts_at, ends_at, "
    "max_redemptions, redemptions, created_at"
)


@dataclass(frozen=True, slots=True)
class BuyerMessage:
    amazon_order_id: str
    marketplace_id: str
    kind: str
    text: str
    sent_at: datetime


def _micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


def _time(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def _order_values(order: Order) -> tuple[Any, ...]:
    fate = order.fate
    event = order.next_event()
    return (
        order.amazon_order_id,
        order.seller_id,
        order.marketplace_id,
        order.channel,
        order.status,
        order.currency,
        to_micros(order.purchase_date),
        to_micros(order.updated),
        to_micros(order.latest_ship_date),
        order.ship_country,
        order.ship_city,
        to_micros(fate.paid_at),
        to_micros(fate.ship_at),
        int(fate.valid_tracking),
        _micros(fate.cancel_request_at),
        fate.buyer_cancel_reason,
        fate.defect,
        _micros(fate.defect_at),
        int(order.buyer_requested_cancel),
        _micros(order.shipped_at),
        _micros(order.canceled_at),
        order.canceled_by,
        order.cancel_reason,
        None if event is None else to_micros(event[0]),
    )


def _order(row: Sequence[Any], items: tuple[OrderItem, ...]) -> Order:
    return Order(
        amazon_order_id=row[0],
        seller_id=row[1],
        marketplace_id=row[2],
        channel=row[3],
        status=row[4],
        currency=row[5],
        purchase_date=from_micros(row[6]),
        last_update=from_micros(row[7]),
        latest_ship_date=from_micros(row[8]),
        ship_country=row[9],
        ship_city=row[10],
        fate=Fate(
            paid_at=from_micros(row[11]),
            ship_at=from_micros(row[12]),
            valid_tracking=bool(row[13]),
            cancel_request_at=_time(row[14]),
            buyer_cancel_reason=row[15],
            defect=row[16],
            defect_at=_time(row[17]),
        ),
        items=items,
        buyer_requested_cancel=bool(row[18]),
        shipped_at=_time(row[19]),
        canceled_at=_time(row[20]),
        canceled_by=row[21],
        cancel_reason=row[22],
    )


def _promotion(row: Sequence[Any]) -> Promotion:
    return Promotion(
        promotion_id=row[0],
        kind=row[1],
        code=row[2],
        discount_pct=Decimal(row[3]),
        sku_pattern=row[4],
        marketplace_id=row[5],
        starts_at=from_micros(row[6]),
        ends_at=from_micros(row[7]),
        max_redemptions=row[8],
        redemptions=row[9],
        created_at=from_micros(row[10]),
    )


class OrderTables:
    """Orders, order items, promotions and buyer messages of one transaction."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._c: sqlite3.Connection = tx.connection

    # -- orders -----------------------------------------------------------------------------
    def next_serial(self) -> int:
        """The next number of the account's order and item ids (0, 1, ...), kept in the store
        so every run continues where the last one stopped; reset starts again at 0."""
        serial = int(self._tx.meta(orderschema.SERIAL) or 0)
        self._tx.set_meta(orderschema.SERIAL, str(serial + 1))
        return serial

    def add_order(self, order: Order) -> None:
        self._c.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({','.join('?' * 24)})",
            _order_values(order),
        )
        self._c.executemany(
            f"INSERT INTO order_items ({_ITEM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    item.order_item_id,
                    order.amazon_order_id,
                    position,
                    item.sku,
                    item.asin,
                    item.title,
                    item.quantity,
                    f"{item.item_price:f}",
                    f"{item.promotion_discount:f}",
                    jsonio.dumps(list(item.promotion_ids)),
                )
                for position, item in enumerate(order.items)
            ],
        )

    def save_order(self, order: Order) -> None:
        """Store an existing order's new state (items never change)."""
        self._c.execute(
            f"REPLACE INTO orders ({_ORDER_COLUMNS}) VALUES ({','.join('?' * 24)})",
            _order_values(order),
        )

    def select(self, where: str, args: Sequence[Any], tail: str = "") -> list[Order]:
        """Orders matching an SQL condition on the orders table, with their items."""
        rows = self._c.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE {where} {tail}", tuple(args)
        ).fetchall()
        items = self._items([r[0] for r in rows])
        return [_order(r, items.get(r[0], ())) for r in rows]

    def _items(self, order_ids: list[str]) -> dict[str, tuple[OrderItem, ...]]:
        result: dict[str, list[OrderItem]] = {}
        for start in range(0, len(order_ids), 500):  # SQLite's bound-parameter limit
            chunk = order_ids[start : start + 500]
            rows = self._c.execute(
                f"SELECT {_ITEM_COLUMNS} FROM order_items WHERE amazon_order_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY amazon_order_id, position",
                chunk,
            )
            for r in rows:
                result.setdefault(r[1], []).append(
                    OrderItem(
                        order_item_id=r[0],
                        sku=r[3],
                        asin=r[4],
                        title=r[5],
                        quantity=r[6],
                        item_price=Decimal(r[7]),
                        promotion_discount=Decimal(r[8]),
                        promotion_ids=tuple(jsonio.loads(r[9])),
                    )
                )
        return {k: tuple(v) for k, v in result.items()}

    def order(self, amazon_order_id: str) -> Order | None:
        found = self.select("amazon_order_id = ?", (amazon_order_id,))
        return found[0] if found else None

    def due(self, now: datetime) -> list[Order]:
        """Orders with a planned event at or before `now`."""
        return self.select(
            "next_event_at IS NOT NULL AND next_event_at <= ?", (to_micros(now),), "ORDER BY 1"
        )

    def has_due(self, now: datetime) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM orders WHERE next_event_at <= ? LIMIT 1", (to_micros(now),)
        ).fetchone()
        return row is not None

    def placed(self, marketplace_ids: Iterable[str], since: datetime) -> list[Order]:
        ids = list(marketplace_ids)
        return self.select(
            f"marketplace_id IN ({','.join('?' * len(ids))}) AND purchase_date >= ?",
            (*ids, to_micros(since)),
            "ORDER BY purchase_date, amazon_order_id",
        )

    # -- promotions -------------------------------------------------------------------------
    def add_promotion(self, promotion: Promotion) -> None:
        try:
            self._c.execute(
                f"INSERT INTO promotions ({_PROMOTION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    promotion.promotion_id,
                    promotion.kind,
                    promotion.code,
                    f"{promotion.discount_pct:f}",
                    promotion.sku_pattern,
                    promotion.marketplace_id,
                    to_micros(promotion.starts_at),
                    to_micros(promotion.ends_at),
                    promotion.max_redemptions,
                    promotion.redemptions,
                    to_micros(promotion.created_at),
                ),
            )
        except sqlite3.IntegrityError:
            raise KeyError(promotion.promotion_id) from None

    def promotions(self) -> list[Promotion]:
        rows = self._c.execute(
            f"SELECT {_PROMOTION_COLUMNS} FROM promotions ORDER BY starts_at, promotion_id"
        )
        return [_promotion(r) for r in rows]

    def promotion(self, promotion_id: str) -> Promotion | None:
        row = self._c.execute(
            f"SELECT {_PROMOTION_COLUMNS} FROM promotions WHERE promotion_id = ?",
            (promotion_id,),
        ).fetchone()
        return None if row is None else _promotion(row)

    def redeem(self, promotion_id: str) -> None:
        self._c.execute(
            "UPDATE promotions SET redemptions = redemptions + 1 WHERE promotion_id = ?",
            (promotion_id,),
        )

    def end_promotion(self, promotion_id: str, at: datetime) -> None:
        self._c.execute(
            "UPDATE promotions SET ends_at = MIN(ends_at, ?) WHERE promotion_id = ?",
            (to_micros(at), promotion_id),
        )

    # -- buyer messages ---------------------------------------------------------------------
    def add_message(self, message: BuyerMessage) -> None:
        self._c.execute(
            "INSERT INTO buyer_messages (amazon_order_id, marketplace_id, kind, text, sent_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                message.amazon_order_id,
                message.marketplace_id,
                message.kind,
                message.text,
                to_micros(message.sent_at),
            ),
        )

    def messages(self, amazon_order_id: str | None = None) -> list[BuyerMessage]:
        where, args = ("amazon_order_id = ?", (amazon_order_id,)) if amazon_order_id else ("1", ())
        rows = self._c.execute(
            "SELECT amazon_order_id, marketplace_id, kind, text, sent_at FROM buyer_messages "
            f"WHERE {where} ORDER BY id",
            args,
        )
        return [BuyerMessage(r[0], r[1], r[2], r[3], from_micros(r[4])) for r in rows]
