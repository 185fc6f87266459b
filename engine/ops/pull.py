"""`sync orders pull`: every enabled marketplace's orders into the order store, incrementally.

Per marketplace, orders last updated since the checkpoint are read (searchOrders of Orders
2026-01-01 by lastUpdatedAfter, paged, items inline, paced by the backend's token buckets)
and upserted. Each read
starts `overlap` before the checkpoint: Amazon indexes some updates late, so an order whose
LastUpdateDate falls just before the previous read's end can appear only after it. Reading
those minutes again costs a few duplicate reads, which the idempotent upsert absorbs.

Marketplaces whose windows are the same (every one after the first pull of a config) are
read together, one listing per region (engine.live.orders.order_groups): at searchOrders'
0.0056 calls a second the demo seller's nine marketplaces cost three calls, not nine.

Each read ends two minutes before now (Amazon refuses a LastUpdatedBefore any later), to the
second; that end becomes the checkpoint, committed with the orders so a killed pull resumes
where its last finished marketplace left off. A first pull reaches back `first_lookback`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.live.backend import Backend
from engine.live.orders import OrderDataError, order_groups
from engine.state import orders as store
from engine.state.db import StateDB

OVERLAP = timedelta(minutes=15)
FIRST_LOOKBACK = timedelta(days=30)
# Amazon: LastUpdatedBefore must be at least two minutes before the current time.
BEFORE_MARGIN = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class MarketplacePull:
    marketplace: str
    updated_after: datetime
    updated_before: datetime
    new: int
    updated: int
    unchanged: int

    @property
    def read(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(slots=True)
class PullResult:
    marketplaces: list[MarketplacePull] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "marketplaces": [
                {
                    "marketplace": m.marketplace,
                    "updated_after": m.updated_after.isoformat(),
                    "updated_before": m.updated_before.isoformat(),
                    "read": m.read,
                    "new": m.new,
                    "updated": m.updated,
                    "unchanged": m.unchanged,
                }
                for m in self.marketplaces
            ]
        }


def window(
    checkpoint: datetime | None, now: datetime, overlap: timedelta, first_lookback: timedelta
) -> tuple[datetime, datetime]:
    """(LastUpdatedAfter, LastUpdatedBefore) of the next read."""
    before = (now - BEFORE_MARGIN).replace(microsecond=0)
    after = now - first_lookback if checkpoint is None else checkpoint - overlap
    return min(after, before), before


def pull_orders(
    backend: Backend,
    db: StateDB,
    seller_id: str,
    marketplaces: Sequence[str],
    *,
    overlap: timedelta = OVERLAP,
    first_lookback: timedelta = FIRST_LOOKBACK,
) -> PullResult:
    """Pull every marketplace, a region's marketplaces of one window together; see the
    module docstring. The result lists the marketplaces in the order given."""
    codes = list(dict.fromkeys(marketplaces))
    now = backend.now()
    with db.read() as conn:
        windows = {
            code: window(store.checkpoint(conn, seller_id, code), now, overlap, first_lookback)
            for code in codes
        }
    same: dict[tuple[datetime, datetime], list[str]] = {}
    for code in codes:
        same.setdefault(windows[code], []).append(code)
    pulled: dict[str, MarketplacePull] = {}
    for (after, before), group_codes in same.items():
        for group in order_groups(group_codes):
            found = backend.read_orders_of(group, updated_after=after, updated_before=before)
            counts = {code: {"new": 0, "updated": 0, "unchanged": 0} for code in group}
            with db.write() as conn:
                for order in found:
                    if order.marketplace not in counts:
                        raise OrderDataError(
                            f"order {order.amazon_order_id}: Amazon answered an order of "
                            f"{order.marketplace} to a read of {', '.join(group)}"
                        )
                    counts[order.marketplace][store.save(conn, seller_id, order)] += 1
                for code in group:
                    store.set_checkpoint(conn, seller_id, code, before)
            for code in group:
                pulled[code] = MarketplacePull(code, after, before, **counts[code])
    return PullResult([pulled[code] for code in codes])
