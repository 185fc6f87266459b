"""How many buyers order a listing, and when: a price-sensitive Poisson process.

Pure: the caller passes the RNG and the times, so a seeded run is reproducible.

Rate (orders per hour) of one listing in one marketplace:

    rate = BASE_ORDERS_PER_DAY / 24 × market_size × sku_factor × size_of_price × lift

- `market_size`: the marketplace's rough share of buyers (US = 1).
- `sku_factor`: 0.5 to 1.5, fixed per SKU (a hash of it): some products simply sell better.
- `size_of_price` = clamp((typical / reference) ** 0.5, 0.25, 2): expensive items sell less
  often than the seller's typical item (the median reference price in that marketplace,
  so no exchange rates are needed).
- `lift` = min(MAX_LIFT, (reference / paid) ** ELASTICITY): demand rises steeply as the
  price a buyer pays falls below the reference price (the listing's our_price). With
  ELASTICITY 2: 20 % off sells 1.56×, half price 4×, 90 % off 100×; 99 % off would be
  10,000× and is capped at 400× (there are only so many buyers awake at night).

Arrivals are a Poisson process: exponential gaps at that rate.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from decimal import Decimal

BASE_ORDERS_PER_DAY = 3.0
ELASTICITY = 2.0
MAX_LIFT = 400.0
MARKET_SIZE = {
    "US": 1.0,
    "DE": 0.55,
    "UK": 0.45,
    "JP": 0.4,
    "FR": 0.3,
    "IT": 0.25,
    "ES": 0.25,
    "CA": 0.2,
    "MX": 0.1,
}
OTHER_MARKET_SIZE = 0.1
# Units per order: mostly one.
UNITS = (1, 2, 3)
UNIT_WEIGHTS = (0.88, 0.09, 0.03)


def sku_factor(sku: str) -> float:
    """0.5 to 1.5, the same for a SKU in every run and marketplace."""
    digest = hashlib.sha256(sku.encode("utf-8")).digest()
    return 0.5 + int.from_bytes(digest[:4], "big") / 0xFFFFFFFF


def price_lift(reference: Decimal, paid: Decimal, max_lift: float = MAX_LIFT) -> float:
    """How many times the base rate buyers order at `paid` (see the module docstring)."""
    if paid <= 0:
        return max_lift
    return min(max_lift, float(reference / paid) ** ELASTICITY)


def base_rate(sku: str, market: str, reference: Decimal, typical: Decimal) -> float:
    """Orders per hour at the reference price."""
    size_of_price = min(2.0, max(0.25, float(typical / reference) ** 0.5))
    return (
        BASE_ORDERS_PER_DAY
        / 24
        * MARKET_SIZE.get(market, OTHER_MARKET_SIZE)
        * sku_factor(sku)
        * size_of_price
    )


def hourly_rate(
    sku: str,
    market: str,
    reference: Decimal,
    typical: Decimal,
    paid: Decimal,
    max_lift: float = MAX_LIFT,
) -> float:
    return base_rate(sku, market, reference, typical) * price_lift(reference, paid, max_lift)


def arrivals(
    rng: random.Random, rate_per_hour: float, start: datetime, end: datetime
) -> list[datetime]:
    """Order times in [start, end) of a Poisson process with this rate."""
    if rate_per_hour <= 0:
        return []
    result = []
    at = start
    while True:
        at += timedelta(hours=rng.expovariate(rate_per_hour))
        if at >= end:
            return result
        result.append(at)


def units(rng: random.Random) -> int:
    return rng.choices(UNITS, UNIT_WEIGHTS)[0]
