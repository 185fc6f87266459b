"""Rules over the prices a plan writes: the size of each change, and the bounds sent with it."""

from __future__ import annotations

from collections.abc import Iterator

from engine.guardrails.rules.base import Finding, Inputs, Rule, percent_text
from engine.guardrails.stacking import HUNDRED
from engine.money import currency, quantize, to_decimal


def check_price_change_size(inputs: Inputs) -> Iterator[Finding]:
    """Price change size, two checks on every price the plan writes:

    - a change of more than `max_change_pct` of the live price in one apply: 199 → 1.99 is a
      decimal slip of −99 %, not a repricing;
    - a price more than `max_fx_deviation_pct` away from the base price converted with
      fx.yaml plus the tax delta: a JPY price typed as USD (or a stale rate) is off by orders
      of magnitude, and a new listing has no live price to compare with.
    """
    config, settings = inputs.config, inputs.settings
    for change in inputs.price_changes():
        after = change.after
        assert after is not None
        code, sku = after.key
        cur = currency(after.currency)
        if change.before is not None and change.before.our_price > 0:
            limit = settings.percent("guardrails.price_change_size.max_change_pct", code)
            before = change.before.our_price
            delta = (after.our_price - before) / before * HUNDRED
            if abs(delta) > limit:
                yield Finding(
                    code,
                    sku,
                    f"our price {before:f} -> {after.our_price:f} {cur.code} "
                    f"({percent_text(delta, signed=True)}) in one apply; changes beyond "
                    f"±{percent_text(limit)} need approval",
                )
        product = config.products[sku]
        rate = config.fx.rate(cur.code)
        tax = to_decimal(settings.listing("pricing.tax_delta", code, sku))
        expected = quantize(product.base_price * rate + tax, cur)
        deviation = (after.our_price - expected) / expected * HUNDRED
        limit = settings.percent("guardrails.price_change_size.max_fx_deviation_pct", code)
        if abs(deviation) > limit:
            off = percent_text(deviation, signed=True)
            yield Finding(
                code,
                sku,
                f"our price {after.our_price:f} {cur.code} is {off}"
                f" from the base price {product.base_price:f} {config.fx.base_currency} × {rate:f}"
                f" + {tax:f} = {expected:f} {cur.code}; beyond ±{percent_text(limit)} (wrong "
                "currency or rate?)",
            )


def check_allowed_price_bounds(inputs: Inputs) -> Iterator[Finding]:
    """Defence in depth: every offer written carries a minimum and maximum seller allowed
    price, and the minimum is not below the floor. Amazon then suppresses a wrong price by
    itself, even one typed in Seller Central where no plan sees it."""
    for change in inputs.changes.changes:
        after = change.after
        if after is None:
            continue
        problems = []
        missing = [
            name
            for name in ("minimum_seller_allowed_price", "maximum_seller_allowed_price")
            if getattr(after, name) is None
        ]
        if missing:
            problems.append(
                f"no {' or '.join(missing)}: Amazon cannot suppress a wrong price on this offer"
            )
        minimum = after.minimum_seller_allowed_price
        if minimum is not None:
            cur = currency(after.currency)
            floor = inputs.floor(after)
            if minimum < floor.price:
                problems.append(
                    f"minimum seller allowed price {minimum:f} {cur.code} is below the floor "
                    f"{floor.describe(cur)}: Amazon would accept prices the floor rules out"
                )
        if problems:
            yield Finding(after.marketplace, after.sku, "; ".join(problems))


RULES = (
    Rule(
        "price_change_size",
        "soft-mandatory",
        "every written price is near its live price and its converted base price",
        check_price_change_size,
        needs_live=True,
    ),
    Rule(
        "allowed_price_bounds",
        "advisory",
        "every written offer has min/max allowed prices with the minimum at or above the floor",
        check_allowed_price_bounds,
        needs_live=True,
    ),
)
