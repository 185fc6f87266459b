"""Stock allocation from the central warehouse to merchant-fulfilled (MFN) listings.

The central stock file is the warehouse's *on-hand* count: it drops when a parcel leaves,
not when we advertise a unit on Amazon. Every unit a marketplace advertises as MFN quantity
is therefore already promised out of that count, and the pool for new grants is what is left
of it. Rule, per SKU (pure; every input passed in):

1. The SKU's *capacity* is on hand, less the units *reserved* for orders placed but not
   shipped yet (they are on the shelf, so on hand counts them, but they are sold), less the
   largest `safety_buffer` among its marketplaces (those units stay in the warehouse whatever
   happens); never below 0. *Advertised* is the sum of what the marketplaces hold live (a
   negative live quantity counts as 0).
2. Over-committed (advertised above capacity: orders Amazon takes could not all ship, a
   cancellation risk): nothing is granted and units are pulled back until advertised equals
   capacity, so the total never exceeds what is on hand. They come from the marketplaces
   furthest above their `alert_level`, evened down together (a level falls one unit at a
   time across all sites at the top); the last odd units come from the marketplaces listed
   last in project.yaml. No quantity goes below 0.
3. Otherwise the pool is capacity minus advertised. A marketplace is *needy* when its
   quantity is below its `alert_level`; its need is `max_per_site - local` (never negative).
   If the pool covers every need, each needy marketplace gets its need; else the pool is
   split in proportion to need: floors first, then one unit at a time to the largest
   fractional remainders, ties to the marketplace listed first in project.yaml.
4. Marketplaces that are not needy keep their quantity, even one set above `max_per_site`
   by hand (allocation never lifts a quantity above it; only over-commitment lowers one).

The rule is idempotent: allocating again with the allocated quantities as live changes
nothing, because grants only spend the pool and pull-backs stop exactly at capacity. So
plan, apply, plan converges. When on hand is unknown (no stock file, or the SKU is not in
it) nothing is granted or pulled back: an unknown count is not a count of zero. Reserved
units are known only from pulled orders; whoever renders passes them in (a `Reservation`),
and without one nothing is reserved, as before orders were read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units sold in merchant-fulfilled orders that have not shipped yet, by SKU, as the
    order store had them (engine.ops.unshipped reads it; rendering only takes it in).

    Only marketplaces whose orders were pulled count: `pulled_until` says up to when each
    was read, and `not_pulled` names the enabled ones never pulled, whose unshipped units
    are unknown and so not reserved. `order_ids` are the orders behind each SKU's units,
    for `sync explain`."""

    units: Mapping[str, int]
    order_ids: Mapping[str, tuple[str, ...]]
    pulled_until: Mapping[str, datetime]
    not_pulled: tuple[str, ...] = ()

    def describe(self, sku: str, shown: int = 5) -> str:
        """How many units of `sku` are reserved and from which orders' data, in one line."""
        ids = self.order_ids.get(sku, ())
        text = f"{self.units.get(sku, 0)} reserved for unshipped orders"
        if ids:
            more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
            text += f" ({', '.join(ids[:shown])}{more})"
        codes_by_time: dict[str, list[str]] = {}  # one pull usually reads every marketplace
        for code, at in self.pulled_until.items():
            codes_by_time.setdefault(f"{at:%Y-%m-%d %H:%M} UTC", []).append(code)
        pulled = (f"{', '.join(codes)} until {at}" for at, codes in codes_by_time.items())
        text += f", from orders pulled for {' and '.join(pulled)}"
        if self.not_pulled:
            text += (
                f"; never pulled for {', '.join(self.not_pulled)}: unshipped orders there are "
                "unknown and not reserved"
            )
        return text


@dataclass(frozen=True, slots=True)
class SiteStock:
    """One marketplace's view of a SKU: current quantity and thresholds."""

    marketplace: str
    local: int
    alert_level: int = 0
    max_per_site: int = 0
    safety_buffer: int = 0

    @property
    def held(self) -> int:
        """What the marketplace advertises (a negative live quantity advertises nothing)."""
        return max(self.local, 0)

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
    pulled_back: int = 0

    @property
    def quantity(self) -> int:
        return max(self.local, 0) + self.granted - self.pulled_back


