"""Account health from the sandbox's own orders: GET_V2_SELLER_PERFORMANCE_REPORT.

Metrics (SPAPI-NOTES.md, "Account health"), over windows that end at `now`:
- pre-fulfilment cancellation rate, 7 days: MFN orders placed in the window that the seller
  cancelled / MFN orders placed in the window (buyer-requested cancellations, acknowledged
  with BuyerCanceled, are not the seller's); target < 2.5 %;
- late shipment rate, 10 and 30 days: MFN orders shipped in the window after their latest
  ship date / MFN orders shipped in the window; target < 4 %. The report carries the 30-day
  figure (Amazon's report window for it); `metrics()` has both;
- valid tracking rate, 30 days: MFN shipments in the window with valid tracking /
  MFN shipments in the window; target > 95 %;
- order defect rate, 60 days, per channel: orders placed in the window with an A-to-z claim
  or negative feedback (by `now`) / orders placed in the window; target < 1 %.

A metric without orders reports status NONE and rate 0. The document follows the field
names of Amazon's schema (accountHealthReport-2020-11-18.json); the sandbox has no
invoices, delivery scans or policy complaints, so those required metrics report zero
counts with status NONE (or GOOD for "no violations").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.core import jsonio
from engine.sandbox import lifecycle
from engine.sandbox.account import Account
from engine.sandbox.lifecycle import Order
from engine.sandbox.orderstore import OrderTables

CANCELLATION_DAYS = 7
LATE_SHIPMENT_DAYS = (10, 30)
VALID_TRACKING_DAYS = 30
DEFECT_DAYS = 60
RATE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Rate:
    """count / total over a window, judged against Amazon's target."""

    count: int
    total: int
    target: Decimal
    condition: str  # LESS_THAN | GREATER_THAN
    start: datetime
    end: datetime

    @property
    def rate(self) -> Decimal:
        if not self.total:
            return Decimal(0)
        return (Decimal(self.count) / Decimal(self.total)).quantize(RATE_QUANTUM)

    @property
    def status(self) -> str:
        if not self.total:
            return "NONE"
        exact = Decimal(self.count) / Decimal(self.total)
        good = exact < self.target if self.condition == "LESS_THAN" else exact > self.target
        return "GOOD" if good else "BAD"


@dataclass(frozen=True, slots=True)
class DefectRate:
    rate: Rate
    claims: int
    negative_feedback: int


@dataclass(frozen=True, slots=True)
class Metrics:
    cancellation: Rate
    late_shipment: dict[int, Rate]  # by window in days
    valid_tracking: Rate
    defects: dict[str, DefectRate]  # by channel: mfn, afn


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def metrics(orders: Iterable[Order], now: datetime) -> Metrics:
    """The account-health metrics of these orders as of `now` (pure)."""
    current = [lifecycle.advance(o, now) for o in orders if o.purchase_date < now]
    mfn = [o for o in current if o.channel == "MFN"]

    def since(days: int) -> datetime:
        return now - timedelta(days=days)

    start = since(CANCELLATION_DAYS)
    placed = [o for o in mfn if _within(o.purchase_date, start, now)]
    cancellation = Rate(
        sum(1 for o in placed if o.canceled_by == "seller"),
        len(placed),
        Decimal("0.025"),
        "LESS_THAN",
        start,
        now,
    )
    late = {}
    for days in LATE_SHIPMENT_DAYS:
        shipped = [o for o in mfn if _within(o.shipped_at, since(days), now)]
        late[days] = Rate(
            sum(1 for o in shipped if o.late),
            len(shipped),
            Decimal("0.04"),
            "LESS_THAN",
            since(days),
            now,
        )
    shipped = [o for o in mfn if _within(o.shipped_at, since(VALID_TRACKING_DAYS), now)]
    tracking = Rate(
        sum(1 for o in shipped if o.fate.valid_tracking),
        len(shipped),
        Decimal("0.95"),
        "GREATER_THAN",
        since(VALID_TRACKING_DAYS),
        now,
    )
    defects = {}
    for channel in lifecycle.CHANNELS:
        window = [
            o
            for o in current
            if o.channel == channel and _within(o.purchase_date, since(DEFECT_DAYS), now)
        ]
        kinds = [o.defect_by(now) for o in window]
        defects[channel.lower()] = DefectRate(
            Rate(
                sum(1 for k in kinds if k),
                len(window),
                Decimal("0.01"),
                "LESS_THAN",
                since(DEFECT_DAYS),
                now,
            ),
            claims=kinds.count("a_to_z_claim"),
            negative_feedback=kinds.count("negative_feedback"),
        )
    return Metrics(cancellation, late, tracking, defects)


def _range(start: datetime, end: datetime) -> dict[str, str]:
    return {
        "reportingDateFrom": start.strftime("%Y-%m-%dT%H:%MZ"),
        "reportingDateTo": end.strftime("%Y-%m-%dT%H:%MZ"),
    }


def _judged(rate: Rate) -> dict[str, Any]:
    return {
        "status": rate.status,
        "rate": rate.rate,
        "targetValue": rate.target,
        "targetCondition": rate.condition,
    }


