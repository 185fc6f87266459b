"""Account health: Amazon's seller performance report and a projection from our own orders.

Amazon's report (GET_V2_SELLER_PERFORMANCE_REPORT) is authoritative but lags by a day or
more; the order store knows about this morning's cancellations. So `sync health` shows both,
and the figures the guardrails' account-health gate reads (`gate_figures`) take, per metric,
the worse of the two that are known. All rates are percentages as Decimals; None means
unknown (never zero), e.g. valid tracking and order defects cannot be seen in order data.

The local projection (SPAPI-NOTES.md, "Account health"), over windows ending at `now`:
- cancellation rate, 7 days: MFN orders purchased in the window that were cancelled without
  the buyer asking / MFN orders purchased in the window;
- late shipment rate, 10 and 30 days: MFN orders first seen Shipped in the window after their
  latest ship date / MFN orders first seen Shipped in the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from engine.config.model import HealthLevel, HealthTargets
from engine.state.orders import StoredOrder

CANCELLATION_WINDOW = timedelta(days=7)
LATE_SHIPMENT_WINDOWS = (timedelta(days=10), timedelta(days=30))
PERCENT_QUANTUM = Decimal("0.01")
# The schema's field name, and the one in the schema's own example document.
CANCELLATION_FIELDS = ("preFulfillmentCancellationRate", "prefulfillmentCancelRate")

Verdict = Literal["ok", "warn", "breach", "unknown"]


class HealthReportError(ValueError):
    """A seller performance report without the shape of Amazon's schema."""


@dataclass(frozen=True, slots=True)
class AccountHealthFigures:
    """One marketplace's account-health rates in percent; None: not known."""

    cancellation_rate_pct: Decimal | None = None
    late_shipment_rate_10d_pct: Decimal | None = None
    late_shipment_rate_30d_pct: Decimal | None = None
    valid_tracking_rate_pct: Decimal | None = None
    order_defect_rate_pct: Decimal | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {f.name: _text(getattr(self, f.name)) for f in fields(self)}


# Each figure and the configured level that judges it.
LEVELS = {
    "cancellation_rate_pct": "cancellation_rate",
    "late_shipment_rate_10d_pct": "late_shipment_rate",
    "late_shipment_rate_30d_pct": "late_shipment_rate",
    "valid_tracking_rate_pct": "valid_tracking_rate",
    "order_defect_rate_pct": "order_defect_rate",
}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _percent(count: int, total: int) -> Decimal | None:
    if not total:
        return None
    return (Decimal(100) * count / total).quantize(PERCENT_QUANTUM)


def _late(stored: StoredOrder) -> bool:
    due = stored.order.latest_ship_date
    return stored.shipped_at is not None and due is not None and stored.shipped_at > due


def local_figures(stored: Iterable[StoredOrder], now: datetime) -> AccountHealthFigures:
    """The projection from the order store as of `now` (pure; see the module docstring)."""
    mfn = [s for s in stored if s.order.channel == "MFN"]
    placed = [s.order for s in mfn if now - CANCELLATION_WINDOW <= s.order.purchase_date < now]
    seller_cancelled = [
        o for o in placed if o.status == "Canceled" and not o.buyer_requested_cancel
    ]
    late: list[Decimal | None] = []
    for window in LATE_SHIPMENT_WINDOWS:
        shipped = [
            s for s in mfn if s.shipped_at is not None and now - window <= s.shipped_at < now
        ]
        late.append(_percent(sum(1 for s in shipped if _late(s)), len(shipped)))
    return AccountHealthFigures(
        cancellation_rate_pct=_percent(len(seller_cancelled), len(placed)),
        late_shipment_rate_10d_pct=late[0],
        late_shipment_rate_30d_pct=late[1],
    )


def _rate(metric: Any, total_key: str) -> Decimal | None:
    """A report metric's rate in percent; None when absent or measured on no orders."""
    if not isinstance(metric, Mapping):
        return None
    if metric.get("status") == "NONE" or metric.get(total_key) == 0:
        return None
    rate = metric.get("rate")
    if isinstance(rate, bool) or not isinstance(rate, int | Decimal | str):
        raise HealthReportError(f"rate {rate!r} is not a number")
    try:
        return (Decimal(rate) * 100).quantize(PERCENT_QUANTUM)
    except ArithmeticError:
        raise HealthReportError(f"rate {rate!r} is not a number") from None


def report_figures(report: Mapping[str, Any], marketplace_id: str) -> AccountHealthFigures:
    """The figures of one marketplace in a seller performance report (JSON parsed with
    Decimals). The report's late shipment rate is Amazon's 30-day figure; its order defect
    rate is per channel, and the worse channel counts."""
    entries = report.get("performanceMetrics")
    if not isinstance(entries, list):
        raise HealthReportError("the report has no performanceMetrics list")
    entry = next(
        (e for e in entries if isinstance(e, Mapping) and e.get("marketplaceId") == marketplace_id),
        None,
    )
    if entry is None:
        return AccountHealthFigures()
    cancel = next((entry[k] for k in CANCELLATION_FIELDS if k in entry), None)
    defects = entry.get("orderDefectRate") or {}
    channel_rates = (
        [_rate(defects.get(channel), "orderCount") for channel in ("mfn", "afn")]
        if isinstance(defects, Mapping)
        else []
    )
    known = [r for r in channel_rates if r is not None]
    return AccountHealthFigures(
        cancellation_rate_pct=_rate(cancel, "orderCount"),
        late_shipment_rate_30d_pct=_rate(entry.get("lateShipmentRate"), "orderCount"),
        valid_tracking_rate_pct=_rate(entry.get("validTrackingRate"), "shipmentCount"),
        order_defect_rate_pct=max(known) if known else None,
    )


def gate_figures(
    report: AccountHealthFigures, local: AccountHealthFigures, targets: HealthTargets
) -> AccountHealthFigures:
    """Per metric, the worse of the report's and the local figure (whichever is known):
    what the guardrails' account-health gate reads."""
    values = {}
    for f in fields(AccountHealthFigures):
        known = [v for v in (getattr(report, f.name), getattr(local, f.name)) if v is not None]
        level: HealthLevel = getattr(targets, LEVELS[f.name])
        pick = min if level.higher_is_better else max
        values[f.name] = pick(known) if known else None
    return AccountHealthFigures(**values)


def verdicts(figures: AccountHealthFigures, targets: HealthTargets) -> dict[str, Verdict]:
    """ok / warn / breach per figure against the configured levels; unknown when None."""
    result: dict[str, Verdict] = {}
    for name, level_name in LEVELS.items():
        value = getattr(figures, name)
        level: HealthLevel = getattr(targets, level_name)
        result[name] = "unknown" if value is None else level.judge(value)
    return result
