"""Account health from sandbox orders: hand-computed metrics, and the report's schema."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest

from engine.sandbox import lifecycle, performance
from tests.sandbox.conftest import DE, FR, NOW, SHARED
from tests.sandbox.orderfixtures import insert, make_order

SCHEMA = SHARED / "spapi-models" / "schemas" / "reports" / "accountHealthReport-2020-11-18.json"
DAY = timedelta(days=1)


def fixture_orders() -> list[lifecycle.Order]:
    """20 orders; the comments give each one's part in the expected numbers."""
    result = []
    # 8 MFN orders placed 1-5 days ago (the 7-day window), shipped after 20 hours unless noted.
    recent = [make_order(n, NOW - DAY * (1 + n % 5)) for n in range(1, 9)]
    recent[0] = lifecycle.cancel(
        recent[0], recent[0].purchase_date, by="seller", reason="NoInventory"
    )
    recent[1] = lifecycle.cancel(
        recent[1], recent[1].purchase_date, by="buyer", reason="BuyerCanceled"
    )
    recent[2] = make_order(
        3, NOW - DAY * 4, ship_after=timedelta(days=3)
    )  # late, shipped 1 day ago
    recent[3] = make_order(4, NOW - DAY * 5, valid_tracking=False)
    result += recent
    # 6 MFN orders placed 15-25 days ago: shipped in the 30-day window, one late, one claim.
    older = [make_order(n, NOW - DAY * (n + 5)) for n in range(10, 16)]
    older[0] = make_order(10, NOW - DAY * 15, ship_after=timedelta(days=4), defect="a_to_z_claim")
    older[1] = make_order(11, NOW - DAY * 16, defect="negative_feedback")
    result += older
    # 4 AFN orders 40 days ago, one with negative feedback; 2 MFN orders 70 days ago (outside).
    result += [make_order(20 + n, NOW - DAY * 40, channel="AFN") for n in range(3)]
    result.append(make_order(23, NOW - DAY * 40, channel="AFN", defect="negative_feedback"))
    result += [make_order(30 + n, NOW - DAY * 70, defect="a_to_z_claim") for n in range(2)]
    return result


def test_metrics_match_hand_computed_numbers():
    m = performance.metrics(fixture_orders(), NOW)
    # 7 days: 8 MFN orders, 1 cancelled by the seller (the buyer's own does not count).
    assert (m.cancellation.count, m.cancellation.total) == (1, 8)
    assert m.cancellation.rate == Decimal("0.125") and m.cancellation.status == "BAD"
    # Shipped in the last 10 days: the 6 recent uncancelled ones; 1 late (#3).
    assert (m.late_shipment[10].count, m.late_shipment[10].total) == (1, 6)
    assert m.late_shipment[10].rate == Decimal("0.1667")
    # 30 days adds the 6 older ones (#10 late): 2 of 12.
    assert (m.late_shipment[30].count, m.late_shipment[30].total) == (2, 12)
    # Valid tracking: 11 of the 12 shipments (#4 has none): 0.9167 < 95 %.
    assert (m.valid_tracking.count, m.valid_tracking.total) == (11, 12)
    assert m.valid_tracking.status == "BAD"
    # ODR, 60 days: MFN 2 defects (#10 claim, #11 feedback) in 14 orders; AFN 1 in 4.
    mfn, afn = m.defects["mfn"], m.defects["afn"]
    assert (mfn.rate.count, mfn.rate.total, mfn.claims, mfn.negative_feedback) == (2, 14, 1, 1)
    assert mfn.rate.rate == Decimal("0.1429")
    assert (afn.rate.count, afn.rate.total, afn.negative_feedback) == (1, 4, 1)


def test_no_orders_means_status_none():
    m = performance.metrics([], NOW)
    assert m.cancellation.status == "NONE" and m.cancellation.rate == 0


def test_report_document(sandbox):
    insert(sandbox, *fixture_orders())
    document = performance.seller_performance_report(sandbox.account, [DE, FR], NOW)
    report = json.loads(document, parse_float=Decimal)
    assert report["accountStatuses"] == [
        {"marketplaceId": DE, "status": "AT_RISK"},
        {"marketplaceId": FR, "status": "NORMAL"},
    ]
    de = report["performanceMetrics"][0]
    cancel = de["preFulfillmentCancellationRate"]
    assert (cancel["orderCount"], cancel["cancellationCount"], cancel["rate"]) == (
        8,
        1,
        Decimal("0.125"),
    )
    assert cancel["reportingDateRange"] == {
        "reportingDateFrom": "2026-11-15T12:00Z",
        "reportingDateTo": "2026-11-22T12:00Z",
    }
    assert de["lateShipmentRate"]["lateShipmentCount"] == 2
    assert de["validTrackingRate"]["validTrackingCount"] == 11
    assert de["orderDefectRate"]["afn"]["negativeFeedback"] == {"count": 1, "status": "BAD"}
    assert report["performanceMetrics"][1]["preFulfillmentCancellationRate"]["status"] == "NONE"


@pytest.mark.shared
@pytest.mark.skipif(not SCHEMA.is_file(), reason="../shared/spapi-models is not available")
def test_report_validates_against_amazons_schema(sandbox):
    insert(sandbox, *fixture_orders())
    report = json.loads(performance.seller_performance_report(sandbox.account, [DE], NOW))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(report))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    broken = {**report, "performanceMetrics": [{"marketplaceId": DE}]}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
