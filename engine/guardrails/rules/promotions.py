"""Rules over sales and declared promotions, checked on every desired listing (not only the
changed ones): declaring a promotion in YAML changes no listing, yet it is exactly the change
that put 300 orders at 1 USD through."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from decimal import Decimal

from engine.core.money import currency
from engine.guardrails.rules.base import TENTH, Finding, Inputs, Rule, percent_text
from engine.guardrails.stacking import HUNDRED, Discount
from engine.guardrails.verdict import minute


def check_price_floor(inputs: Inputs) -> Iterator[Finding]:
    """Effective price floor: the lowest price a buyer can reach, our price or the sale
    price with every declared promotion that overlaps it stacked on top, stays at or above
    `promotion_limits.floor` (an amount in the marketplace currency, or the product cost
    converted with fx.yaml plus a margin; default: cost). Each discount may be reasonable
    alone; the stack is what sells at a loss, so the stack is what is checked.

    When the plan lowers a listing's floor (its minimum seller allowed price falls), its
    prices are checked against the floor it had: a cost or fx typo lowers the floor with
    the price, and the lowered floor must not vouch for the lowered price. Lowering a floor
    and then the price below the old one takes two changes, each reviewed on its own."""
    for address, resource in inputs.desired.items():
        if inputs.lowest_amount(address, resource) >= inputs.guarding_floor(address, resource):
            continue
        cur = currency(resource.currency)
        floor = inputs.floor(resource)
        lowest = inputs.lowest(address)
        had = inputs.floors_before.get(address)
        if had is not None and had > floor.price:
            against = (
                f"below the floor it had, {had:f} {cur.code}: this same change lowers its "
                f"floor to {floor.describe(cur)}"
            )
        else:
            against = f"below the floor {floor.describe(cur)}"
        yield Finding(
            resource.marketplace,
            resource.sku,
            f"lowest price a buyer can reach is {lowest.describe(cur)}, {against}",
            value=lowest.price,
            subject=f"lowest {lowest.price:f} {_ids(lowest.stacked)} floor {floor.price:f}",
            promotions=_promotions(lowest.stacked),
        )


def _promotions(discounts: Iterable[Discount]) -> tuple[str, ...]:
    """The ids of the declared promotions among `discounts` (sales are sellersync's own)."""
    return tuple(d.id for d in discounts if d.kind != "sale")


def _ids(discounts: Iterable[Discount]) -> str:
    return ",".join(d.id for d in discounts)


def check_max_discount(inputs: Inputs) -> Iterator[Finding]:
    """Maximum discount: the deepest discount a buyer gets, sale and promotions stacked, in
    percent of our price, stays within `promotion_limits.max_discount_pct`. Measured against
    our price rather than the list price: a list price is a reference a seller can inflate,
    our price is what we would otherwise earn. A listing no discount reaches is 0 % off,
    which no limit (a percentage from 0) is below."""
    for address in inputs.discounts:
        resource = inputs.desired[address]
        limit = inputs.settings.percent("promotion_limits.max_discount_pct", *resource.key)
        lowest = inputs.lowest(address)
        # To a tenth of a percent: 40 % off 59.99 is 35.99, which is 40.007 % off; rounding
        # the price to cents must not push a discount at the limit over it.
        depth = ((resource.our_price - lowest.price) / resource.our_price * HUNDRED).quantize(TENTH)
        if depth > limit:
            cur = currency(resource.currency)
            yield Finding(
                resource.marketplace,
                resource.sku,
                f"{percent_text(depth)} off our price {resource.our_price:f} {cur.code} at "
                f"{lowest.describe(cur)}; the limit is {percent_text(limit)}",
                value=depth,
                subject=f"{depth:f}% off {resource.our_price:f} {_ids(lowest.stacked)}",
                promotions=_promotions(lowest.stacked),
            )


def check_promotion_duration(inputs: Inputs) -> Iterator[Finding]:
    """Promotions and sales must end: none may run longer than
    `promotion_limits.max_duration_days`. The config cannot express an open-ended window
    (an end is required), so the way to leave a discount running forever is a far end date:
    the duration limit is what catches it."""
    for address, discounts in inputs.discounts.items():
        resource = inputs.desired[address]
        limit = int(inputs.settings.listing("promotion_limits.max_duration_days", *resource.key))
        cur = currency(resource.currency)
        for discount in discounts:
            if discount.duration > timedelta(days=limit):
                yield Finding(
                    resource.marketplace,
                    resource.sku,
                    f"{discount.describe(cur)} runs {_days(discount.duration)}, longer than "
                    f"the {limit}-day maximum",
                    value=_day_count(discount.duration),
                    promotions=_promotions((discount,)),
                )


def check_promo_units_cap(inputs: Inputs) -> Iterator[Finding]:
    """Maximum units at a promotional price: while a sale or declared promotion runs, the
    MFN quantity stays at or below `promotion_limits.max_units_at_promo_price`, so a pricing
    mistake cannot sell the whole stock. Upcoming windows count too: the quantity written now
    is still live when they open. FBA quantity is Amazon's and cannot be capped this way."""
    for address, discounts in inputs.discounts.items():
        resource = inputs.desired[address]
        if resource.quantity is None:
            continue
        key = "promotion_limits.max_units_at_promo_price"
        cap = int(inputs.settings.listing(key, *resource.key))
        if resource.quantity > cap:
            first = min(discounts, key=lambda d: d.start)
            what = first.describe(currency(resource.currency))
            yield Finding(
                resource.marketplace,
                resource.sku,
                f"MFN quantity {resource.quantity} while {what} runs from "
                f"{minute(first.start)}; at most {cap} units may be offered at a "
                "promotional price",
                value=Decimal(resource.quantity),
                promotions=_promotions(discounts),
            )


def _day_count(duration: timedelta) -> Decimal:
    """A duration in days, to the hour: what `approves.value` or a range names."""
    hours = Decimal(int(duration.total_seconds()) // 3600)
    return (hours / 24).quantize(Decimal("0.01")).normalize()


def _days(duration: timedelta) -> str:
    hours = duration.seconds // 3600
    return f"{duration.days} days" + (f" {hours} h" if hours else "")


RULES = (
    Rule(
        "price_floor",
        "hard-mandatory",
        "every reachable price, discounts stacked, is at or above its floor",
        check_price_floor,
        needs_live=False,
    ),
    Rule(
        "max_discount",
        "soft-mandatory",
        "no stacked discount is deeper than its limit",
        check_max_discount,
        needs_live=False,
    ),
    Rule(
        "promotion_duration",
        "soft-mandatory",
        "every sale and promotion ends within its maximum duration",
        check_promotion_duration,
        needs_live=False,
    ),
    Rule(
        "promo_units_cap",
        "soft-mandatory",
        "no MFN quantity above the cap while a discount runs",
        check_promo_units_cap,
        needs_live=True,
    ),
)
