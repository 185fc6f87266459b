"""Tripped breakers: the listings the watchdog took off sale, until config acknowledges them.

A breaker stays tripped (the SKU kept unbuyable) until the YAML acknowledges its incident,
across runs and runners, so it lives here and not in the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.state.tables import breakers


@dataclass(frozen=True, slots=True)
class Breaker:
    marketplace: str
    sku: str
    tripped_at: datetime
    reason: str
    incident_id: str


def trip(conn: sa.Connection, seller_id: str, breaker: Breaker) -> Breaker:
    """Record a tripped breaker. If the SKU's breaker is already tripped, the first trip
    and its incident stand (a second alert is the same incident), and it is returned."""
    key = (
        breakers.c.seller_id == seller_id,
        breakers.c.marketplace == breaker.marketplace,
        breakers.c.sku == breaker.sku,
    )
    row = conn.execute(
        sa.select(breakers.c.tripped_at, breakers.c.reason, breakers.c.incident_id).where(*key)
    ).one_or_none()
    if row is not None:
        return Breaker(breaker.marketplace, breaker.sku, *row)
    conn.execute(
        breakers.insert().values(
            seller_id=seller_id,
            marketplace=breaker.marketplace,
            sku=breaker.sku,
            tripped_at=breaker.tripped_at,
            reason=breaker.reason,
            incident_id=breaker.incident_id,
        )
    )
    return breaker


def reset(conn: sa.Connection, seller_id: str, marketplace: str, sku: str) -> bool:
    """Clear a breaker once its incident is acknowledged; False when none was tripped."""
    result = conn.execute(
        breakers.delete().where(
            breakers.c.seller_id == seller_id,
            breakers.c.marketplace == marketplace,
            breakers.c.sku == sku,
        )
    )
    return result.rowcount == 1


def tripped(conn: sa.Connection, seller_id: str) -> list[Breaker]:
    rows = conn.execute(
        sa.select(
            breakers.c.marketplace,
            breakers.c.sku,
            breakers.c.tripped_at,
            breakers.c.reason,
            breakers.c.incident_id,
        )
        .where(breakers.c.seller_id == seller_id)
        .order_by(breakers.c.marketplace, breakers.c.sku)
    )
    return [Breaker(*row) for row in rows]