def allocate(
    on_hand: int | None, sites: Sequence[SiteStock], reserved: int = 0
) -> list[Allocation]:
    """MFN quantities for `sites` (in project order) out of `on_hand` units, of which
    `reserved` are sold in orders not shipped yet; see the module docstring."""
    quantities = allocated_quantities(on_hand, sites, reserved)
    return [
        Allocation(s.marketplace, s.local, max(q - s.held, 0), max(s.held - q, 0))
        for s, q in zip(sites, quantities, strict=True)
    ]


def allocated_quantities(
    on_hand: int | None, sites: Sequence[SiteStock], reserved: int = 0
) -> list[int]:
    """The quantities `allocate` arrives at, without the grants and pull-backs behind them:
    rendering allocates every SKU of the catalog and needs only these."""
    held = [s.held for s in sites]
    if on_hand is None or not sites:
        return held
    capacity = max(0, on_hand - reserved - max(s.safety_buffer for s in sites))
    advertised = sum(held)
    if advertised > capacity:
        return _pull_back(capacity, [s.alert_level for s in sites], held)
    grants = _grants(capacity - advertised, sites)
    return [h + g for h, g in zip(held, grants, strict=True)]


def _pull_back(capacity: int, alerts: list[int], held: list[int]) -> list[int]:
    """What each site keeps when together they may hold only `capacity` units; `alerts`
    and `held`: each site's alert level and units held, in site order.

    Site i at surplus level L keeps clamp(alert_i + L, 0, held_i): lowering L takes units
    from the sites furthest above their alert level first. The highest L whose total fits
    is found by bisection (the total only grows with L); the units still free below the
    next level go to the sites listed first, so the last-listed ones give theirs up."""

    def kept(level: int) -> list[int]:
        return [min(max(a + level, 0), h) for a, h in zip(alerts, held)]  # noqa: B905 (same length)

    low = -max(alerts)  # every site at 0: always fits
    # Nothing pulled back: does not fit.
    high = max(h - a for a, h in zip(alerts, held))  # noqa: B905 (same length)
    while high - low > 1:
        middle = (low + high) // 2
        if sum(kept(middle)) <= capacity:
            low = middle
        else:
            high = middle
    result, above = kept(low), kept(low + 1)
    spare = capacity - sum(result)
    for i in range(len(held)):
        if spare and above[i] > result[i]:
            result[i] += 1
            spare -= 1
    return result


def _grants(pool: int, sites: Sequence[SiteStock]) -> list[int]:
    """Units each site gets out of `pool` (in site order): needs in full, or split in
    proportion to need. Each need is worked out once: rendering allocates every SKU."""
    needs = [s.need if s.local < s.alert_level else 0 for s in sites]
    total_need = sum(needs)
    if total_need <= pool:
        return needs
    if pool <= 0:
        return [0] * len(sites)
    return _split_proportionally(pool, needs, total_need)


def _split_proportionally(pool: int, needs: list[int], total_need: int) -> list[int]:
    """Floors of each site's share, then one unit each to the largest fractional
    remainders; ties go to the site listed first (sites without need are never picked: the
    remainders sum to exactly the units left, and each is below one unit)."""
    grants = []
    remainders = []
    for order, need in enumerate(needs):
        share, remainder = divmod(pool * need, total_need)
        grants.append(share)
        if remainder:
            remainders.append((-remainder, order))
    for _, order in sorted(remainders)[: pool - sum(grants)]:
        grants[order] += 1
    return grants


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
    """The MFN split expressed as units to ship into FBA. Units at Amazon's fulfilment
    centres have left the warehouse, so nothing is reserved for them: the pool is central
    stock minus the largest safety buffer among the needy sites."""
    needy = [s for s in sites if s.needy and s.need > 0]
    pool = max(0, central - max((s.safety_buffer for s in needy), default=0))
    grants = _grants(pool, sites)
    recs = []
    for s, granted in zip(sites, grants, strict=True):
        if s.needy:
            reason = f"FBA quantity {s.local} is below the alert level {s.alert_level}" + (
                "" if granted else "; no central stock to send"
            )
            recs.append(
                Replenishment(
                    s.marketplace, sku, s.local, granted, reason, s.alert_level, s.max_per_site
                )
            )
    return recs
