"""The seller's price rule, as pure functions.

    P_target = P_base × R_currency + Δ_tax
    → rounded half-up to the currency's minor unit (JPY has none)
    → moved to the configured ending (".99", JPY "80") by nearest / up / down
    → clamped to [min_price, max_price]

A per-SKU `our_price` override skips the rule entirely (but must still sit inside the
bounds; the loader checks that). Clamping happens last on purpose: a bound is a hard
promise to Amazon (`minimum/maximum_seller_allowed_price`), an ending is cosmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from engine.core.money import (
    Currency,
    PriceEnding,
    RoundingMode,
    apply_ending,
    currency,
    quantize,
    to_decimal,
)

if TYPE_CHECKING:
    from engine.config.model import FxTable, Product

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PriceRule:
    currency: Currency
    tax_delta: Decimal = Decimal(0)
    ending: PriceEnding | None = None
    rounding: RoundingMode = "nearest"
    min_price: Decimal | None = None
    max_price: Decimal | None = None


@lru_cache(maxsize=4096)
def price_rule(
    currency_code: str,
    tax_delta: Decimal | None,
    ending: str | None,
    rounding: RoundingMode,
    min_price: Decimal | None,
    max_price: Decimal | None,
) -> PriceRule:
    """Build (and cache: a catalog has few distinct rules) a rule from layered settings."""
    cur = currency(currency_code)
    return PriceRule(
        currency=cur,
        tax_delta=Decimal(0) if tax_delta is None else tax_delta,
        ending=PriceEnding.parse(ending, cur) if ending else None,
        rounding=rounding,
        min_price=None if min_price is None else quantize(min_price, cur),
        max_price=None if max_price is None else quantize(max_price, cur),
    )


@dataclass(frozen=True, slots=True)
class PriceSteps:
    """Each stage of the rule, for `sync explain`."""

    converted: Decimal  # base × rate + tax, unrounded
    rounded: Decimal
    ended: Decimal
    final: Decimal

    def describe(self, rule: PriceRule) -> str:
        parts = [f"converted {self.converted.normalize():f}", f"rounded {self.rounded:f}"]
        if rule.ending is not None:
            parts.append(f"ending {rule.ending.text} ({rule.rounding}) {self.ended:f}")
        if self.final != self.ended:
            parts.append(f"clamped to {self.final:f}")
        return ", ".join(parts)


def convert(base_amount: Decimal, rate: Decimal, rule: PriceRule) -> Decimal:
    """Base-currency amount into the marketplace currency plus its tax delta, rounded."""
    return quantize(base_amount * rate + rule.tax_delta, rule.currency)


def target_price(base_price: Decimal, rate: Decimal, rule: PriceRule) -> PriceSteps:
    converted = base_price * rate + rule.tax_delta
    rounded = quantize(converted, rule.currency)
    ended = (
        apply_ending(rounded, rule.currency, rule.ending, rule.rounding)
        if rule.ending is not None
        else rounded
    )
    return PriceSteps(converted, rounded, ended, clamp(ended, rule))


def final_price(base_price: Decimal, rate: Decimal, rule: PriceRule) -> Decimal:
    """`target_price(...).final` without keeping the steps: rendering prices every listing
    and only `sync explain` shows the steps."""
    price = quantize(base_price * rate + rule.tax_delta, rule.currency)
    if rule.ending is not None:
        price = apply_ending(price, rule.currency, rule.ending, rule.rounding)
    return clamp(price, rule)


def clamp(price: Decimal, rule: PriceRule) -> Decimal:
    if rule.min_price is not None and price < rule.min_price:
        return rule.min_price
    if rule.max_price is not None and price > rule.max_price:
        return rule.max_price
    return price


def sale_price_from_discount(our_price: Decimal, discount_pct: Decimal, cur: Currency) -> Decimal:
    """Our price less a percentage, rounded half-up to the minor unit (no ending: the
    shopper sees the percentage, not the digits)."""
    return quantize(our_price * (HUNDRED - discount_pct) / HUNDRED, cur)


@dataclass(frozen=True, slots=True)
class Floor:
    """The lowest price any discount stack may reach on a listing (`promotion_limits.floor`).
    Rendering makes it the offer's minimum seller allowed price, so Amazon itself suppresses
    a price under it; the guardrails check every sale and promotion stack against it."""

    price: Decimal  # in the listing currency, at its minor unit
    basis: str  # how it was worked out, for messages

    def describe(self, cur: Currency) -> str:
        return f"{self.price:f} {cur.code} ({self.basis})"


@dataclass(frozen=True, slots=True)
class FloorRule:
    """A parsed `promotion_limits.floor` setting: a fixed amount in the listing currency, or
    the product's cost converted through the base currency plus a margin. Rendering parses
    it once per marketplace layer and prices every listing with it: re-parsing the setting
    and formatting a description nobody reads made each listing's floor take 4.3 µs, not 1.1.
    """

    amount: Decimal | None
    margin_pct: Decimal | None

    @classmethod
    def parse(cls, setting: dict) -> FloorRule:
        if "amount" in setting:
            return cls(to_decimal(setting["amount"]), None)
        return cls(None, to_decimal(setting["cost_plus_margin_pct"]))

    def price(self, product: Product, fx: FxTable, cur: Currency) -> Decimal:
        """The floor of `product`'s listing in currency `cur`, at its minor unit."""
        if self.margin_pct is None:
            assert self.amount is not None
            return quantize(self.amount, cur)
        cost = product.cost
        converted = cost.amount / fx.rate(cost.currency) * fx.rate(cur.code)
        return quantize(converted * (HUNDRED + self.margin_pct) / HUNDRED, cur)

    def basis(self, product: Product) -> str:
        if self.margin_pct is None:
            return "floor amount"
        cost = product.cost
        return f"cost {cost.amount:f} {cost.currency} + {self.margin_pct.normalize():f}%"


def floor_price(setting: dict, product: Product, fx: FxTable, cur: Currency) -> Floor:
    """The floor from a `promotion_limits.floor` setting, with how it was worked out."""
    rule = FloorRule.parse(setting)
    return Floor(rule.price(product, fx, cur), rule.basis(product))
