"""Seller Central actions in the sandbox (promotions) and the canned incident scenario.

The incident is the story in DESIGN.md: a promo code meant as 10 % off the headphones was
entered as 99 % off, ran overnight in the US, and sold the merchant-fulfilled stock at about
1 USD a unit. The seeded demo stock is far below the story's (the US headphones hold about
120 MFN units), so the scenario first sets their US MFN quantity to the seller's ~300 units,
as someone would in Seller Central, and says so in its notes.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from engine.core.marketplaces import MARKETPLACES
from engine.sandbox import faults, listings
from engine.sandbox.account import Account
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.promotions import Promotion, PromotionError, check
from engine.sandbox.simulation import Summary, simulate

INCIDENT_MARKETPLACE = "US"
INCIDENT_SKUS = "HP-*"
INCIDENT_DISCOUNT = Decimal(99)
INCIDENT_CODE = "HEADPHONES99"
INCIDENT_HOURS = 10
INCIDENT_STOCK = 300


def add_promotion(account: Account, promotion: Promotion) -> Promotion:
    """Create a promotion (PromotionError when malformed, a duplicate id or a marketplace the
    account does not sell in)."""
    check(promotion)
    participating = {MARKETPLACES[c].marketplace_id for c in account.info.marketplaces}
    if promotion.marketplace_id not in participating:
        raise PromotionError(
            f"marketplace {promotion.marketplace_id}: the sandbox account does not sell there"
        )
    with account.store.write() as tx:
        try:
            OrderTables(tx).add_promotion(promotion)
        except KeyError:
            raise PromotionError(f"id {promotion.promotion_id!r} already exists") from None
    return promotion


def end_promotion(account: Account, promotion_id: str, now: datetime) -> Promotion:
    """End a promotion now (or leave an already ended one as it is)."""
    with account.store.write() as tx:
        tables = OrderTables(tx)
        promotion = tables.promotion(promotion_id)
        if promotion is None:
            raise PromotionError(f"no promotion {promotion_id!r}")
        tables.end_promotion(promotion_id, now)
    return replace(promotion, ends_at=min(promotion.ends_at, now))


def set_incident_stock(account: Account, total: int = INCIDENT_STOCK) -> list[str]:
    """Spread `total` units over the US merchant-fulfilled headphones; returns notes."""
    market = MARKETPLACES[INCIDENT_MARKETPLACE]
    with account.store.read() as tx:
        skus = [
            li.sku
            for li in tx.listings(account.seller_id, [market.marketplace_id])
            if fnmatch.fnmatchcase(li.sku, INCIDENT_SKUS)
            and listings.mfn_quantity(li.attributes) is not None
        ]
    if not skus:
        raise LookupError(f"no merchant-fulfilled {INCIDENT_SKUS} listings in {market.code}")
    share, extra = divmod(total, len(skus))
    parts = []
    for index, sku in enumerate(skus):
        quantity = share + (1 if index < extra else 0)
        faults.out_of_band_quantity(account, market.code, sku, quantity)
        parts.append(f"{sku} {quantity}")
    return [
        f"set the {market.code} MFN quantity of the headphones to {total} units in total, "
        f"as the seller had in the story ({', '.join(parts)})"
    ]


def incident(
    account: Account, advance: Callable[[timedelta], datetime], rng: random.Random
) -> Summary:
    """Run the incident: stock as in the story, the 99 %-off code, ten hours of buyers.
    The promotion is created first: if that is refused, nothing has changed."""
    now = account.clock.now()
    promotion = add_promotion(
        account,
        Promotion(
            promotion_id=f"INCIDENT-{now:%Y%m%d%H%M}",
            kind="promo-code",
            code=INCIDENT_CODE,
            discount_pct=INCIDENT_DISCOUNT,
            sku_pattern=INCIDENT_SKUS,
            marketplace_id=MARKETPLACES[INCIDENT_MARKETPLACE].marketplace_id,
            starts_at=now,
            ends_at=now + timedelta(hours=INCIDENT_HOURS),
            created_at=now,
        ),
    )
    notes = set_incident_stock(account)
    notes.append(
        f"promo code {INCIDENT_CODE} ({promotion.promotion_id}): {INCIDENT_DISCOUNT}% off "
        f"{INCIDENT_SKUS} in {INCIDENT_MARKETPLACE} for {INCIDENT_HOURS} hours (meant: 10% off)"
    )
    summary = simulate(account, advance, timedelta(hours=INCIDENT_HOURS), rng)
    summary.notes[:0] = notes
    return summary
