"""Stock allocation from the central warehouse to merchant-fulfilled (MFN) listings.

Rule, per SKU (pure; every input passed in):

1. A site (marketplace) is *needy* when its quantity is below its `alert_level`.
   Its need is `max_per_site - local` (never negative).
2. The pool is central stock minus the largest `safety_buffer` among the needy sites
   that have room (need > 0): those units stay in the warehouse whatever happens.
3. If the pool covers every need, each needy site gets its need
   (so `min(central remaining, max_per_site - local)` for a lone site).
4. Otherwise the pool is split in proportion to need. Each site first gets the floor of
   its share; the units left over go one at a time to the largest fractional remainders,
   ties broken by the marketplace order in project.yaml. The result is deterministic,
   never negative, and never more than the pool.
5. Sites that are not needy keep their quantity.

Grants are *added* to the site's current quantity: central stock is what is not yet
allocated to any site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SiteStock:
    """One marketplace's view of a SKU: current quantity and thresholds."""

    marketplace: str
    local: int
    alert_level: int = 0
    max_per_site: int = 0
    safety_buffer: int = 0

    @property
    def needy(self) -> bool:
        return self.local < self.alert_level

    @property
    def need(self) -> int:
        return max(0, self.max_per_site - max(self.local, 0))


@dataclass(frozen=True, slots=True)
class Allocation:
    marketplace: str
    local: int
    granted: int

    @property
    def quantity(self) -> int:
        return max(self.local, 0) + self.granted


def allocate(central: int, sites: Sequence[SiteStock]) -> list[Allocation]:
    """Split `central` units among `sites` (in priority order); see the module docstring."""
    needy = [s for s in sites if s.needy and s.need > 0]
    grants = {s.marketplace: 0 for s in sites}
    if needy:
        buffer = max(s.safety_buffer for s in needy)
        pool = max(0, central - buffer)
        total_need = sum(s.need for s in needy)
        if total_need <= pool:
            for s in needy:
                grants[s.marketplace] = s.need
        elif pool > 0:
            _split_proportionally(pool, needy, total_need, grants)
    return [Allocation(s.marketplace, s.local, grants[s.marketplace]) for s in sites]


def _split_proportionally(
    pool: int, needy: list[SiteStock], total_need: int, grants: dict[str, int]
) -> None:
    remainders = []
    given = 0
    for order, s in enumerate(needy):
        share, remainder = divmod(pool * s.need, total_need)
        grants[s.marketplace] = share
        given += share
        remainders.append((-remainder, order, s.marketplace))
    for _, _, marketplace in sorted(remainders)[: pool - given]:
        grants[marketplace] += 1


@dataclass(frozen=True, slots=True)
class Replenishment:
    """FBA: Amazon owns the quantity, so we recommend a shipment instead of setting it."""

    marketplace: str
    sku: str
    fba_quantity: int
    recommended_units: int
    reason: str
    alert_level: int = 0
    max_per_site: int = 0


def recommend_fba(sku: str, central: int, sites: Sequence[SiteStock]) -> list[Replenishment]:
    """Same split as MFN allocation, expressed as units to ship into FBA."""
    recs = []
    for a, s in zip(allocate(central, sites), sites, strict=True):
        if s.needy:
            reason = f"FBA quantity {s.local} is below the alert level {s.alert_level}" + (
                "" if a.granted else "; no central stock to send"
            )
            recs.append(
                Replenishment(
                    a.marketplace, sku, s.local, a.granted, reason, s.alert_level, s.max_per_site
                )
            )
    return recs
