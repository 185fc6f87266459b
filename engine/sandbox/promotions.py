"""Sandbox promotions: a stand-in for Seller Central, where SP-API cannot reach.

Sellers create percent-off promotions and promo codes in Seller Central; SP-API can neither
create nor read them, and they show up only on orders (`PromotionIds`, `PromotionDiscount`).
The sandbox lets `sync sandbox promo ...` create them so the demand simulation sells at the
promoted price. A promo code is assumed to have spread (as in the incident story): every
buyer uses it. Promotions do not stack: a buyer gets the single largest discount that
applies. `max_redemptions` counts orders.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from engine.core.money import currency, quantize

KINDS = ("percent-off", "promo-code")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CODE = re.compile(r"^[A-Z0-9]{4,20}$")


class PromotionError(ValueError):
    """A promotion that cannot be created as given (the message says which field and why)."""


@dataclass(frozen=True, slots=True)
class Promotion:
    promotion_id: str
    kind: str  # one of KINDS
    discount_pct: Decimal
    sku_pattern: str  # fnmatch pattern, e.g. HP-*
    marketplace_id: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    code: str | None = None
    max_redemptions: int | None = None
    redemptions: int = 0

    def active(self, at: datetime) -> bool:
        exhausted = self.max_redemptions is not None and self.redemptions >= self.max_redemptions
        return self.starts_at <= at < self.ends_at and not exhausted

    def covers(self, sku: str, marketplace_id: str) -> bool:
        return marketplace_id == self.marketplace_id and fnmatch.fnmatchcase(sku, self.sku_pattern)

    def redeemed(self) -> Promotion:
        return replace(self, redemptions=self.redemptions + 1)

    def discounted(self, price: Decimal, currency_code: str) -> Decimal:
        """The price after this promotion, rounded to the currency's minor unit."""
        return quantize(price * (100 - self.discount_pct) / 100, currency(currency_code))


def check(promotion: Promotion) -> Promotion:
    """The promotion if it is well-formed, else PromotionError naming the field."""
    if not _ID.match(promotion.promotion_id):
        raise PromotionError(
            f"id {promotion.promotion_id!r}: use 1-64 letters, digits, '.', '_' or '-'"
        )
    if promotion.kind not in KINDS:
        raise PromotionError(f"kind {promotion.kind!r}: must be one of {', '.join(KINDS)}")
    if not 0 < promotion.discount_pct <= 100:
        raise PromotionError(
            f"discount {promotion.discount_pct}: must be a percentage above 0 and at most 100"
        )
    if not promotion.sku_pattern.strip():
        raise PromotionError("sku: give a SKU or a pattern such as HP-*")
    if promotion.ends_at <= promotion.starts_at:
        raise PromotionError(
            f"end {promotion.ends_at.isoformat()} must be after start "
            f"{promotion.starts_at.isoformat()}"
        )
    if promotion.max_redemptions is not None and promotion.max_redemptions < 1:
        raise PromotionError("max redemptions: must be at least 1")
    if promotion.kind == "promo-code":
        if promotion.code is None or not _CODE.match(promotion.code):
            raise PromotionError(
                f"code {promotion.code!r}: a promo code is 4-20 upper-case letters or digits"
            )
    elif promotion.code is not None:
        raise PromotionError("code: only promo-code promotions have a code")
    return promotion


def best(
    promotions: Iterable[Promotion], sku: str, marketplace_id: str, at: datetime
) -> Promotion | None:
    """The promotion a buyer of this listing gets at `at`: the largest discount (no stacking)."""
    applicable = [p for p in promotions if p.covers(sku, marketplace_id) and p.active(at)]
    return max(applicable, key=lambda p: (p.discount_pct, p.promotion_id), default=None)
