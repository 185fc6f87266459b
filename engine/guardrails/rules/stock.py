"""Rules over MFN stock and deletes: what can leave orders unshippable, and stock cuts while
account health cannot take more cancellations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from engine.core.changes import ResourceChange
from engine.core.resource import address
from engine.guardrails.rules.base import Finding, Inputs, Rule, percent_text

T = TypeVar("T")


def check_open_orders(inputs: Inputs) -> Iterator[Finding]:
    """Stock against open orders: what can leave an order the seller cannot ship, each
    cancelled one counting against the 2.5 % cancellation-rate target.

    Amazon takes an order's units off the listing's quantity when the order is placed, so
    lowering or zeroing a quantity never cancels an order already taken: a cut on its own is
    not a risk. The risk is the warehouse promising more than it has: per MFN SKU with units
    in open orders and a known on-hand count (`central_stock`), the desired MFN quantities
    plus the units still owed to those orders must fit on hand. Stock allocation reserves
    the owed units, so a rendered plan passes: this is a second line, for quantities that
    did not come out of allocation as intended (set by hand, or a fault in allocation).
    Of a marketplace left out of the plan (`-m`), its pulled orders count (the plan reads
    them, as they owe units from the same stock) but what it advertises counts as nothing,
    so a finding is always a real over-promise but a pass covers only the plan's. The
    finding goes to each marketplace advertising the SKU (lowering any of them helps); a SKU
    the plan advertises nowhere is not flagged, as no plan can ship orders beyond on hand.

    Deleting a listing that still has open orders is flagged too: the orders must still be
    shipped, and deleting a listing mid-fulfilment is almost always a mistake.

    The over-promise check walks the open-order mapping, not the catalog (a plan can cover a
    million listings, few of which have orders); deletes come from the changeset. Without
    order data the deletes and the MFN quantity increases the plan makes are listed as
    unchecked (a cut cannot promise more than live does)."""
    units = inputs.context.open_order_units
    if units is None:
        yield from _orders_unknown(inputs)
        return
    for change in inputs.changes.changes:
        if change.action == "delete":
            open_units = units.get((change.marketplace, change.sku), 0)
            if open_units:
                yield Finding(
                    change.marketplace,
                    change.sku,
                    f"deleting the listing with {open_units} unit(s) in open unshipped orders: "
                    "deleting cancels none of them and they still have to ship; delete it once "
                    "they have shipped",
                    value=Decimal(open_units),
                    subject="delete with open orders",
                )
    order = {code: position for position, code in enumerate(inputs.config.marketplaces)}
    for sku, owed in _owed_by_sku(units).items():
        on_hand = inputs.config.central_stock.get(sku)
        if on_hand is None:
            continue
        in_order = dict(sorted(owed.items(), key=lambda item: order.get(item[0], len(order))))
        promise = _Promise(sku, on_hand, in_order, _advertised(inputs, sku))
        if promise.unshippable > 0:
            for code in promise.advertised:
                yield Finding(
                    code,
                    sku,
                    promise.describe(),
                    value=Decimal(promise.unshippable),
                    subject=f"advertised {_per_market(promise.advertised)} on hand {on_hand}",
                )


@dataclass(frozen=True, slots=True)
class _Promise:
    """What the plan leaves promised out of one SKU's on-hand count: quantities advertised
    per marketplace (those above 0, in project order) and units owed per marketplace."""

    sku: str
    on_hand: int
    owed: Mapping[str, int]
    advertised: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.advertised.values()) + sum(self.owed.values())

    @property
    def unshippable(self) -> int:
        """Units promised beyond on hand: orders that could not ship if every advertised
        unit sold."""
        return self.total - self.on_hand

    def describe(self) -> str:
        return (
            f"{self.sku}: {sum(self.advertised.values())} unit(s) advertised "
            f"({_per_market(self.advertised)}) plus {sum(self.owed.values())} owed to open "
            f"unshipped orders ({_per_market(self.owed)}) is {self.total}, above the "
            f"{self.on_hand} on hand: {self.unshippable} unit(s) could not ship"
        )


def _owed_by_sku(units: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """SKU -> marketplace -> units owed, for the SKUs with any (the warehouse ships every
    marketplace's orders from the same on-hand count)."""
    owed: dict[str, dict[str, int]] = {}
    for (code, sku), count in units.items():
        if count > 0:
            owed.setdefault(sku, {})[code] = count
    return owed


def _advertised(inputs: Inputs, sku: str) -> dict[str, int]:
    """The desired MFN quantity of `sku` per marketplace in the plan, those above 0, in
    project order. FBA listings (quantity None) ship from Amazon's stock: not counted."""
    advertised = {}
    for code in inputs.config.marketplaces:
        resource = inputs.desired.get(address(code, sku))
        if resource is not None and resource.quantity is not None and resource.quantity > 0:
            advertised[code] = resource.quantity
    return advertised


def _per_market(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{code} {count}" for code, count in counts.items())


def _orders_unknown(inputs: Inputs) -> Iterator[Finding]:
    """Once for the plan, what the rule would have checked: the deletes, and the MFN
    quantities raised or created of SKUs with a known on-hand count (a cut cannot promise
    more than before), with the marketplaces they are in. Orders are pulled for the account,
    not per marketplace, so one line says what is missing."""
    deletes: dict[str, int] = {}
    raises: dict[str, int] = {}
    on_hand = inputs.config.central_stock
    for change in inputs.changes.changes:
        code = change.marketplace
        if change.action == "delete":
            deletes[code] = deletes.get(code, 0) + 1
        elif _raises_quantity(change) and change.sku in on_hand:
            raises[code] = raises.get(code, 0) + 1
    deletes, raises = _project_order(inputs, deletes), _project_order(inputs, raises)
    parts = []
    if deletes:
        parts.append(f"{sum(deletes.values())} delete(s) ({_per_market(deletes)})")
    if raises:
        parts.append(f"{sum(raises.values())} MFN quantity increase(s) ({_per_market(raises)})")
    if parts:
        yield Finding(
            None,
            None,
            f"{' and '.join(parts)} not checked: open orders were not read (`sync orders pull`)",
            unknown=True,
        )


def _project_order(inputs: Inputs, by_market: dict[str, T]) -> dict[str, T]:
    """`by_market` with its marketplaces in project order, for messages."""
    return {code: by_market[code] for code in inputs.config.marketplaces if code in by_market}


def _raises_quantity(change: ResourceChange) -> bool:
    """A create or update that leaves the MFN quantity above what live holds (a create
    from nothing)."""
    after = change.after.quantity if change.after else None
    if after is None or after <= 0:
        return False
    before = change.before.quantity if change.before else None
    return before is None or after > before


def check_account_health(inputs: Inputs) -> Iterator[Finding]:
    """Account-health gate: while a marketplace's 7-day cancellation rate is at its warning
    level (default 2.0 %, below Amazon's 2.5 % target) or its order defect rate at 0.8 %
    (target under 1 %), plans that cut stock or delete listings there are blocked: that is
    when one more wave of cancellations can get the account suspended."""
    settings = inputs.settings
    known = inputs.context.account_health or {}
    by_market: dict[str, list[ResourceChange]] = {}
    for change in inputs.stock_cuts():
        by_market.setdefault(change.marketplace, []).append(change)
    unknown: set[str] = set()  # marketplaces whose figures are not fully known
    for code, cuts in by_market.items():
        health = known.get(code)
        warn_at = settings.percent("guardrails.account_health.cancellation_rate_warning_pct", code)
        odr_at = settings.percent("guardrails.account_health.odr_block_pct", code)
        reasons = []
        rate = health.cancellation_rate_pct if health else None
        odr = health.order_defect_rate_pct if health else None
        if rate is not None and rate >= warn_at:
            reasons.append(
                f"the 7-day cancellation rate is {percent_text(rate)} "
                f"(warning level {percent_text(warn_at)})"
            )
        if odr is not None and odr >= odr_at:
            reasons.append(
                f"the order defect rate is {percent_text(odr)} (limit {percent_text(odr_at)})"
            )
        if reasons:
            for change in cuts:
                after = 0 if change.after is None else change.after.quantity
                yield Finding(
                    code,
                    change.sku,
                    f"{_describe(change)} while {' and '.join(reasons)}",
                    value=None if after is None else Decimal(after),
                    subject=_describe(change),
                )
        elif rate is None or odr is None:
            unknown.add(code)
    every_cut = [c for cuts in _project_order(inputs, by_market).values() for c in cuts]
    yield from _unchecked_everywhere(unknown, every_cut)


def _unchecked_everywhere(unknown: set[str], cuts: list[ResourceChange]) -> Iterator[Finding]:
    """One plan-wide warning for the stock cuts and deletes no known figure could judge,
    counted per marketplace: unknown figures mean the orders were not pulled, which is one
    fact about the plan, not one per marketplace."""
    counts: dict[str, int] = {}
    for change in cuts:
        if change.marketplace in unknown:
            counts[change.marketplace] = counts.get(change.marketplace, 0) + 1
    if counts:
        yield Finding(
            None,
            None,
            f"{sum(counts.values())} stock cut(s) or delete(s) not checked "
            f"({_per_market(counts)}): account health is not fully known there "
            "(`sync orders pull`)",
            unknown=True,
        )


def _describe(change: ResourceChange) -> str:
    if change.action == "delete":
        return "deleting the listing"
    assert change.before is not None and change.after is not None
    return f"cutting MFN quantity {change.before.quantity} -> {change.after.quantity}"


RULES = (
    Rule(
        "open_orders",
        "soft-mandatory",
        "MFN stock advertised plus units owed to open orders fits on hand; no listing with "
        "open orders is deleted",
        check_open_orders,
        needs_live=True,
    ),
    Rule(
        "account_health",
        "soft-mandatory",
        "no stock cut or delete while account health is at its warning level",
        check_account_health,
        needs_live=True,
    ),
)
