"""The order-side feed and report reach the Feeds/Reports HTTP API: an order acknowledgement
feed cancels orders, and the seller performance report is built from the sandbox's orders."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta

from engine.sandbox.orderstore import OrderTables
from tests.sandbox.conftest import DE, JOB_DONE, NOW
from tests.sandbox.orderfixtures import insert, make_order
from tests.sandbox.test_acknowledgement import envelope, message, order_id


def test_an_order_acknowledgement_feed_cancels_through_http(sandbox, feeds_client):
    insert(sandbox, make_order(1, NOW - timedelta(hours=3), sku="HP-001"))
    document = envelope(message(1, order_id(1), reason="NoInventory"))
    created = feeds_client.create_feed_document(io.BytesIO(document), "text/xml; charset=UTF-8")
    feed_id = feeds_client.create_feed(
        "POST_ORDER_ACKNOWLEDGEMENT_DATA",
        created.payload["feedDocumentId"],
        marketplaceIds=[DE],
    ).payload["feedId"]
    sandbox.advance(JOB_DONE)
    done = feeds_client.get_feed(feed_id).payload
    assert done["processingStatus"] == "DONE"
    report = ET.fromstring(feeds_client.get_feed_document(done["resultFeedDocumentId"]))
    assert report.findtext(".//MessagesSuccessful") == "1"
    assert report.findtext(".//MessagesWithError") == "0"
    with sandbox.store.read() as tx:
        (order,) = [o for o in OrderTables(tx).placed([DE], NOW - timedelta(days=1))]
    assert order.status == "Canceled"


def test_the_seller_performance_report_is_served(sandbox, reports_client):
    insert(sandbox, make_order(1, NOW - timedelta(hours=3), sku="HP-001"))
    report_id = reports_client.create_report(
        reportType="GET_V2_SELLER_PERFORMANCE_REPORT", marketplaceIds=[DE]
    ).payload["reportId"]
    sandbox.advance(JOB_DONE)
    report = reports_client.get_report(report_id).payload
    assert report["processingStatus"] == "DONE"
    document = reports_client.get_report_document(report["reportDocumentId"], download=True)
    body = json.loads(document.payload["document"])
    (metrics,) = body["performanceMetrics"]
    assert metrics["marketplaceId"] == DE
    assert "orderDefectRate" in metrics
