"""After a breaker trips: which orders to cancel, what that does to account health, the
cancellation feed, the buyer messages, and the evidence for Amazon's Plan of Action. Pure:
orders, journal runs and the config commit are read by the caller.

- Affected orders: open (Unshipped, PartiallyShipped) orders of the listing whose lines the
  watchdog's price rules object to (under the floor, or an undeclared promotion beyond the
  discount limit). Orders at a fair price are kept: they are not the incident.
- Cancellation rate: Amazon's pre-fulfilment cancellation rate is seller-cancelled MFN
  orders / MFN orders placed in the last 7 days; buyer-requested cancellations do not count
  (SPAPI-NOTES.md). The projection adds the affected MFN orders whose buyers did not ask to
  cancel, against Amazon's 2.5 % target.
- The feed cancels MFN orders only (Amazon cancels FBA orders itself) with CancelReason
  GeneralAdjustment (the item was sold at a price that was not ours; it is not out of
  stock), or BuyerCanceled where the buyer really asked, which keeps it off the rate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.config.model import Config
from engine.core.orders import OPEN_STATUSES, Order, iso
from engine.core.resource import Resource
from engine.state.breakers import Breaker
from engine.state.journal import Run
from engine.watch.apology import apology, language_of
from engine.watch.breaker import EMERGENCY_DIGEST_PREFIX
from engine.watch.detect import CANCELED, Limits, line_findings

TARGET_PCT = Decimal("2.5")
CANCELLATION_WINDOW = timedelta(days=7)
SELLER_REASON = "GeneralAdjustment"
BUYER_REASON = "BuyerCanceled"
INCIDENT_DIGEST_PREFIX = "incident:"
_PCT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Affected:
    """An order to cancel, with what the buyer paid per unit and the reason to give."""

    order: Order
    units: int
    unit_price: Decimal
    reason: str

    @property
    def cancellable(self) -> bool:
        """Whether the seller can cancel it (Amazon cancels FBA orders itself)."""
        return self.order.channel == "MFN"

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order.amazon_order_id,
            "purchased_at": iso(self.order.purchase_date),
            "channel": self.order.channel,
            "units": self.units,
            "realized_unit_price": f"{self.unit_price:f}",
            "currency": self.order.currency,
            "buyer_requested_cancel": self.order.buyer_requested_cancel,
            "cancel_reason": self.reason if self.cancellable else None,
        }


def affected_orders(
    orders: Iterable[Order], config: Config, desired: Mapping[str, Resource], breaker: Breaker
) -> list[Affected]:
    """Open orders of the breaker's listing that the price rules object to, oldest first."""
    limits = Limits(config, desired)
    key = (breaker.marketplace, breaker.sku)
    found = []
    for order in orders:
        if order.marketplace != breaker.marketplace or order.status not in OPEN_STATUSES:
            continue
        lines = [
            item
            for item in order.items
            if item.sku == breaker.sku and any(line_findings(order, item, key, limits))
        ]
        if not lines:
            continue
        reason = BUYER_REASON if order.buyer_requested_cancel else SELLER_REASON
        price = min(item.realized_unit_price for item in lines)  # type: ignore[type-var]
        found.append(Affected(order, sum(i.quantity for i in lines), price, reason))
    return sorted(found, key=lambda a: (a.order.purchase_date, a.order.amazon_order_id))


@dataclass(frozen=True, slots=True)
class CancellationRate:
    mfn_orders: int
    cancelled: int  # seller-cancelled so far
    to_cancel: int  # affected MFN orders that would count

    @property
    def current_pct(self) -> Decimal:
        return _pct(self.cancelled, self.mfn_orders)

    @property
    def projected_pct(self) -> Decimal:
        return _pct(self.cancelled + self.to_cancel, self.mfn_orders)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_days": CANCELLATION_WINDOW.days,
            "mfn_orders": self.mfn_orders,
            "seller_cancelled": self.cancelled,
            "to_cancel": self.to_cancel,
            "current_pct": f"{self.current_pct:f}",
            "projected_pct": f"{self.projected_pct:f}",
            "target_pct": f"{TARGET_PCT:f}",
            "within_target": self.projected_pct < TARGET_PCT,
        }


def _pct(count: int, total: int) -> Decimal:
    if not total:
        return Decimal("0.00")
    return (Decimal(100) * count / total).quantize(_PCT)


def cancellation_rate(
    orders: Iterable[Order], affected: Sequence[Affected], now: datetime
) -> CancellationRate:
    """The 7-day rate over `orders` (every order of the marketplace updated in the window)."""
    window = [
        o for o in orders if o.channel == "MFN" and now - CANCELLATION_WINDOW <= o.purchase_date
    ]
    cancelled = sum(1 for o in window if o.status == CANCELED and not o.buyer_requested_cancel)
    to_cancel = sum(1 for a in affected if a.cancellable and a.reason != BUYER_REASON)
    return CancellationRate(len(window), cancelled, to_cancel)