def _count(count: int) -> dict[str, Any]:
    return {"count": count, "status": "NONE" if count == 0 else "BAD"}


def _no_violations(start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "reportingDateRange": _range(start, end),
        "defectsCount": 0,
        "status": "GOOD",
        "targetValue": 0,
        "targetCondition": "EQUALS",
    }


def _defect_rate(defect: DefectRate, channel: str) -> dict[str, Any]:
    rate = defect.rate
    return {
        "reportingDateRange": _range(rate.start, rate.end),
        "orderCount": rate.total,
        "orderWithDefects": {"count": rate.count, "status": rate.status},
        "claims": _count(defect.claims),
        "chargebacks": _count(0),
        "negativeFeedback": _count(defect.negative_feedback),
        "fulfillmentType": channel,
        **_judged(rate),
    }


def performance_entry(marketplace_id: str, m: Metrics, now: datetime) -> dict[str, Any]:
    """One marketplace's `performanceMetrics` entry."""
    late = m.late_shipment[30]
    half_year = now - timedelta(days=180)
    unmeasured = {"status": "NONE", "rate": 0}
    return {
        "marketplaceId": marketplace_id,
        "preFulfillmentCancellationRate": {
            "reportingDateRange": _range(m.cancellation.start, m.cancellation.end),
            "orderCount": m.cancellation.total,
            "cancellationCount": m.cancellation.count,
            **_judged(m.cancellation),
        },
        "lateShipmentRate": {
            "reportingDateRange": _range(late.start, late.end),
            "orderCount": late.total,
            "lateShipmentCount": late.count,
            **_judged(late),
        },
        "validTrackingRate": {
            "reportingDateRange": _range(m.valid_tracking.start, m.valid_tracking.end),
            "shipmentCount": m.valid_tracking.total,
            "validTrackingCount": m.valid_tracking.count,
            **_judged(m.valid_tracking),
        },
        "orderDefectRate": {ch: _defect_rate(d, ch) for ch, d in m.defects.items()},
        "invoiceDefectRate": {
            "reportingDateRange": _range(now - timedelta(days=7), now),
            "orderCount": 0,
            "invoiceDefect": _count(0),
            "missingInvoice": _count(0),
            "lateInvoice": _count(0),
            **unmeasured,
            "targetValue": Decimal("0.05"),
            "targetCondition": "LESS_THAN",
        },
        "onTimeDeliveryRate": {
            "reportingDateRange": _range(now - timedelta(days=30), now),
            "shipmentCountWithValidTracking": m.valid_tracking.count,
            "onTimeDeliveryCount": 0,
            **unmeasured,
            "targetValue": Decimal("0.9"),
            "targetCondition": "GREATER_THAN",
        },
        "unitOnTimeDeliveryRate": {
            "reportingDateRange": _range(now - timedelta(days=30), now),
            "unitOnTimeDeliveryCount": 0,
            "totalUnitCount": 0,
            **unmeasured,
            "targetValue": Decimal("0.9"),
            "targetCondition": "GREATER_THAN",
        },
        "warningStates": [],
        # The schema requires `ahrStatus` but lists the value under
        # `accountHealthRatingStatus`: both are given.
        "accountHealthRating": {
            "ahrStatus": "GREAT",
            "accountHealthRatingStatus": "GREAT",
            "reportingDateRange": _range(half_year, now),
        },
        **{
            name: _no_violations(half_year, now)
            for name in (
                "listingPolicyViolations",
                "productAuthenticityCustomerComplaints",
                "productConditionCustomerComplaints",
                "productSafetyCustomerComplaints",
                "receivedIntellectualPropertyComplaints",
                "restrictedProductPolicyViolations",
                "suspectedIntellectualPropertyViolations",
                "foodAndProductSafetyIssues",
                "otherPolicyViolations",
                "documentRequests",
            )
        },
    }


def report(orders_by_marketplace: dict[str, list[Order]], now: datetime) -> dict[str, Any]:
    """The report document for these marketplaces' orders (pure)."""
    entries = []
    statuses = []
    for mid, found in orders_by_marketplace.items():
        m = metrics(found, now)
        rates = [m.cancellation, m.late_shipment[30], m.valid_tracking]
        rates += [d.rate for d in m.defects.values()]
        at_risk = any(r.status == "BAD" for r in rates)
        statuses.append({"marketplaceId": mid, "status": "AT_RISK" if at_risk else "NORMAL"})
        entries.append(performance_entry(mid, m, now))
    return {"accountStatuses": statuses, "performanceMetrics": entries}


def seller_performance_report(
    account: Account, marketplace_ids: Sequence[str], now: datetime
) -> bytes:
    """GET_V2_SELLER_PERFORMANCE_REPORT for the sandbox account (JSON, UTF-8)."""
    mkts = account.marketplaces(marketplace_ids)
    since = now - timedelta(days=DEFECT_DAYS)
    with account.store.read() as tx:
        tables = OrderTables(tx)
        found = {m.marketplace_id: tables.placed([m.marketplace_id], since) for m in mkts}
    return jsonio.dumps(report(found, now)).encode("utf-8")
