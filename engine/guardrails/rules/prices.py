"""Rules over the prices a plan writes: the size of each change, and the bounds sent with it."""

from __future__ import annotations

from collections.abc import Iterator

from engine.core.money import currency, quantize, to_decimal
from engine.guardrails.rules.base import Finding, Inputs, Rule, percent_text
from engine.guardrails.stacking import HUNDRED

FIELD_NAMES = {
    "our_price": "our price",
    "minimum_seller_allowed_price": "minimum seller allowed price",
    "maximum_seller_allowed_price": "maximum seller allowed price",
}


def check_price_change_size(inputs: Inputs) -> Iterator[Finding]:
    """Price change size, two checks on every price the plan writes:

    - a change of more than `max_change_pct` of the live value in one apply, to our price
      (either way: 199 → 1.99 is a decimal slip of −99 %, not a repricing) or to a bound
      on what a buyer pays: the minimum or maximum seller allowed price falling (rising
      cannot lower any price). A cost, fx rate, tax delta, ending or floor edit reaches
      live through these fields, so it is judged by the size of its effect: a cost typo
      18.50 → 1.85 lowers every minimum of the product by 90 %;
    - our price more than `max_fx_deviation_pct` away from the base price converted with
      the rate the last apply priced with (the baseline; fx.yaml's when none is recorded)
      plus the tax delta: a JPY price typed as USD is off by orders of magnitude, a new
      listing has no live price to compare with, and a rate edit cannot vouch for itself.
    """
    config, settings = inputs.config, inputs.settings
    baseline = inputs.context.baseline
    for change in inputs.price_changes():
        after = change.after
        assert after is not None
        code, sku = after.key
        cur = currency(after.currency)
        if change.before is not None:
            limit = settings.percent("guardrails.price_change_size.max_change_pct", code)
            for name, either_way in (
                ("our_price", True),
                ("minimum_seller_allowed_price", False),
                ("maximum_seller_allowed_price", False),
            ):
                was, now = getattr(change.before, name), getattr(after, name)
                if was is None or now is None or was <= 0 or was == now:
                    continue
                delta = (now - was) / was * HUNDRED
                if abs(delta) > limit and (either_way or delta < 0):
                    yield Finding(
                        code,
                        sku,
                        f"{FIELD_NAMES[name]} {was:f} -> {now:f} {cur.code} "
                        f"({percent_text(delta, signed=True)}) in one apply; changes beyond "
                        f"±{percent_text(limit)} need approval",
                        value=now,
                        subject=f"{name} {was:f} -> {now:f}",
                    )
        if change.before is not None and not any(f.field == "our_price" for f in change.fields):
            continue
        product = config.products[sku]
        rate = config.fx.rate(cur.code)
        recorded = None if baseline is None else baseline.rate(config.fx.base_currency, cur.code)
        reference = rate if recorded is None else recorded
        tax = to_decimal(settings.listing("pricing.tax_delta", code, sku))
        expected = quantize(product.base_price * reference + tax, cur)
        if expected <= 0:
            continue
        deviation = (after.our_price - expected) / expected * HUNDRED
        limit = settings.percent("guardrails.price_change_size.max_fx_deviation_pct", code)
        if abs(deviation) > limit:
            off = percent_text(deviation, signed=True)
            which = "fx.yaml rate" if recorded is None else "rate the last apply priced with"
            yield Finding(
                code,
                sku,
                f"our price {after.our_price:f} {cur.code} is {off} from the base price "
                f"{product.base_price:f} {config.fx.base_currency} × {reference:f} ({which})"
                f" + {tax:f} = {expected:f} {cur.code}; beyond ±{percent_text(limit)} (wrong "
                "currency or rate?)",
                value=after.our_price,
                subject=f"our_price {after.our_price:f} vs expected {expected:f}",
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
            yield Finding(after.marketplace, after.sku, "; ".join(problems), value=minimum)


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
