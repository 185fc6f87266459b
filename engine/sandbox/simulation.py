"""Buyers over virtual time: orders placed by the demand model, stock taken, a summary.

`simulate` moves the sandbox clock forward in steps (15 minutes, and exactly at every
promotion's start and end), and in each step:

1. draws Poisson arrivals per buyable listing at the rate `demand` gives for the price a
   buyer pays at the step's start: the effective offer price (a running sale price, else
   our_price) less the best active promotion;
2. walks the arrivals in time order; each one re-prices the listing at its own moment and is
   kept with probability rate(now) / rate(step start) (Poisson thinning: exact when a
   promotion runs out mid-step), then takes 1-3 units from stock. A listing with no stock
   left gets no more orders: MFN quantity lives in the listing attributes, FBA quantity is
   Amazon's;

Lifecycle events (payment, cancellation requests, shipping) are replayed from each order's
planned fate when orders are read, and once more at the end of the run.

Orders, stock and promotion redemptions of a step commit in one transaction. The RNG is the
caller's: the same seed on the same account gives the same orders. Order and item ids are not
drawn from it but numbered by the account (`OrderTables.next_serial`, emptied by reset with the
orders): a second run with the same seed continues the numbering instead of colliding with
the ids of the first.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.core.marketplaces import BY_ID, MARKETPLACES
from engine.core.money import currency, quantize
from engine.sandbox import demand, lifecycle, listings, orders
from engine.sandbox.account import Account
from engine.sandbox.lifecycle import Order, OrderItem
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.promotions import Promotion, best
from engine.sandbox.store import Listing, Tx, to_micros

STEP = timedelta(minutes=15)
DEFAULT_HANDLING_DAYS = 2
AFN_HANDLING = timedelta(days=1)
# First block of Amazon order ids by region (3-7-7 digits, e.g. 114-3941689-8772232).
_ORDER_ID_PREFIXES = {"NA": (111, 112, 113, 114), "EU": (26, 28, 302, 303, 305), "FE": (249, 250)}
# The 14 digits after it (and an order item's 14 digits) are a bijection of the account's
# serial number, n -> (a * n + b) mod 10**14 with a coprime to 10: distinct serials give
# distinct ids, and neighbouring ones do not look sequential.
_DIGITS = 10**14
_ORDER_AFFINE = (73_939_133_612_207, 41_872_960_553_311)
_ITEM_AFFINE = (61_540_829_376_543, 27_182_818_284_590)
# Where buyers of each marketplace live: (share, country, cities); the rest is cross-border.
DESTINATIONS: dict[str, tuple[tuple[float, str, tuple[str, ...]], ...]] = {
    "US": (
        (0.97, "US", ("New York", "Los Angeles", "Chicago", "Houston", "Seattle")),
        (0.02, "CA", ("Toronto", "Vancouver")),
        (0.01, "MX", ("Monterrey",)),
    ),
    "CA": (
        (0.95, "CA", ("Toronto", "Montreal", "Vancouver", "Calgary")),
        (0.05, "US", ("Buffalo",)),
    ),
    "MX": (
        (0.97, "MX", ("Ciudad de México", "Guadalajara", "Monterrey")),
        (0.03, "US", ("San Diego",)),
    ),
    "UK": (
        (0.95, "GB", ("London", "Manchester", "Birmingham", "Glasgow")),
        (0.05, "IE", ("Dublin",)),
    ),
    "DE": (
        (0.85, "DE", ("Berlin", "Hamburg", "München", "Köln")),
        (0.10, "AT", ("Wien", "Graz")),
        (0.05, "LU", ("Luxembourg",)),
    ),
    "FR": (
        (0.90, "FR", ("Paris", "Lyon", "Marseille", "Toulouse")),
        (0.07, "BE", ("Bruxelles", "Liège")),
        (0.03, "LU", ("Luxembourg",)),
    ),
    "IT": ((0.96, "IT", ("Roma", "Milano", "Napoli", "Torino")), (0.04, "SM", ("San Marino",))),
    "ES": (
        (0.93, "ES", ("Madrid", "Barcelona", "Valencia", "Sevilla")),
        (0.07, "PT", ("Lisboa", "Porto")),
    ),
    "JP": ((1.0, "JP", ("Tokyo", "Osaka", "Nagoya", "Sapporo")),),
}


@dataclass(frozen=True, slots=True)
class SoldOut:
    marketplace: str
    sku: str
    at: datetime


@dataclass(slots=True)
class Summary:
    """What a simulation produced: the orders placed, listings that sold out, notes."""

    start: datetime
    end: datetime
    orders: list[Order] = field(default_factory=list)
    sold_out: list[SoldOut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        by_market: dict[tuple[str, str], list[Order]] = {}
        by_sku: dict[tuple[str, str, str], list[Order]] = {}
        for order in self.orders:
            code = BY_ID[order.marketplace_id].code
            by_market.setdefault((code, order.currency), []).append(order)
            for item in order.items:
                by_sku.setdefault((code, item.sku, order.currency), []).append(order)
        return {
            "from": orders.iso(self.start),
            "to": orders.iso(self.end),
            "orders": len(self.orders),
            "units": sum(o.units for o in self.orders),
            "notes": list(self.notes),
            "by_marketplace": [
                {"marketplace": code, "currency": cur, **_totals(group, cur)}
                for (code, cur), group in sorted(by_market.items())
            ],
            "by_sku": [
                {
                    "marketplace": code,
                    "sku": sku,
                    "currency": cur,
                    **_totals(group, cur),
                    **_unit_prices(group, sku, cur),
                }
                for (code, sku, cur), group in sorted(by_sku.items())
            ],
            "sold_out": [
                {"marketplace": s.marketplace, "sku": s.sku, "at": orders.iso(s.at)}
                for s in self.sold_out
            ],
            "statuses": dict(sorted(_count(o.status for o in self.orders).items())),
        }


def _count(values: Any) -> dict[str, int]:
    result: dict[str, int] = {}
    for value in values:
        result[value] = result.get(value, 0) + 1
    return result


def _totals(group: list[Order], cur: str) -> dict[str, Any]:
    revenue = sum((o.total for o in group), Decimal(0))
    return {
        "orders": len(group),
        "units": sum(o.units for o in group),
        "revenue": f"{quantize(revenue, currency(cur)):f}",
    }


def _unit_prices(group: list[Order], sku: str, cur: str) -> dict[str, str]:
    """Realized unit prices (what buyers paid per unit, after promotions)."""
    prices = [i.paid / i.quantity for o in group for i in o.items if i.sku == sku]
    money = currency(cur)
    return {
        "unit_price_min": f"{quantize(min(prices), money):f}",
        "unit_price_median": f"{quantize(statistics.median(prices), money):f}",
    }


def _stock(listing: Listing) -> int:
    if listings.is_fba(listing.attributes):
        return listing.fba_quantity or 0
    return listings.mfn_quantity(listing.attributes) or 0


def _handling(listing: Listing) -> timedelta:
    for value in listing.attributes.get("fulfillment_availability") or ():
        days = value.get("lead_time_to_ship_max_days") if isinstance(value, dict) else None
        if isinstance(days, int) and not isinstance(days, bool) and days > 0:
            return timedelta(days=days)
    return timedelta(days=DEFAULT_HANDLING_DAYS)


class _Market:
    """The buyable listings of the account at the start of a step, and their prices."""

    def __init__(
        self, tx: Tx, account: Account, promotions: list[Promotion], max_lift: float
    ) -> None:
        self.max_lift = max_lift
        self.promotions = {p.promotion_id: p for p in promotions}
        mids = [MARKETPLACES[c].marketplace_id for c in account.info.marketplaces]
        severities = tx.issue_severities(account.seller_id)
        self.listings: list[tuple[Listing, dict[str, Any], Decimal]] = []
        references: dict[str, list[Decimal]] = {}
        for li in tx.listings(account.seller_id, mids):
            offer = listings.main_offer(li.attributes)
            reference = None if offer is None else listings.first_price(offer, "our_price")
            if offer is None or reference is None or reference <= 0:
                continue
            references.setdefault(li.marketplace_id, []).append(reference)
            key = (li.sku, li.marketplace_id)
            if "ERROR" in severities.get(key, ()) and listings.suppressed(
                tx.issues(account.seller_id, li.sku, li.marketplace_id)
            ):
                continue
            self.listings.append((li, offer, reference))
        self.typical = {mid: statistics.median(refs) for mid, refs in references.items()}

    def price(
        self, listing: Listing, offer: Mapping[str, Any], at: datetime
    ) -> tuple[Decimal, Decimal, Promotion | None]:
        """(offer price, price the buyer pays, the promotion that made the difference)."""
        offer_price = listings.effective_price(offer, at) or Decimal(0)
        promo = best(self.promotions.values(), listing.sku, listing.marketplace_id, at)
        if promo is None:
            return offer_price, offer_price, None
        paid = promo.discounted(offer_price, BY_ID[listing.marketplace_id].currency)
        return offer_price, paid, promo

    def rate(
        self, listing: Listing, offer: Mapping[str, Any], reference: Decimal, at: datetime
    ) -> float:
        _, paid, _ = self.price(listing, offer, at)
        code = BY_ID[listing.marketplace_id].code
        typical = self.typical[listing.marketplace_id]
        return demand.hourly_rate(listing.sku, code, reference, typical, paid, self.max_lift)


def _digits(serial: int, affine: tuple[int, int]) -> str:
    multiplier, offset = affine
    return f"{(multiplier * serial + offset) % _DIGITS:014d}"


def order_id(prefix: int, serial: int, rng: random.Random | None = None) -> str:
    """The Amazon-shaped order id (3-7-7 digits) of the account's `serial`-th order id.
    With `rng`, takes from it the two draws ids used to be made of (see `_keep_stream`)."""
    _keep_stream(rng, 10**7, 10**7)
    digits = _digits(serial, _ORDER_AFFINE)
    return f"{prefix:03d}-{digits[:7]}-{digits[7:]}"


def order_item_id(serial: int, rng: random.Random | None = None) -> str:
    """The 14-digit order item id of the account's `serial`-th item (with `rng`, taking the
    draw it used to be made of, see `_keep_stream`)."""
    _keep_stream(rng, 10**14)
    return _digits(serial, _ITEM_AFFINE)


def _keep_stream(rng: random.Random | None, *bounds: int) -> None:
    """Ids used to be drawn from the simulation's RNG. They are numbered now, but the draws
    are still taken, unused, so that a seed gives the same orders as before: every seeded
    figure in the docs and the tests (bench/watch_compare.py's tables, the watchdog tests'
    nights) was measured on that stream."""
    if rng is not None:
        for bound in bounds:
            rng.randrange(bound)


def _destination(rng: random.Random, code: str) -> tuple[str, str]:
    options = DESTINATIONS.get(code)
    if options is None:
        return MARKETPLACES[code].country, ""
    _, country, cities = rng.choices(options, [share for share, _, _ in options])[0]
    return country, rng.choice(cities)


def _new_order(
    rng: random.Random,
    serials: Callable[[], int],
    account: Account,
    listing: Listing,
    at: datetime,
    quantity: int,
    prices: tuple[Decimal, Decimal, Promotion | None],
) -> Order:
    offer_price, paid, promo = prices
    mkt = BY_ID[listing.marketplace_id]
    channel = "AFN" if listings.is_fba(listing.attributes) else "MFN"
    latest_ship = at + (AFN_HANDLING if channel == "AFN" else _handling(listing))
    country, city = _destination(rng, mkt.code)
    item = OrderItem(
        order_item_id=order_item_id(serials(), rng),
        sku=listing.sku,
        asin=listing.asin,
        title=listings.item_name(listing.attributes) or listing.sku,
        quantity=quantity,
        item_price=offer_price * quantity,
        promotion_discount=(offer_price - paid) * quantity,
        promotion_ids=() if promo is None else (promo.promotion_id,),
    )
    return Order(
        amazon_order_id=order_id(rng.choice(_ORDER_ID_PREFIXES[mkt.region]), serials(), rng),
        seller_id=account.seller_id,
        marketplace_id=listing.marketplace_id,
        channel=channel,
        currency=mkt.currency,
        purchase_date=at,
        latest_ship_date=latest_ship,
        ship_country=country,
        ship_city=city,
        fate=lifecycle.plan_fate(rng, channel, at, latest_ship),
        items=(item,),
    )


def place_orders(
    account: Account,
    rng: random.Random,
    start: datetime,
    end: datetime,
    max_lift: float = demand.MAX_LIFT,
) -> tuple[list[Order], list[SoldOut]]:
    """One step: the orders buyers place in [start, end), stock and redemptions included."""
    placed: list[Order] = []
    sold_out: list[SoldOut] = []
    with account.store.write() as tx:
        tables = OrderTables(tx)
        market = _Market(tx, account, tables.promotions(), max_lift)
        arrivals: list[tuple[datetime, int, float]] = []
        for index, (listing, offer, reference) in enumerate(market.listings):
            if _stock(listing) <= 0:
                continue
            rate = market.rate(listing, offer, reference, start)
            arrivals.extend((at, index, rate) for at in demand.arrivals(rng, rate, start, end))
        for at, index, start_rate in sorted(arrivals):
            listing, offer, reference = market.listings[index]
            current = tx.listing(account.seller_id, listing.sku, listing.marketplace_id)
            if current is None or _stock(current) <= 0:
                continue
            if rng.random() * start_rate > market.rate(current, offer, reference, at):
                continue  # thinned: the price went up since the step started
            quantity = min(demand.units(rng), _stock(current))
            prices = market.price(current, offer, at)
            order = _new_order(rng, tables.next_serial, account, current, at, quantity, prices)
            tables.add_order(order)
            orders.change_stock(tx, account.seller_id, order, -1, at)
            promo = prices[2]
            if promo is not None:
                tables.redeem(promo.promotion_id)
                market.promotions[promo.promotion_id] = promo.redeemed()
            placed.append(order)
            if quantity == _stock(current):
                code = BY_ID[listing.marketplace_id].code
                sold_out.append(SoldOut(code, listing.sku, at))
    return placed, sold_out


def simulate(
    account: Account,
    advance: Callable[[timedelta], datetime],
    duration: timedelta,
    rng: random.Random,
    *,
    step: timedelta = STEP,
    max_lift: float = demand.MAX_LIFT,
) -> Summary:
    """Run buyers for `duration` of virtual time; `advance` moves the sandbox clock (and
    processes whatever became due), e.g. `Sandbox.advance`. `max_lift` caps how many times
    its base rate a deep discount sells (engine.sandbox.demand): a code shared on a deal
    site reaches more buyers than the night's default."""
    start = account.clock.now()
    end = start + duration
    with account.store.read() as tx:
        boundaries = sorted(
            {t for p in OrderTables(tx).promotions() for t in (p.starts_at, p.ends_at)}
        )
    summary = Summary(start, start)
    t0 = start
    while t0 < end:
        target = min([t0 + step, end, *(b for b in boundaries if b > t0)])
        t1 = advance(target - t0)
        placed, sold_out = place_orders(account, rng, t0, t1, max_lift)
        summary.orders.extend(placed)
        summary.sold_out.extend(sold_out)
        t0 = t1
    orders.process_due(account)
    with account.store.read() as tx:
        summary.orders = OrderTables(tx).select(
            "purchase_date >= ? AND purchase_date < ?",
            (to_micros(start), to_micros(t0)),
            "ORDER BY purchase_date, amazon_order_id",
        )
    summary.end = t0
    return summary
