"""What exposure caps are sized from, read from the state store (engine.desired.exposure).

A listing's sales over the last HISTORY_DAYS days come from two stores that overlap: the
order lines the watchdog saw (engine.state.watched_orders, kept a week) and the orders
`sync orders pull` stored (engine.state.orders). Both key a line by its order item id, so
a line in both counts once; a cancelled order counts nothing. With neither the watchdog nor
a pull run, nothing is known and every cap sits at its floor.

The watch pass refills between pulls, so what it reserves for unshipped orders adds the
lines the watchdog saw after each marketplace's last pull (all it saw, where none was ever
pulled) to what the pull stored: a refill must not advertise units just sold again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.config.model import Config
from engine.desired.exposure import (
    HISTORY_DAYS,
    Key,
    RefillHold,
    SalesHistory,
    uses_exposure,
)
from engine.desired.stock import Reservation
from engine.ops.unshipped import read_reservation
from engine.state import orders as order_store
from engine.state import refill_holds, watched_orders
from engine.state.db import StateDB
from engine.state.orders import OrderFilter

CANCELED = "Canceled"


def sold_units(
    conn: sa.Connection,
    seller_id: str,
    marketplaces: Sequence[str],
    since: datetime,
    until: datetime,
) -> dict[Key, int]:
    """Units sold per listing in orders purchased in [since, until), each order line once."""
    lines: dict[str, tuple[Key, int]] = {}
    for code in marketplaces:
        for stored in order_store.find(
            conn, seller_id, OrderFilter(code, purchased_from=since, purchased_to=until)
        ):
            order = stored.order
            for item in order.items:
                units = 0 if order.status == CANCELED else item.quantity
                lines[item.order_item_id] = ((code, item.sku), units)
        for line in watched_orders.order_lines(conn, seller_id, code, since, until):
            lines.setdefault(line.order_item_id, ((code, line.sku), line.units))
    units: dict[Key, int] = {}
    for key, count in lines.values():
        units[key] = units.get(key, 0) + count
    return units


def read_history(
    conn: sa.Connection, seller_id: str, marketplaces: Sequence[str], now: datetime
) -> SalesHistory:
    """The sales of the last HISTORY_DAYS days before `now` and the refill holds."""
    since = now - timedelta(days=HISTORY_DAYS)
    holds = {
        (h.marketplace, h.sku): RefillHold(h.marketplace, h.sku, h.since, h.reason)
        for h in refill_holds.holds(conn, seller_id)
    }
    return SalesHistory(sold_units(conn, seller_id, marketplaces, since, now), HISTORY_DAYS, holds)


def stored_history(db: StateDB, config: Config, now: datetime) -> SalesHistory | None:
    """`read_history` over every enabled marketplace, or None when no listing is capped."""
    if not uses_exposure(config):
        return None
    with db.read() as conn:
        return read_history(conn, config.project.seller_id, list(config.marketplaces), now)


def refill_reservation(
    conn: sa.Connection, seller_id: str, marketplaces: Sequence[str], now: datetime
) -> Reservation:
    """The units a watch-pass refill reserves: the pulled unshipped orders, plus every line
    the watchdog saw after the marketplace's last pull (see the module docstring)."""
    pulled = read_reservation(conn, seller_id, marketplaces)
    units = dict(pulled.units) if pulled else {}
    order_ids = {sku: list(ids) for sku, ids in (pulled.order_ids if pulled else {}).items()}
    history_start = now - timedelta(days=HISTORY_DAYS)
    for code in marketplaces:
        since = pulled.pulled_until.get(code) if pulled else None
        for line in watched_orders.order_lines(conn, seller_id, code, since or history_start, now):
            if line.units > 0:
                units[line.sku] = units.get(line.sku, 0) + line.units
                order_ids.setdefault(line.sku, []).append(line.amazon_order_id)
    return Reservation(
        units,
        {sku: tuple(dict.fromkeys(ids)) for sku, ids in order_ids.items()},
        pulled.pulled_until if pulled else {},
        pulled.not_pulled if pulled else tuple(marketplaces),
    )
