"""Reports 2021-06-30 through python-amazon-sp-api's Reports client on a frozen clock."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sp_api.api import Reports
from sp_api.base.exceptions import SellingApiBadRequestException

from engine.sandbox import faults
from engine.sandbox.jobs import QUEUE_TIME
from engine.sandbox.listing_reports import FBA_INVENTORY_COLUMNS, MERCHANT_LISTINGS_COLUMNS
from engine.sandbox.timing import AMAZON, FAST, Span
from tests.sandbox.conftest import DE, FR, JOB_DONE, SELLER

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"


def build(sandbox, client, report_type: str, marketplace: str = DE, **extra) -> dict:
    report_id = client.create_report(
        reportType=report_type, marketplaceIds=[marketplace], **extra
    ).payload["reportId"]
    sandbox.advance(JOB_DONE)
    return client.get_report(report_id).payload


def rows(client, report: dict) -> list[dict[str, str]]:
    document = client.get_report_document(report["reportDocumentId"], download=True)
    header, *lines = document.payload["document"].splitlines()
    columns = header.split("\t")
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in lines]


def test_merchant_listings_has_amazons_columns_and_values(sandbox, reports_client):
    faults.out_of_band_quantity(sandbox.account, "DE", "HP-006", 0)
    report = build(sandbox, reports_client, "GET_MERCHANT_LISTINGS_ALL_DATA")
    assert report["processingStatus"] == "DONE" and report["marketplaceIds"] == [DE]
    document = reports_client.get_report_document(report["reportDocumentId"], download=True)
    assert document.character_code.lower() == "utf-8"
    assert document.payload["document"].split("\n", 1)[0].split("\t") == list(
        MERCHANT_LISTINGS_COLUMNS
    )
    by_sku = {row["seller-sku"]: row for row in rows(reports_client, report)}
    assert len(by_sku) == 31  # 30 seeded DE listings and the unmanaged LEGACY one
    mfn, fba = by_sku["HP-002"], by_sku["HP-004"]
    assert (mfn["price"], mfn["quantity"], mfn["fulfillment-channel"]) == ("21.99", "3", "DEFAULT")
    assert mfn["status"] == "Active" and mfn["item-name"] == "Sonora HP-002"
    assert mfn["asin1"].startswith("B0") and mfn["product-id-type"] == "4"
    assert (fba["quantity"], fba["fulfillment-channel"], fba["status"]) == (
        "",
        "AMAZON_EU",
        "Active",
    )
    assert by_sku["HP-000"]["status"] == "Inactive"  # seeded potential pricing error
    assert by_sku["HP-006"]["status"] == "Inactive"  # merchant-fulfilled, sold out


def test_fba_inventory_report(sandbox, reports_client):
    report = build(sandbox, reports_client, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    (row,) = rows(reports_client, report)
    assert list(row) == list(FBA_INVENTORY_COLUMNS)
    with sandbox.store.read() as tx:
        held = tx.listing(sandbox.account.seller_id, "HP-004", DE).fba_quantity
    assert row["sku"] == "HP-004" and row["fnsku"] == row["asin"]
    assert row["afn-fulfillable-quantity"] == row["afn-total-quantity"] == str(held)
    assert (row["afn-listing-exists"], row["mfn-listing-exists"]) == ("Yes", "No")
    assert row["your-price"] == "24.99" and row["afn-reserved-quantity"] == "0"


def test_a_report_with_no_data_is_cancelled(sandbox):
    client = Reports(**sandbox.client_kwargs("FR"))
    report = build(sandbox, client, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", marketplace=FR)
    assert report["processingStatus"] == "CANCELLED"
    assert "processingEndTime" in report and "reportDocumentId" not in report


def test_cancel_and_filter_reports(sandbox, reports_client):
    window = {"dataStartTime": "2026-11-01T00:00:00Z", "dataEndTime": "2026-11-22T00:00:00Z"}
    first = reports_client.create_report(
        reportType="GET_MERCHANT_LISTINGS_ALL_DATA", marketplaceIds=[DE], **window
    ).payload["reportId"]
    reports_client.cancel_report(first)
    second = reports_client.create_report(
        reportType="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", marketplaceIds=[DE]
    ).payload["reportId"]
    sandbox.advance(QUEUE_TIME)
    with pytest.raises(SellingApiBadRequestException, match="IN_PROGRESS"):
        reports_client.cancel_report(second)
    cancelled = reports_client.get_report(first).payload
    assert cancelled["processingStatus"] == "CANCELLED"
    assert cancelled["dataStartTime"] == "2026-11-01T00:00:00.000Z"
    listed = reports_client.get_reports(
        reportTypes=["GET_MERCHANT_LISTINGS_ALL_DATA", "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"],
        processingStatuses=["IN_PROGRESS"],
    ).payload["reports"]
    assert [r["reportId"] for r in listed] == [second]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"reportType": "GET_FLAT_FILE_OPEN_LISTINGS_DATA", "marketplaceIds": [DE]}, "reportType"),
        ({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [DE, FR]}, "one"),
        ({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": []}, "marketplaceIds"),
        (
            {
                "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                "marketplaceIds": [DE],
                "dataStartTime": "last week",
            },
            "dataStartTime",
        ),
        (
            {
                "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                "marketplaceIds": [DE],
                "dataStartTime": "2026-11-02T00:00:00Z",
                "dataEndTime": "2026-11-01T00:00:00Z",
            },
            "after",
        ),
    ],
    ids=["unknown-type", "two-marketplaces", "no-marketplace", "bad-time", "backwards"],
)
def test_create_report_refuses_bad_specifications(sandbox, reports_client, spec, match):
    with pytest.raises(SellingApiBadRequestException, match=match):
        reports_client.create_report(**spec)
    assert reports_client.get_reports(reportTypes="GET_MERCHANT_LISTINGS_ALL_DATA").payload == {
        "reports": []
    }


def test_large_reports_are_gzipped(open_sandbox):
    box = open_sandbox(rate_limits=False, gzip_threshold=1000)
    client = Reports(**box.client_kwargs("DE"))
    report = build(box, client, "GET_MERCHANT_LISTINGS_ALL_DATA")
    grant = box.app.bulk.reports.document(report["reportDocumentId"], time.time())
    assert grant.compression == "GZIP"
    assert client.get_report_document(report["reportDocumentId"]).payload[
        "compressionAlgorithm"
    ] == ("GZIP")
    assert len(rows(client, report)) == 31  # the library gunzips


def test_a_lagging_listings_report_shows_listings_as_they_were_before_the_latest_writes(
    open_sandbox,
):
    lagging = replace(FAST, name="lagging", report_lag=Span.fixed(timedelta(hours=1)))
    box = open_sandbox(rate_limits=False, timing=lagging)
    client = Reports(**box.client_kwargs("DE"))
    restock = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}],
            }
        ],
    }
    assert box.account.patch_item(SELLER, "HP-002", [DE], restock)["status"] == "ACCEPTED"
    box.account.delete_item(SELLER, "HP-003", [DE])
    box.advance(timedelta(minutes=1))  # both processed: getListingsItem shows them now

    lagged = {r["seller-sku"]: r for r in rows(client, build(box, client, LISTINGS))}
    assert lagged["HP-002"]["quantity"] == "3"  # as it was an hour before the report's end
    assert "HP-003" in lagged  # deleted since, still listed

    box.advance(timedelta(hours=1))
    caught_up = {r["seller-sku"]: r for r in rows(client, build(box, client, LISTINGS))}
    assert caught_up["HP-002"]["quantity"] == "9" and "HP-003" not in caught_up


def test_the_amazon_profile_lags_listings_reports_and_fast_does_not():
    assert AMAZON.report_lag.high == timedelta(minutes=80) and AMAZON.report_lag.low == timedelta(0)
    assert FAST.report_lag.high == timedelta(0)
