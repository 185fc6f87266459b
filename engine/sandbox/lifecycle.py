"""Sandbox orders and their life: Pending -> Unshipped -> Shipped, or Canceled.

An order's future is drawn once, when it is placed (`plan_fate`), and stored with it: when
payment clears, when the warehouse ships (some after the latest ship date, some without a
valid tracking number), whether the buyer asks to cancel, whether an A-to-z claim or negative
feedback follows. `advance` then replays the events that are due at a given time, so the
same store gives the same orders at the same virtual time however often and from whichever
process it is read. Pure: times are passed in, randomness comes from the caller's RNG.

Shares (per order): 3 % of merchant-fulfilled orders ship late, 3 % ship without valid
tracking, 2 % of buyers ask to cancel before shipment, 0.8 % of orders draw a claim or
negative feedback 3 to 20 days after purchase. A buyer's cancellation request stops the
simulated warehouse from shipping: the order waits for the seller to cancel it (with the
order acknowledgement feed, as on Amazon). Amazon ships FBA (AFN) orders itself, on time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

PENDING = "Pending"
UNSHIPPED = "Unshipped"
SHIPPED = "Shipped"
CANCELED = "Canceled"
STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable")
CHANNELS = ("MFN", "AFN")

LATE_SHARE = 0.03
INVALID_TRACKING_SHARE = 0.03
BUYER_CANCEL_SHARE = 0.02
DEFECT_SHARE = 0.008
DEFECTS = ("a_to_z_claim", "negative_feedback")
BUYER_CANCEL_REASONS = (
    "Order placed by mistake",
    "Found a better price elsewhere",
    "Delivery date too late",
)


class OrderStateError(ValueError):
    """A change the order's current status does not allow (e.g. cancelling a shipped one)."""


@dataclass(frozen=True, slots=True)
class Fate:
    """Everything that will happen to an order unless the seller intervenes."""

    paid_at: datetime
    ship_at: datetime
    valid_tracking: bool
    cancel_request_at: datetime | None = None
    buyer_cancel_reason: str | None = None
    defect: str | None = None  # one of DEFECTS
    defect_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One line of an order. `item_price` is the offer price times quantity (what Amazon
    reports as ItemPrice); `promotion_discount` is taken off that."""

    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    item_price: Decimal
    promotion_discount: Decimal
    promotion_ids: tuple[str, ...] = ()

    @property
    def paid(self) -> Decimal:
        return self.item_price - self.promotion_discount


@dataclass(frozen=True, slots=True)
class Order:
    amazon_order_id: str
    seller_id: str
    marketplace_id: str
    channel: str  # MFN | AFN
    currency: str
    purchase_date: datetime
    latest_ship_date: datetime
    ship_country: str
    ship_city: str
    fate: Fate
    items: tuple[OrderItem, ...]
    status: str = PENDING
    last_update: datetime | None = None  # None: the purchase date
    buyer_requested_cancel: bool = False
    shipped_at: datetime | None = None
    canceled_at: datetime | None = None
    canceled_by: str | None = None  # seller | buyer
    cancel_reason: str | None = None

    @property
    def updated(self) -> datetime:
        return self.last_update or self.purchase_date

    @property
    def total(self) -> Decimal:
        return sum((item.paid for item in self.items), Decimal(0))

    @property
    def units(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def late(self) -> bool:
        return self.shipped_at is not None and self.shipped_at > self.latest_ship_date

    def defect_by(self, now: datetime) -> str | None:
        """The claim or negative feedback on a shipped order, once it has happened."""
        fate = self.fate
        if self.shipped_at is None or fate.defect_at is None or fate.defect_at > now:
            return None
        return fate.defect

    def next_event(self) -> tuple[datetime, str] | None:
        """The next planned change of this order (time, kind), if any."""
        fate = self.fate
        if self.status == PENDING:
            return fate.paid_at, "paid"
        if self.status != UNSHIPPED or self.buyer_requested_cancel:
            return None
        if fate.cancel_request_at is not None and fate.cancel_request_at < fate.ship_at:
            return fate.cancel_request_at, "cancel_request"
        return fate.ship_at, "ship"


def plan_fate(rng: random.Random, channel: str, purchase: datetime, latest_ship: datetime) -> Fate:
    """Draw an order's future (see the module docstring for the shares)."""
    paid = purchase + timedelta(minutes=rng.uniform(1, 30))
    handling = (latest_ship - paid).total_seconds()
    if channel == "AFN":
        ship = paid + timedelta(hours=rng.uniform(2, 24))
        valid_tracking = True
    else:
        if rng.random() < LATE_SHARE:
            ship = latest_ship + timedelta(hours=rng.uniform(2, 36))
        else:
            ship = paid + timedelta(seconds=rng.uniform(0.1, 0.8) * handling)
        valid_tracking = rng.random() >= INVALID_TRACKING_SHARE
    cancel_at = reason = None
    if rng.random() < BUYER_CANCEL_SHARE:
        cancel_at = paid + timedelta(minutes=rng.uniform(10, 180))
        reason = rng.choice(BUYER_CANCEL_REASONS)
    defect = defect_at = None
    if rng.random() < DEFECT_SHARE:
        defect = rng.choice(DEFECTS)
        defect_at = purchase + timedelta(days=rng.uniform(3, 20))
    return Fate(paid, ship, valid_tracking, cancel_at, reason, defect, defect_at)


def advance(order: Order, now: datetime) -> Order:
    """The order after every planned event up to `now` (LastUpdateDate = the last one's time)."""
    while (event := order.next_event()) is not None and event[0] <= now:
        at, kind = event
        if kind == "paid":
            order = replace(order, status=UNSHIPPED, last_update=at)
        elif kind == "cancel_request":
            order = replace(order, buyer_requested_cancel=True, last_update=at)
        else:
            order = replace(order, status=SHIPPED, shipped_at=at, last_update=at)
    return order


def cancel(order: Order, now: datetime, *, by: str, reason: str) -> Order:
    """The seller cancels (`by` seller, or buyer when honouring the buyer's request)."""
    if order.status in (SHIPPED, CANCELED):
        raise OrderStateError(
            f"order {order.amazon_order_id} is {order.status} and can no longer be canceled"
        )
    return replace(
        order,
        status=CANCELED,
        last_update=now,
        canceled_at=now,
        canceled_by=by,
        cancel_reason=reason,
    )