def cancellation_feed(seller_id: str, affected: Sequence[Affected]) -> bytes:
    """POST_ORDER_ACKNOWLEDGEMENT_DATA: one Failure acknowledgement per cancellable order,
    every item of the listing with the order's reason."""
    envelope = ET.Element("AmazonEnvelope")
    header = ET.SubElement(envelope, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.01"
    ET.SubElement(header, "MerchantIdentifier").text = seller_id
    ET.SubElement(envelope, "MessageType").text = "OrderAcknowledgement"
    for number, one in enumerate((a for a in affected if a.cancellable), start=1):
        message = ET.SubElement(envelope, "Message")
        ET.SubElement(message, "MessageID").text = str(number)
        ack = ET.SubElement(message, "OrderAcknowledgement")
        ET.SubElement(ack, "AmazonOrderID").text = one.order.amazon_order_id
        ET.SubElement(ack, "StatusCode").text = "Failure"
        for item in one.order.items:
            line = ET.SubElement(ack, "Item")
            ET.SubElement(line, "AmazonOrderItemCode").text = item.order_item_id
            ET.SubElement(line, "CancelReason").text = one.reason
    ET.indent(envelope)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True, slots=True)
class Message:
    order_id: str
    language: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"order": self.order_id, "language": self.language, "text": self.text}


def messages(affected: Sequence[Affected], seller_name: str) -> list[Message]:
    """One apology per cancellable order, in its marketplace's language."""
    return [
        Message(
            a.order.amazon_order_id,
            language_of(a.order.marketplace),
            apology(a.order.marketplace, a.order.amazon_order_id, seller_name),
        )
        for a in affected
        if a.cancellable
    ]


@dataclass(frozen=True, slots=True)
class ConfigCommit:
    """The git commit the config was at (read by the CLI; None outside git)."""

    sha: str
    at: datetime
    subject: str


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    what: str

    def to_dict(self) -> dict[str, str]:
        return {"at": iso(self.at), "what": self.what}


def timeline(
    breaker: Breaker,
    affected: Sequence[Affected],
    runs: Sequence[Run],
    commit: ConfigCommit | None,
) -> list[Event]:
    """The evidence, in time order: config commit, the last plan applied before the trip,
    the affected orders, the trip and the breaker's writes, and the cancellations."""
    events = []
    if commit is not None:
        events.append(Event(commit.at, f"config commit {commit.sha[:12]}: {commit.subject}"))
    applies = [r for r in runs if not _emergency(r) and r.started_at <= breaker.tripped_at]
    if applies:
        last = applies[-1]
        events.append(
            Event(
                last.started_at,
                f"apply of plan {last.plan_digest[:12]} started ({last.status})",
            )
        )
    if affected:
        first, last_order = affected[0].order, affected[-1].order
        units = sum(a.units for a in affected)
        events.append(Event(first.purchase_date, f"first affected order {first.amazon_order_id}"))
        events.append(
            Event(
                last_order.purchase_date,
                f"last affected order {last_order.amazon_order_id} "
                f"({len(affected)} orders, {units} units)",
            )
        )
    events.append(Event(breaker.tripped_at, f"breaker tripped: {breaker.reason}"))
    for run in runs:
        if run.plan_digest == EMERGENCY_DIGEST_PREFIX + breaker.incident_id:
            events.append(
                Event(run.started_at, f"breaker write journaled (run {run.id}, {run.status})")
            )
        if run.plan_digest == INCIDENT_DIGEST_PREFIX + breaker.incident_id:
            events.append(
                Event(run.started_at, f"cancellations submitted (run {run.id}, {run.status})")
            )
    return sorted(events, key=lambda e: e.at)


def plan_of_action(breaker: Breaker, affected: Sequence[Affected]) -> dict[str, str]:
    """Draft text for Amazon's Plan of Action; the seller edits it before sending."""
    units = sum(a.units for a in affected)
    return {
        "root_cause": (
            f"{breaker.sku} in {breaker.marketplace} sold {units} unit(s) in "
            f"{len(affected)} order(s) at a price we did not intend ({breaker.reason})."
        ),
        "corrective_action": (
            f"Sales were stopped by our watchdog at {iso(breaker.tripped_at)} "
            f"(incident {breaker.incident_id}); the affected orders were cancelled and every "
            "buyer was told the reason and that payment is refunded in full."
        ),
        "preventive_action": (
            "Every promotion is declared in our reviewed configuration and checked against a "
            "price floor before it goes live; orders are checked every 15 minutes and any "
            "sale under the floor or with an undeclared deep promotion stops the listing "
            "automatically until a person acknowledges the incident."
        ),
    }


def _emergency(run: Run) -> bool:
    return run.kind != "apply"
