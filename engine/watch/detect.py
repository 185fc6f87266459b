"""What the watchdog looks for in orders. Pure: orders, config and history in, detections out.

Three rules, each about one listing (marketplace × SKU):

- `below_floor`: a unit sold at a realized price (item price less promotion discount, per
  unit) under the listing's floor, the same floor the plan-time guardrails enforce
  (`promotion_limits.floor`, engine.guardrails.stacking.floor_price). However the price got
  there (a promotion typed as 99 % instead of 10 %, a decimal slip made in Seller Central),
  money is being lost on every unit.
- `undeclared_promotion`: an order carries a promotion that config does not declare (matched
  by id or promo code among the promotions that apply to the listing) and the discount on
  that line is deeper than `promotion_limits.max_discount_pct`. A shallow undeclared
  promotion is normal Seller Central business; a deep one is the runaway-code pattern.
- `declared_mismatch`: an order line carries only promotions config declares, but either the
  line's discount is deeper than those promotions allow (the percentages and amounts that
  promotions.yaml declares, as engine.guardrails.stacking prices them, plus one percentage
  point of the item price for Amazon's rounding), or the order was placed outside every
  matching promotion's declared window. A code declared as 10 % but set to 45 % in Seller
  Central matches by code and is still wrong: matching by id or code alone would let it run.
- `velocity`: units sold in the last `window_minutes` are at least `min_units` and their rate
  is more than `multiplier` times the SKU's baseline rate (units per hour over the previous
  `baseline_days`, from the watchdog's own order history in the state store). `min_units`
  keeps a SKU that usually sells nothing from tripping on its first two orders; the
  multiplier keeps a best seller from tripping on a busy evening. Defaults (60 min, 7 days,
  10×, 10 units) sit far above a normal day of the demo seller (a few units per SKU a day)
  and far below a runaway promotion (dozens of units per SKU an hour).

Canceled orders are ignored: they are not sales. Orders of a listing purchased before its
latest incident acknowledgement are ignored too, so acknowledging an incident releases the
breaker for good: a re-trip needs new orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from engine.config.model import Config, Promotion, WatchSettings
from engine.core.marketplaces import MARKETPLACES
from engine.core.money import currency, quantize, to_decimal
from engine.core.orders import Order, OrderItem, iso
from engine.core.resource import Resource, address
from engine.guardrails.rules.base import TENTH, percent_text
from engine.guardrails.settings import DEFAULTS, Settings
from engine.guardrails.stacking import HUNDRED, Floor, floor_price
from engine.state.watched_orders import OrderUnits

Rule = Literal[
    "below_floor", "undeclared_promotion", "declared_mismatch", "velocity", "runaway_sibling"
]
RULES: tuple[Rule, ...] = (
    "below_floor",
    "undeclared_promotion",
    "declared_mismatch",
    "velocity",
    "runaway_sibling",  # the follower's (engine.watch.follow), never made here
)
# How much deeper than declared a line's discount may be, in points of its item price: the
# rounding of percentages to the minor unit, per unit, stays far inside it.
MISMATCH_TOLERANCE_PCT = Decimal(1)
Key = tuple[str, str]  # (marketplace, sku)
CANCELED = "Canceled"


@dataclass(frozen=True, slots=True)
class Detection:
    """One rule firing on one listing, with the orders that made it fire."""

    rule: Rule
    marketplace: str
    sku: str
    message: str
    order_ids: tuple[str, ...]
    units: int
    first_order_at: datetime | None  # None for velocity without order ids

    @property
    def address(self) -> str:
        return address(self.marketplace, self.sku)

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "marketplace": self.marketplace,
            "sku": self.sku,
            "address": self.address,
            "message": self.message,
            "orders": list(self.order_ids),
            "units": self.units,
            "first_order_at": None if self.first_order_at is None else iso(self.first_order_at),
        }


@dataclass(frozen=True, slots=True)
class History:
    """What the state store knows about recent sales of one marketplace's listings.

    recent: the order lines purchased in the velocity window (ending now).
    baseline_units: units per SKU over the `baseline_days` before the window."""

    recent: Sequence[OrderUnits] = ()
    baseline_units: Mapping[str, int] = field(default_factory=dict)


class Limits:
    """Floors and discount limits per listing, looked up as the plan-time guardrails do."""

    def __init__(self, config: Config, desired: Mapping[str, Resource]):
        self._config = config
        self._desired = desired
        self._settings = Settings(config, {})

    def managed(self, key: Key) -> bool:
        marketplace, sku = key
        return marketplace in self._config.marketplaces and sku in self._config.products

    def floor(self, key: Key) -> Floor | None:
        """The listing's floor in its currency; None for a SKU config does not manage."""
        if not self.managed(key):
            return None
        marketplace, sku = key
        resource = self._desired.get(address(marketplace, sku))
        code = resource.currency if resource else MARKETPLACES[marketplace].currency
        setting = self._settings.listing("promotion_limits.floor", marketplace, sku)
        return floor_price(setting, self._config.products[sku], self._config.fx, currency(code))

    def max_discount_pct(self, key: Key) -> Decimal:
        name = "promotion_limits.max_discount_pct"
        if self.managed(key):
            return self._settings.percent(name, *key)
        setting = self._config.project.defaults.get(name)
        return to_decimal(DEFAULTS[name] if setting is None else setting.value)

    def declared(self, key: Key, promotion_id: str) -> bool:
        return bool(self.declarations(key, promotion_id))

    def declarations(self, key: Key, promotion_id: str) -> list[Promotion]:
        """The declared promotions an order's promotion id stands for (by id or code)."""
        return [
            p
            for p in self._config.promotions
            if promotion_id in (p.id, p.code) and p.applies_to(*key)
        ]


