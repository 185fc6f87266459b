"""The seeded demo account: the desired state, made live with deliberate differences.

The sandbox starts from the rendered desired state of the demo config, so that a first
`sync plan` against it has real work to do. The differences are deterministic (they depend
only on the order of the Resources given, which render keeps stable: marketplaces in project
order, SKUs in file order) and each is recorded as a `SeedDifference`:

- missing:   the last Resource is not listed at all (the plan must create it);
- issue:     the first Resource with a maximum allowed price has our_price typed 100× too
             high ("1999" for 19.99), so Amazon suppressed the offer with a potential pricing
             error (the plan's price change clears it);
- quantity:  the first merchant-fulfilled Resource not picked above holds 4 more units;
- price:     every 25th Resource from the 6th (or the first one left, for short lists) is
             priced 5 % higher (lower if that breaks its maximum), rounded to the currency;
- unmanaged: a listing the config does not know, "LEGACY-<first SKU>", in the first
             Resource's marketplace.

FBA listings get a deterministic Amazon-held quantity (10 to 69 units).

An exact seed (`exact=True`, `sync sandbox reset --exact`) has none of these differences: live
is the desired state, so a plan against it shows only what changed in the config since. CI
seeds a fork's pull request this way from the base branch's config (docs/ci.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.core.marketplaces import MARKETPLACES, Marketplace
from engine.core.money import currency, quantize
from engine.core.resource import Resource
from engine.live.attributes import resource_attributes
from engine.sandbox import listings
from engine.sandbox.store import Listing, Seed, Store

PRICE_EVERY = 25
PRICE_FIRST = 5
PRICE_FACTOR = Decimal("1.05")
QUANTITY_DRIFT = 4
TYPO_FACTOR = 100
DEFAULT_STORE_NAME = "Sandbox Store"


@dataclass(frozen=True, slots=True)
class SeedDifference:
    """One deliberate way the seeded live state differs from the desired state."""

    kind: str  # missing | issue | quantity | price | unmanaged
    marketplace: str
    sku: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "marketplace": self.marketplace,
            "sku": self.sku,
            "detail": self.detail,
        }


def _market(resource: Resource) -> Marketplace:
    try:
        return MARKETPLACES[resource.marketplace]
    except KeyError:
        raise ValueError(
            f"{resource.address}: unknown marketplace {resource.marketplace!r}"
        ) from None


def fba_quantity(resource: Resource) -> int:
    digest = hashlib.sha256(f"{resource.marketplace}/{resource.sku}".encode()).hexdigest()
    return 10 + int(digest[:8], 16) % 60


def _plan_differences(resources: Sequence[Resource]) -> dict[int, SeedDifference]:
    """Which Resource (by index) gets which difference; see the module docstring."""
    n = len(resources)
    picked: dict[int, SeedDifference] = {}

    def pick(i: int, kind: str, detail: str) -> None:
        r = resources[i]
        picked[i] = SeedDifference(kind, r.marketplace, r.sku, detail)

    if n >= 2:
        pick(n - 1, "missing", "not listed on Amazon")
    for i, r in enumerate(resources):
        if i not in picked and r.maximum_seller_allowed_price is not None:
            pick(i, "issue", "our_price typed 100x too high; offer suppressed")
            break
    for i, r in enumerate(resources):
        if i not in picked and r.fulfillment_channel == "MFN" and r.quantity is not None:
            pick(i, "quantity", f"{r.quantity + QUANTITY_DRIFT} units live, {r.quantity} desired")
            break
    before = len(picked)
    for i in range(PRICE_FIRST, n, PRICE_EVERY):
        if i not in picked and _drifted_price(resources[i]) is not None:
            pick(i, "price", "")
    if len(picked) == before:
        for i, r in enumerate(resources):
            if i not in picked and _drifted_price(r) is not None:
                pick(i, "price", "")
                break
    return picked


def _drifted_price(r: Resource) -> Decimal | None:
    """5 % up (or down when up breaks the maximum), within the allowed range."""
    cur = currency(r.currency)
    low, high = r.minimum_seller_allowed_price, r.maximum_seller_allowed_price
    for factor in (PRICE_FACTOR, 2 - PRICE_FACTOR):
        new = quantize(r.our_price * factor, cur)
        if (
            new == r.our_price
            or (low is not None and new < low)
            or (high is not None and new > high)
        ):
            continue
        if r.sale is not None and new <= r.sale.price:
            continue
        return new
    return None


def _typo_price(r: Resource) -> Decimal:
    cur = currency(r.currency)
    typo = quantize(r.our_price * TYPO_FACTOR, cur)
    high = r.maximum_seller_allowed_price
    if high is not None and typo <= high:
        typo = quantize(high + r.our_price, cur)
    return typo


def build_seed(
    seller_id: str,
    resources: Iterable[Resource],
    now: datetime,
    *,
    store_name: str = DEFAULT_STORE_NAME,
    exact: bool = False,
    source: str = "",
) -> tuple[Seed, list[SeedDifference]]:
    """The live state to seed the sandbox with, and the differences from `resources` (none
    when `exact`). `source` names where `resources` were rendered from (a config directory),
    for `sync sandbox reset` and `status` to say."""
    desired = list(resources)
    if not desired:
        raise ValueError("cannot seed the sandbox from an empty desired state")
    keys = [r.key for r in desired]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate (marketplace, sku) in the desired state")
    differences = {} if exact else _plan_differences(desired)
    live: list[tuple[Resource, datetime]] = []
    for i, r in enumerate(desired):
        diff = differences.get(i)
        updated = now - timedelta(days=7)
        if diff is None:
            live.append((r, updated))
            continue
        if diff.kind == "missing":
            continue
        if diff.kind == "issue":
            typo = _typo_price(r)
            differences[i] = replace(
                diff, detail=f"our_price {typo:f} (desired {r.our_price:f}); offer suppressed"
            )
            r = replace(r, our_price=typo)
        elif diff.kind == "quantity":
            r = replace(r, quantity=(r.quantity or 0) + QUANTITY_DRIFT)
        elif diff.kind == "price":
            new = _drifted_price(r)
            if new is None:  # _plan_differences only picks prices that can drift
                raise RuntimeError(f"{r.address}: no drifted price")
            differences[i] = replace(
                diff, detail=f"our_price {new:f} {r.currency} (desired {r.our_price:f})"
            )
            r = replace(r, our_price=new)
        live.append((r, now - timedelta(days=1)))
    all_differences = [differences[i] for i in sorted(differences)]
    if not exact:
        legacy, unmanaged = _unmanaged_listing(desired)
        live.append((legacy, now - timedelta(days=400)))
        all_differences.append(unmanaged)
    rows: list[Listing] = []
    issues: dict[tuple[str, str], tuple[dict[str, Any], ...]] = {}
    for r, updated in live:
        mkt = _market(r)
        attrs = resource_attributes(r)
        rows.append(
            Listing(
                seller_id=seller_id,
                sku=r.sku,
                marketplace_id=mkt.marketplace_id,
                product_type=r.product_type,
                asin=listings.synthetic_asin(r.sku),
                attributes=attrs,
                created_at=min(updated, now - timedelta(days=180)),
                updated_at=updated,
                fba_quantity=fba_quantity(r) if r.fulfillment_channel == "FBA" else None,
            )
        )
        found = listings.evaluate(attrs)
        if found:
            issues[(r.sku, mkt.marketplace_id)] = tuple(found)
    codes = tuple(dict.fromkeys(r.marketplace for r in desired))
    seed = Seed(
        seller_id=seller_id,
        store_name=store_name,
        marketplaces=codes,
        listings=tuple(rows),
        issues=issues,
        notes=tuple(d.to_dict() for d in all_differences),
        source=source,
        exact=exact,
    )
    return seed, all_differences


def _unmanaged_listing(desired: Sequence[Resource]) -> tuple[Resource, SeedDifference]:
    """The listing the config does not know, beside the first Resource, and its note."""
    first = desired[0]
    taken = {r.sku for r in desired}
    legacy_sku = "LEGACY-" + first.sku
    while legacy_sku in taken:
        legacy_sku = "LEGACY-" + legacy_sku
    legacy = replace(
        first,
        sku=legacy_sku,
        title=(first.title + " (old listing)").strip(),
        sale=None,
        quantity=2 if first.fulfillment_channel == "MFN" else None,
    )
    unmanaged = SeedDifference(
        "unmanaged", first.marketplace, legacy_sku, "listed on Amazon, not in the config"
    )
    return legacy, unmanaged


def seed_store(
    store: Store,
    seller_id: str,
    resources: Iterable[Resource],
    now: datetime,
    *,
    store_name: str = DEFAULT_STORE_NAME,
    exact: bool = False,
    source: str = "",
) -> list[SeedDifference]:
    """Install the demo account in a store (replacing any earlier seed) and reset to it."""
    seed, differences = build_seed(
        seller_id, resources, now, store_name=store_name, exact=exact, source=source
    )
    store.install_seed(seed)
    return differences
