"""The lowest price a buyer can reach on a listing, and the floor it must stay at or above.

A listing's price over time is its own price, replaced by a sale price while a sale runs,
less every declared promotion running at that moment. Amazon computes each promotion on the
price the buyer sees, and stackable promotions (a coupon plus a promo code) add up, so the
percentages are *summed*, not compounded: 1 − 0.2 − 0.1 is below (1 − 0.2) × (1 − 0.1), and
the sum is the safe bound when we cannot know how Seller Central will combine them.
B2B quantity discounts are not stacked because sellersync does not manage B2B offers yet.

The price only drops when a window opens, so the lowest point is found by evaluating `now`
and every later start of a window: a handful of points per listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from engine.config.model import Config, Promotion, Sale
from engine.core.money import Currency, currency, quantize
from engine.core.resource import Resource
from engine.desired.pricing import HUNDRED, Floor, floor_price, sale_price_from_discount
from engine.guardrails.verdict import minute

__all__ = [
    "HUNDRED",
    "Discount",
    "Floor",
    "LowestPrice",
    "MarketDiscounts",
    "floor_price",
    "upcoming_discounts",
]


@dataclass(frozen=True, slots=True)
class Discount:
    """A sale or declared promotion that reaches one listing, with its window."""

    kind: str  # "sale", or the promotion kind (percent_off, promo_code, coupon)
    id: str
    start: datetime
    end: datetime
    sale_price: Decimal | None = None  # sales: the discounted price in the listing currency
    percent: Decimal | None = None
    amount: Decimal | None = None  # in the listing currency

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def active_at(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def describe(self, cur: Currency) -> str:
        if self.sale_price is not None:
            what = f"sale price {quantize(self.sale_price, cur):f}"
        elif self.percent is not None:
            what = f"{self.percent.normalize():f}% off"
        else:
            assert self.amount is not None
            what = f"{quantize(self.amount, cur):f} {cur.code} off"
        return f"{self.kind} {self.id} ({what})"


@dataclass(frozen=True, slots=True)
class MarketDiscounts:
    """The sales and declared promotions that reach one marketplace and have not ended."""

    sales: tuple[Sale, ...]
    promotions: tuple[Promotion, ...]

    def on(self, resource: Resource) -> tuple[Discount, ...]:
        """Those that reach `resource`, with sale prices worked out as rendering does (a
        fixed price, or a percentage of our price)."""
        cur = currency(resource.currency)
        found: list[Discount] = []
        for sale in self.sales:
            if not sale.skus.matches(resource.sku):
                continue
            if sale.price is not None:
                price = quantize(sale.price, cur)
            else:
                assert sale.discount_pct is not None
                price = sale_price_from_discount(resource.our_price, sale.discount_pct, cur)
            found.append(Discount("sale", sale.id, sale.start, sale.end, sale_price=price))
        for promo in self.promotions:
            if promo.skus.matches(resource.sku):
                found.append(
                    Discount(
                        promo.kind,
                        promo.id,
                        promo.start,
                        promo.end,
                        percent=promo.percent,
                        amount=promo.amount,
                    )
                )
        return tuple(found)


def upcoming_discounts(config: Config, now: datetime) -> dict[str, MarketDiscounts]:
    """Per marketplace code, the sales and promotions there that have not ended by `now`;
    marketplaces that none reaches are left out."""
    found: dict[str, MarketDiscounts] = {}
    for code in config.marketplaces:
        sales = tuple(s for s in config.sales if s.end > now and code in s.marketplaces)
        promos = tuple(p for p in config.promotions if p.end > now and code in p.marketplaces)
        if sales or promos:
            found[code] = MarketDiscounts(sales, promos)
    return found


@dataclass(frozen=True, slots=True)
class LowestPrice:
    price: Decimal
    at: datetime
    stacked: tuple[Discount, ...]  # what is running at that moment

    def describe(self, cur: Currency) -> str:
        parts = " + ".join(d.describe(cur) for d in self.stacked) or "no discount"
        return f"{self.price:f} {cur.code} from {minute(self.at)} ({parts})"


def lowest_price(
    our_price: Decimal, cur: Currency, discounts: tuple[Discount, ...], now: datetime
) -> LowestPrice:
    """The lowest price reachable from `now` on; the earliest moment when there are ties."""
    moments = sorted({now, *(d.start for d in discounts if d.start > now)})
    best: LowestPrice | None = None
    for moment in moments:
        running = tuple(d for d in discounts if d.active_at(moment))
        item = min([our_price, *(d.sale_price for d in running if d.sale_price is not None)])
        percent = sum((d.percent for d in running if d.percent is not None), Decimal(0))
        amount = sum((d.amount for d in running if d.amount is not None), Decimal(0))
        price = quantize(max(item * (HUNDRED - percent) / HUNDRED - amount, Decimal(0)), cur)
        if best is None or price < best.price:
            best = LowestPrice(price, moment, running)
    assert best is not None
    return best
