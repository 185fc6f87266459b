"""Refill holds: listings whose exposure refills wait until the watchdog has judged them.

A capped listing (engine.desired.exposure) is refilled only while nothing suspicious was
seen on it since its last refill. The watchdog records what it saw here: a `detection`
(a rule fired; the breaker trips too), held until incidents.yaml acknowledges an incident of
the listing after the hold began, or `unjudged` orders (Pending, not priced yet, so the floor
and promotion rules could not look at them), held until every one of them was read priced or
cancelled. Like breakers, holds outlive the process, so they live in the state store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from engine.state.tables import refill_holds, upsert

HoldKind = Literal["detection", "unjudged"]


@dataclass(frozen=True, slots=True)
class StoredHold:
    marketplace: str
    sku: str
    since: datetime
    kind: HoldKind
    reason: str
    waiting: tuple[str, ...] = ()  # order ids not judged yet (kind unjudged)


def holds(conn: sa.Connection, seller_id: str) -> list[StoredHold]:
    t = refill_holds
    rows = conn.execute(
        sa.select(t.c.marketplace, t.c.sku, t.c.since, t.c.kind, t.c.reason, t.c.waiting)
        .where(t.c.seller_id == seller_id)
        .order_by(t.c.marketplace, t.c.sku)
    )
    return [
        StoredHold(m, s, since, kind, reason, tuple(waiting))
        for m, s, since, kind, reason, waiting in rows
    ]


def put(conn: sa.Connection, seller_id: str, hold: StoredHold) -> None:
    """Record `hold`, replacing the listing's earlier one (the caller merges them)."""
    upsert(
        conn,
        refill_holds,
        {"seller_id": seller_id, "marketplace": hold.marketplace, "sku": hold.sku},
        since=hold.since,
        kind=hold.kind,
        reason=hold.reason,
        waiting=list(hold.waiting),
    )


def release(conn: sa.Connection, seller_id: str, keys: Iterable[tuple[str, str]]) -> None:
    t = refill_holds
    for marketplace, sku in keys:
        conn.execute(
            t.delete().where(
                t.c.seller_id == seller_id, t.c.marketplace == marketplace, t.c.sku == sku
            )
        )
