"""Units sold but not shipped yet: one definition for stock allocation and the guardrails.

A merchant-fulfilled (MFN) order line owes its buyer `quantity - quantity_shipped` units
until the order ships or is cancelled. Those units are still on the warehouse shelf, so the
stock file counts them as on hand, yet they are sold: stock allocation reserves them
(engine.desired.stock) and the `open_orders` guardrail counts them against on hand with
the quantities a plan advertises.

The statuses that owe units: Unshipped and PartiallyShipped (paid), and Pending and
PendingAvailability (placed, payment not authorised yet; the latter a pre-order). Pending
orders count because Amazon takes an order's units off the listing's quantity when it is
placed, and most are paid within minutes: leaving them out would advertise the same units
again. One whose payment fails turns Canceled and drops out at the next pull. Shipped,
InvoiceUnconfirmed (shipped too), Canceled and Unfulfillable orders owe nothing from the
warehouse, and FBA (AFN) orders ship from Amazon's stock.

The figures are as of each marketplace's last `sync orders pull`. A marketplace never pulled
is unknown, never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa

from engine.config.model import Config
from engine.core.orders import OPEN_STATUSES, Order
from engine.desired.stock import Reservation
from engine.state import orders as order_store
from engine.state.db import StateDB
from engine.state.orders import OrderFilter

UNSHIPPED_STATUSES = ("Pending", "PendingAvailability", *OPEN_STATUSES)


def unshipped_lines(orders: Iterable[Order]) -> Iterator[tuple[Order, str, int]]:
    """(order, SKU, units still to ship) for every MFN order line that owes units."""
    for order in orders:
        if order.channel != "MFN" or order.status not in UNSHIPPED_STATUSES:
            continue
        for item in order.items:
            left = item.quantity - item.quantity_shipped
            if left > 0:
                yield order, item.sku, left


def unshipped_units(orders: Iterable[Order]) -> dict[tuple[str, str], int]:
    """(marketplace, SKU) -> units still to ship: the guardrails' open order units."""
    units: dict[tuple[str, str], int] = {}
    for order, sku, left in unshipped_lines(orders):
        key = (order.marketplace, sku)
        units[key] = units.get(key, 0) + left
    return units


def read_reservation(
    conn: sa.Connection, seller_id: str, marketplaces: Sequence[str]
) -> Reservation | None:
    """The units to reserve per SKU from the stored orders of `marketplaces` (pass every
    enabled one: a SKU's stock is shared by all of them), or None when none of them was
    ever pulled. Only unshipped MFN orders are read."""
    pulled = {}
    for code in marketplaces:
        until = order_store.checkpoint(conn, seller_id, code)
        if until is not None:
            pulled[code] = until
    if not pulled:
        return None
    units: dict[str, int] = {}
    order_ids: dict[str, list[str]] = {}
    for code in pulled:
        wanted = OrderFilter(code, channel="MFN", statuses=UNSHIPPED_STATUSES)
        found = order_store.find(conn, seller_id, wanted)
        for order, sku, left in unshipped_lines(s.order for s in found):
            units[sku] = units.get(sku, 0) + left
            ids = order_ids.setdefault(sku, [])
            if not ids or ids[-1] != order.amazon_order_id:  # lines of one order are adjacent
                ids.append(order.amazon_order_id)
    return Reservation(
        units,
        {sku: tuple(ids) for sku, ids in order_ids.items()},
        pulled,
        tuple(code for code in marketplaces if code not in pulled),
    )


def stored_reservation(db: StateDB, config: Config) -> Reservation | None:
    """`read_reservation` over every marketplace the config enables, for commands that
    render outside `build_plan` (`sync explain`, inventory deviation)."""
    with db.read() as conn:
        return read_reservation(conn, config.project.seller_id, list(config.marketplaces))
