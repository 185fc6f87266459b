"""Inventory views: FBA replenishment from live FBA stock, and how far live MFN quantities
are from the desired ones.

Replenishment is the render's own (engine.desired.stock.recommend_fba, reached through
`render` with live FBA quantities): one rule for what to ship, whichever command asks.

Deviation is Σ|live − desired| / Σ desired over merchant-fulfilled listings, in percent
(the KPI target is ≤ 0.5 %). A listing desired but not live counts its whole desired
quantity; a total desired of zero has no deviation only when nothing is live either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from engine.config.model import Config
from engine.core.resource import Resource
from engine.desired.render import render
from engine.desired.stock import Replenishment, Reservation
from engine.live.backend import Backend
from engine.live.bulk_read import SnapshotCache

PERCENT_QUANTUM = Decimal("0.01")


def fba_replenishment(config: Config, backend: Backend, now: datetime) -> list[Replenishment]:
    """Recommended shipments into FBA, per FBA SKU and marketplace below its alert level,
    from live fulfillable quantities."""
    fba_skus = {sku for sku, p in config.products.items() if p.fulfillment == "FBA"}
    live: dict[tuple[str, str], int] = {}
    for code in config.project.marketplaces:
        for sku, units in backend.read_fba_inventory(code).items():
            if sku in fba_skus:
                live[(code, sku)] = units
    return list(render(config, now, live).replenishment)


@dataclass(frozen=True, slots=True)
class ListingDeviation:
    address: str
    desired: int
    live: int | None  # None: not live at all


@dataclass(frozen=True, slots=True)
class Deviation:
    listings: tuple[ListingDeviation, ...]  # only listings whose quantities differ
    desired_total: int
    off_by: int  # Σ |live − desired|

    @property
    def percent(self) -> Decimal:
        if not self.desired_total:
            return Decimal(0) if not self.off_by else Decimal(100)
        return (Decimal(100) * self.off_by / self.desired_total).quantize(PERCENT_QUANTUM)


def deviation(desired: Mapping[str, Resource], live: Mapping[str, Resource]) -> Deviation:
    """Desired versus live MFN quantity over the desired MFN listings (pure)."""
    rows: list[ListingDeviation] = []
    total = off = 0
    for address, want in desired.items():
        if want.fulfillment_channel != "MFN" or want.quantity is None:
            continue
        have = live.get(address)
        quantity = None if have is None else have.quantity or 0
        total += want.quantity
        gap = abs((quantity or 0) - want.quantity)
        off += gap
        if gap or quantity is None:
            rows.append(ListingDeviation(address, want.quantity, quantity))
    return Deviation(tuple(rows), total, off)


def cached_deviation(
    config: Config, now: datetime, reservation: Reservation | None = None
) -> Deviation | None:
    """The deviation against the live snapshots `sync plan` cached (no API call); None
    while any enabled marketplace has no snapshot yet. Pass the plan's reservation
    (engine.ops.unshipped) so that desired is what the plan wants."""
    cache = SnapshotCache(config.state_dir)
    live: dict[str, Resource] = {}
    for code in config.project.marketplaces:
        snapshot = cache.load(code)
        if snapshot is None:
            return None
        live.update({a: listing.resource for a, listing in snapshot.listings().items()})
    return _against_desired(config, now, live, reservation)


def _against_desired(
    config: Config,
    now: datetime,
    live: Mapping[str, Resource],
    reservation: Reservation | None,
) -> Deviation:
    quantities = {
        (r.marketplace, r.sku): r.quantity for r in live.values() if r.quantity is not None
    }
    return deviation(render(config, now, quantities, reservation=reservation).resources, live)


def live_deviation(
    config: Config,
    backend: Backend,
    now: datetime,
    *,
    refresh: bool,
    reservation: Reservation | None = None,
) -> Deviation:
    """Read live listings (or the cached snapshot when not `refresh`) and compare."""
    codes: Sequence[str] = config.project.marketplaces
    live = backend.read_listings(codes, refresh=refresh).resources()
    return _against_desired(config, now, live, reservation)