def acknowledged_until(config: Config) -> dict[Key, datetime]:
    """Per listing, the latest acknowledgement time of its incidents in config."""
    found: dict[Key, datetime] = {}
    for incident in config.incidents:
        key = (incident.marketplace, incident.sku)
        found[key] = max(found.get(key, incident.acknowledged_at), incident.acknowledged_at)
    return found


def discount_pct(item: OrderItem) -> Decimal | None:
    """The promotion discount on a line, in percent of its item price, to a tenth."""
    if not item.item_price or item.promotion_discount is None:
        return None
    return (item.promotion_discount / item.item_price * HUNDRED).quantize(TENTH)


def detect(
    orders: Iterable[Order],
    config: Config,
    desired: Mapping[str, Resource],
    history: Mapping[str, History],
    now: datetime,
    settings: WatchSettings | None = None,
) -> list[Detection]:
    """Detections over `orders` (those updated since the checkpoint) and, per marketplace
    code, its sales `history`. `desired` (address -> Resource) gives listing currencies."""
    settings = settings or config.project.watch
    limits = Limits(config, desired)
    quiet = acknowledged_until(config)
    lines: dict[tuple[Rule, Key], list[tuple[Order, OrderItem, str]]] = {}
    for order in orders:
        if order.status == CANCELED:
            continue
        for item in order.items:
            key = (order.marketplace, item.sku)
            if key in quiet and order.purchase_date <= quiet[key]:
                continue
            for rule, why in line_findings(order, item, key, limits):
                lines.setdefault((rule, key), []).append((order, item, why))
    found = [_summarise(rule, key, group) for (rule, key), group in lines.items()]
    for code, known in history.items():
        found += _velocity(code, known, quiet, now, settings)
    return sorted(found, key=lambda d: (d.marketplace, d.sku, RULES.index(d.rule)))


def line_findings(
    order: Order, item: OrderItem, key: Key, limits: Limits
) -> Iterable[tuple[Rule, str]]:
    unit = item.realized_unit_price
    if unit is None:
        return  # Pending: not priced yet
    cur = currency(order.currency)
    floor = limits.floor(key)
    if floor is not None and unit < floor.price:
        yield "below_floor", f"{quantize(unit, cur):f} a unit, floor {floor.describe(cur)}"
    undeclared = [p for p in item.promotion_ids if not limits.declared(key, p)]
    depth = discount_pct(item)
    if undeclared and depth is not None and depth > limits.max_discount_pct(key):
        yield "undeclared_promotion", f"{percent_text(depth)} off by {', '.join(undeclared)}"
    if item.promotion_ids and not undeclared:
        why = declared_mismatch(order, item, key, limits)
        if why is not None:
            yield "declared_mismatch", why


