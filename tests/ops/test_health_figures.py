"""Account-health figures: the local projection against hand-computed rates (buyer-requested
cancellations excluded), Amazon's report under both field spellings, the gate and verdicts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.config.model import HealthTargets
from engine.core import jsonio
from engine.core.orders import Order, OrderItem
from engine.ops.health_figures import (
    AccountHealthFigures,
    HealthReportError,
    gate_figures,
    local_figures,
    report_figures,
    verdicts,
)
from engine.sandbox import performance
from engine.state.orders import StoredOrder
from tests.sandbox.conftest import DE, SHARED
from tests.sandbox.orderfixtures import make_order

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HEALTH_SCHEMA = (
    SHARED / "spapi-models" / "schemas" / "reports" / "accountHealthReport-2020-11-18.json"
)


def stored(
    n: int,
    placed: datetime,
    *,
    status: str = "Unshipped",
    channel: str = "MFN",
    buyer_cancel: bool = False,
    shipped: datetime | None = None,
    due: datetime | None = None,
) -> StoredOrder:
    item = OrderItem(
        f"{n:014d}",
        "HP-100",
        "B0TEST0001",
        1,
        0,
        Decimal("10"),
        Decimal(0),
        buyer_requested_cancel=buyer_cancel,
    )
    order = Order(
        f"302-{n:07d}-{n:07d}",
        "DE",
        "Shipped" if shipped else status,
        channel,
        "EUR",
        placed,
        shipped or placed,
        due or placed + timedelta(days=2),
        "DE",
        Decimal("10"),
        (item,),
    )
    return StoredOrder(order, shipped)


def test_cancellation_rate_counts_seller_cancelled_mfn_orders_of_the_last_7_days():
    day = timedelta(days=1)
    orders = [stored(n, NOW - day * (n % 6 + 1)) for n in range(1, 9)]  # 8 open MFN orders
    orders += [
        stored(9, NOW - day, status="Canceled"),  # seller-cancelled: counts
        stored(10, NOW - 2 * day, status="Canceled", buyer_cancel=True),  # buyer asked: excluded
        stored(11, NOW - day, status="Canceled", channel="AFN"),  # FBA: not in the rate
        stored(12, NOW - 8 * day, status="Canceled"),  # outside the window
    ]
    figures = local_figures(orders, NOW)
    # MFN orders placed in 7 days: 8 open + 2 cancelled = 10; seller-cancelled: 1.
    assert figures.cancellation_rate_pct == Decimal("10.00")
    assert figures.valid_tracking_rate_pct is None and figures.order_defect_rate_pct is None


def test_late_shipment_rate_over_10_and_30_days():
    day = timedelta(days=1)

    def shipped(n: int, days_ago: int, late: bool) -> StoredOrder:
        at = NOW - day * days_ago
        due = at - timedelta(hours=1) if late else at + timedelta(hours=1)
        return stored(n, at - 2 * day, shipped=at, due=due)

    orders = [shipped(1, 1, True), shipped(2, 2, False), shipped(3, 5, False), shipped(4, 9, False)]
    orders += [shipped(5, 12, True), shipped(6, 20, False), shipped(7, 40, True)]
    figures = local_figures(orders, NOW)
    assert figures.late_shipment_rate_10d_pct == Decimal("25.00")  # 1 of 4
    assert figures.late_shipment_rate_30d_pct == Decimal("33.33")  # 2 of 6
    assert local_figures([], NOW) == AccountHealthFigures()  # no orders: unknown, not zero


def test_report_figures_read_the_sandbox_report_builder():
    hour = timedelta(hours=1)
    orders = [make_order(n, NOW - 30 * hour - n * hour) for n in range(1, 21)]
    orders[0] = make_order(1, NOW - 96 * hour, ship_after=timedelta(days=3))  # shipped late
    orders[1] = make_order(2, NOW - 32 * hour, valid_tracking=False)
    report = jsonio.loads(jsonio.dumps(performance.report({DE: orders}, NOW)))
    figures = report_figures(report, DE)
    assert figures.late_shipment_rate_30d_pct == Decimal("5.00")  # 1 of 20 shipped
    assert figures.valid_tracking_rate_pct == Decimal("95.00")  # 19 of 20
    assert figures.cancellation_rate_pct == Decimal("0.00")
    assert figures.order_defect_rate_pct == Decimal("0.00")
    assert report_figures(report, "ATVPDKIKX0DER") == AccountHealthFigures()


@pytest.mark.shared
@pytest.mark.skipif(not HEALTH_SCHEMA.exists(), reason="needs ../shared (official SP-API models)")
def test_report_figures_accept_the_schema_examples_field_names():
    example = jsonio.loads(HEALTH_SCHEMA.read_text(encoding="utf-8"))["examples"][0]
    entry = example["performanceMetrics"][0]
    assert "prefulfillmentCancelRate" in entry  # the example's spelling, not the schema's
    figures = report_figures(example, entry["marketplaceId"])
    expected = Decimal(str(entry["prefulfillmentCancelRate"]["rate"])) * 100
    assert figures.cancellation_rate_pct == expected.quantize(Decimal("0.01"))
    assert figures.late_shipment_rate_30d_pct is not None
    assert figures.valid_tracking_rate_pct is not None


def test_a_malformed_report_is_refused():
    with pytest.raises(HealthReportError, match="performanceMetrics"):
        report_figures({"accountStatuses": []}, DE)
    bad = {"performanceMetrics": [{"marketplaceId": DE, "lateShipmentRate": {"rate": "x"}}]}
    with pytest.raises(HealthReportError, match="rate 'x' is not a number"):
        report_figures(bad, DE)
    assert json.dumps(AccountHealthFigures(Decimal("1.5")).to_dict())  # plain data


def test_the_gate_takes_the_worse_known_figure_and_verdicts_use_the_levels():
    targets = HealthTargets()
    report = AccountHealthFigures(
        cancellation_rate_pct=Decimal("1.00"), valid_tracking_rate_pct=Decimal("98.00")
    )
    local = AccountHealthFigures(
        cancellation_rate_pct=Decimal("2.10"), late_shipment_rate_10d_pct=Decimal("4.00")
    )
    gate = gate_figures(report, local, targets)
    assert gate == AccountHealthFigures(
        cancellation_rate_pct=Decimal("2.10"),
        late_shipment_rate_10d_pct=Decimal("4.00"),
        valid_tracking_rate_pct=Decimal("98.00"),
    )
    assert verdicts(gate, targets) == {
        "cancellation_rate_pct": "warn",  # >= 2.0 warn, < 2.5 target
        "late_shipment_rate_10d_pct": "breach",  # target is < 4 %
        "late_shipment_rate_30d_pct": "unknown",
        "valid_tracking_rate_pct": "ok",
        "order_defect_rate_pct": "unknown",
    }
    low_tracking = AccountHealthFigures(valid_tracking_rate_pct=Decimal("96.5"))
    assert verdicts(low_tracking, targets)["valid_tracking_rate_pct"] == "warn"
    assert (
        verdicts(AccountHealthFigures(order_defect_rate_pct=Decimal("0.79")), targets)[
            "order_defect_rate_pct"
        ]
        == "ok"
    )
