"""How far the watchdog has read each marketplace's orders, and what it has seen.

The checkpoint is the order time up to which a marketplace was checked; the next run starts
there. The units of every order line the watchdog has seen make up each SKU's sales history,
the baseline its velocity rule compares against. Handled notification keys make a message
that SQS delivers twice count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.state.tables import upsert, watch_checkpoints, watch_notifications, watch_order_units


def checkpoint(conn: sa.Connection, seller_id: str, marketplace: str) -> datetime | None:
    return conn.execute(
        sa.select(watch_checkpoints.c.checked_until).where(
            watch_checkpoints.c.seller_id == seller_id,
            watch_checkpoints.c.marketplace == marketplace,
        )
    ).scalar_one_or_none()


def advance_checkpoint(
    conn: sa.Connection, seller_id: str, marketplace: str, until: datetime
) -> datetime:
    """Move the checkpoint forward to `until`, never back: a run that read less must not
    make the next one alert on the same orders again. Returns the checkpoint now stored."""
    current = checkpoint(conn, seller_id, marketplace)
    if current is not None and current >= until:
        return current
    upsert(
        conn,
        watch_checkpoints,
        {"seller_id": seller_id, "marketplace": marketplace},
        checked_until=until,
    )
    return until


@dataclass(frozen=True, slots=True)
class OrderUnits:
    """Units of one order line, as the velocity baseline counts them."""

    order_item_id: str
    amazon_order_id: str
    marketplace: str
    sku: str
    purchased_at: datetime
    units: int


def record_units(conn: sa.Connection, seller_id: str, lines: list[OrderUnits]) -> None:
    """Remember order lines; a line seen again (overlapping reads) is stored once, with
    its latest units (a buyer may change nothing, but Amazon may correct a quantity)."""
    for line in lines:
        upsert(
            conn,
            watch_order_units,
            {"seller_id": seller_id, "order_item_id": line.order_item_id},
            amazon_order_id=line.amazon_order_id,
            marketplace=line.marketplace,
            sku=line.sku,
            purchased_at=line.purchased_at,
            units=line.units,
        )


def units_by_sku(
    conn: sa.Connection, seller_id: str, marketplace: str, since: datetime, until: datetime
) -> dict[str, int]:
    """Units sold per SKU of a marketplace in orders purchased in [since, until)."""
    t = watch_order_units
    rows = conn.execute(
        sa.select(t.c.sku, sa.func.sum(t.c.units))
        .where(
            t.c.seller_id == seller_id,
            t.c.marketplace == marketplace,
            t.c.purchased_at >= since,
            t.c.purchased_at < until,
        )
        .group_by(t.c.sku)
    )
    return {sku: int(units) for sku, units in rows}


def order_lines(
    conn: sa.Connection, seller_id: str, marketplace: str, since: datetime, until: datetime
) -> list[OrderUnits]:
    """The order lines of a marketplace purchased in [since, until), oldest first."""
    t = watch_order_units
    rows = conn.execute(
        sa.select(t.c.order_item_id, t.c.amazon_order_id, t.c.marketplace, t.c.sku)
        .add_columns(t.c.purchased_at, t.c.units)
        .where(
            t.c.seller_id == seller_id,
            t.c.marketplace == marketplace,
            t.c.purchased_at >= since,
            t.c.purchased_at < until,
        )
        .order_by(t.c.purchased_at, t.c.order_item_id)
    )
    return [OrderUnits(*row) for row in rows]


def forget_units_before(conn: sa.Connection, seller_id: str, before: datetime) -> int:
    """Drop history older than any baseline looks at; returns the lines dropped."""
    t = watch_order_units
    result = conn.execute(t.delete().where(t.c.seller_id == seller_id, t.c.purchased_at < before))
    return result.rowcount


def handled(conn: sa.Connection, seller_id: str, keys: list[str]) -> bool:
    """Whether a notification under any of `keys` was handled already."""
    t = watch_notifications
    found = conn.execute(
        sa.select(t.c.key).where(t.c.seller_id == seller_id, t.c.key.in_(keys)).limit(1)
    ).first()
    return found is not None


def mark_handled(conn: sa.Connection, seller_id: str, keys: list[str], at: datetime) -> None:
    for key in keys:
        upsert(conn, watch_notifications, {"seller_id": seller_id, "key": key}, handled_at=at)


def forget_handled_before(conn: sa.Connection, seller_id: str, before: datetime) -> int:
    """Drop dedupe keys older than any redelivery (SQS keeps a message 14 days at most)."""
    t = watch_notifications
    result = conn.execute(t.delete().where(t.c.seller_id == seller_id, t.c.handled_at < before))
    return result.rowcount