def declared_mismatch(order: Order, item: OrderItem, key: Key, limits: Limits) -> str | None:
    """Why a priced line whose promotions are all declared does not match the declaration
    (see the module docstring), or None when it does."""
    assert item.item_price is not None and item.promotion_discount is not None
    names = ", ".join(item.promotion_ids)
    matched = [limits.declarations(key, p) for p in item.promotion_ids]
    running = [[p for p in group if p.start <= order.purchase_date < p.end] for group in matched]
    if any(not group for group in running):
        return f"{names} used at {iso(order.purchase_date)}, outside its declared window"
    # Per promotion id, the deepest declaration it may stand for; stacked ids add up, as
    # engine.guardrails.stacking stacks them.
    percent = sum(
        (max((p.percent or Decimal(0) for p in group), default=Decimal(0)) for group in running),
        Decimal(0),
    )
    amount = sum(
        (max((p.amount or Decimal(0) for p in group), default=Decimal(0)) for group in running),
        Decimal(0),
    )
    allowed = item.item_price * percent / HUNDRED + amount * item.quantity
    tolerance = item.item_price * MISMATCH_TOLERANCE_PCT / HUNDRED
    if item.promotion_discount <= allowed + tolerance:
        return None
    cur = currency(order.currency)
    depth = discount_pct(item)
    declared = percent_text(percent) if percent else "0%"
    if amount:
        declared += f" + {quantize(amount, cur):f} {cur.code} a unit"
    return (
        f"{names} took {percent_text(depth or Decimal(0))} off, declared {declared} "
        f"({quantize(item.promotion_discount, cur):f} against at most "
        f"{quantize(allowed, cur):f} {cur.code})"
    )


def _summarise(rule: Rule, key: Key, group: list[tuple[Order, OrderItem, str]]) -> Detection:
    orders = list(dict.fromkeys(o.amazon_order_id for o, _, _ in group))
    units = sum(item.quantity for _, item, _ in group)
    first = min(o.purchase_date for o, _, _ in group)
    reasons = sorted({why for _, _, why in group})
    shown = "; ".join(reasons[:3]) + (f"; +{len(reasons) - 3} more" if len(reasons) > 3 else "")
    if rule == "below_floor":
        message = f"{units} unit(s) in {len(orders)} order(s) sold under the floor ({shown})"
    elif rule == "declared_mismatch":
        message = (
            f"{units} unit(s) in {len(orders)} order(s) carry a declared promotion that does "
            f"not match promotions.yaml ({shown})"
        )
    else:
        message = (
            f"{units} unit(s) in {len(orders)} order(s) carry a promotion config does not "
            f"declare, deeper than promotion_limits.max_discount_pct ({shown})"
        )
    return Detection(rule, key[0], key[1], message, tuple(orders), units, first)


def _velocity(
    code: str,
    known: History,
    quiet: Mapping[Key, datetime],
    now: datetime,
    settings: WatchSettings,
) -> list[Detection]:
    window = timedelta(minutes=settings.velocity_window_minutes)
    by_sku: dict[str, list[OrderUnits]] = {}
    for line in known.recent:
        acknowledged = quiet.get((code, line.sku))
        if acknowledged is not None and line.purchased_at <= acknowledged:
            continue
        if now - window <= line.purchased_at < now and line.units > 0:
            by_sku.setdefault(line.sku, []).append(line)
    found = []
    hours = Decimal(settings.velocity_window_minutes) / 60
    baseline_hours = Decimal(settings.velocity_baseline_days * 24)
    for sku, group in by_sku.items():
        units = sum(line.units for line in group)
        rate = units / hours
        baseline = known.baseline_units.get(sku, 0) / baseline_hours
        if units < settings.velocity_min_units or rate <= settings.velocity_multiplier * baseline:
            continue
        found.append(
            Detection(
                "velocity",
                code,
                sku,
                f"{units} units in the last {settings.velocity_window_minutes} min "
                f"({_rate(rate)} an hour) against a baseline of {_rate(baseline)} an hour over "
                f"{settings.velocity_baseline_days} days; the limit is "
                f"{settings.velocity_multiplier.normalize():f}x the baseline and at least "
                f"{settings.velocity_min_units} units",
                tuple(dict.fromkeys(line.amazon_order_id for line in group)),
                units,
                min(line.purchased_at for line in group),
            )
        )
    return found


def _rate(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"
