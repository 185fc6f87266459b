"""What the drift report needs besides the plan, read from the state store (I/O at the edge;
the report itself, engine.plan.drift, is pure).

Only listings the plan found drifted or never applied are looked up, so a clean catalog
of any size costs a few queries: when their values were last applied, the MFN units ordered
for the ones whose quantity went down since then, the breaker's accepted writes, and the
watchdog's refills of capped listings with the units ordered since each listing's latest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.config.model import Config
from engine.core.changes import DriftedField
from engine.core.resource import address, address_key
from engine.plan.drift import DriftFacts, EmergencyWrite, last_refill, went_down
from engine.plan.model import Plan
from engine.state import last_applied
from engine.state import orders as order_store
from engine.state.orders import OrderFilter
from engine.watch.emergency import accepted_writes


def gather(
    conn: sa.Connection,
    config: Config,
    plan: Plan,
    applied: Mapping[str, Mapping[str, Any]],
) -> DriftFacts:
    """The facts for `plan`, whose drift was computed against the `applied` values."""
    seller_id = config.project.seller_id
    drifted = {d.address for d in plan.drift}
    applied_at = last_applied.applied_times(conn, seller_id, drifted)
    pulled = {
        code: at
        for code in config.marketplaces
        if (at := order_store.checkpoint(conn, seller_id, code)) is not None
    }
    writes: dict[str, dict[str, list[EmergencyWrite]]] = {"breaker": {}, "refill": {}}
    if drifted:
        for write in accepted_writes(conn, seller_id):
            if write.address in drifted:
                writes[write.kind].setdefault(write.address, []).append(write)
    refills = {a: tuple(w) for a, w in writes["refill"].items()}
    sold_down = [d for d in plan.drift if went_down(d)]
    refilled = DriftFacts(applied_at=applied_at, refills=refills)
    since_refill = {
        d.address: refill.written_at
        for d in plan.drift
        if (refill := last_refill(d, refilled)) is not None
    }
    quantities = [d for d in plan.drift if d.address in since_refill and d.field == "quantity"]
    return DriftFacts(
        applied_at=applied_at,
        sold=units_ordered_since(conn, seller_id, sold_down, applied_at, pulled),
        orders_pulled_until=pulled,
        breaker_writes={a: tuple(w) for a, w in writes["breaker"].items()},
        refills=refills,
        sold_since_refill=units_ordered_since(conn, seller_id, quantities, since_refill, pulled),
        never_applied=frozenset(
            c.address for c in plan.changes if c.action == "update" and c.address not in applied
        ),
        ignore=config.project.drift_ignore,
    )


def units_ordered_since(
    conn: sa.Connection,
    seller_id: str,
    drifted: list[DriftedField],
    applied_at: Mapping[str, datetime],
    pulled: Mapping[str, datetime],
) -> dict[str, int]:
    """address -> MFN units ordered for its SKU and marketplace since its values were last
    applied. Every status counts, cancelled orders too: Amazon takes the units off the
    listing when the order is placed, whatever becomes of it. One query per marketplace."""
    since_by_market: dict[str, dict[str, datetime]] = {}
    for d in drifted:
        if d.address not in applied_at:
            continue
        marketplace, _ = address_key(d.address)
        if marketplace in pulled:
            since_by_market.setdefault(marketplace, {})[d.address] = applied_at[d.address]
    sold: dict[str, int] = {}
    for marketplace, since in since_by_market.items():
        found = order_store.find(
            conn,
            seller_id,
            OrderFilter(marketplace=marketplace, channel="MFN", purchased_from=min(since.values())),
        )
        for stored in found:
            order = stored.order
            for item in order.items:
                key = address(marketplace, item.sku)
                if key in since and order.purchase_date >= since[key]:
                    sold[key] = sold.get(key, 0) + item.quantity
    return sold
