"""Order acknowledgement feed: cancellations, BuyerCanceled rules, stock, processing report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from engine.sandbox import listings
from engine.sandbox.acknowledgement import RESULT_CODES, process_order_acknowledgement
from engine.sandbox.orderstore import OrderTables
from tests.sandbox.conftest import DE, NOW, SELLER
from tests.sandbox.orderfixtures import insert, make_order


def message(n: int, order_id: str, status: str = "Failure", reason: str | None = None) -> str:
    item = (
        ""
        if reason is None
        else f"<Item><AmazonOrderItemCode>{int(order_id[-7:]):014d}</AmazonOrderItemCode>"
        f"<CancelReason>{reason}</CancelReason></Item>"
    )
    return (
        f"<Message><MessageID>{n}</MessageID><OrderAcknowledgement>"
        f"<AmazonOrderID>{order_id}</AmazonOrderID><StatusCode>{status}</StatusCode>{item}"
        "</OrderAcknowledgement></Message>"
    )


def envelope(*messages: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header>'
        f"<DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{SELLER}"
        "</MerchantIdentifier></Header><MessageType>OrderAcknowledgement</MessageType>"
        + "".join(messages)
        + "</AmazonEnvelope>"
    ).encode()


def parse(report: bytes) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    root = ET.fromstring(report)
    summary = root.find("Message/ProcessingReport/ProcessingSummary")
    counts = {child.tag: int(child.text or "0") for child in summary}
    results = [
        (r.findtext("MessageID"), r.findtext("ResultMessageCode"), r.findtext("ResultDescription"))
        for r in root.iter("Result")
    ]
    return counts, results


def order_id(n: int) -> str:
    return f"302-{n:07d}-{n:07d}"


@pytest.fixture
def orders(sandbox):
    placed = NOW - timedelta(hours=3)
    insert(
        sandbox,
        make_order(1, placed, sku="HP-001", quantity=2),
        make_order(2, placed, sku="HP-002"),
        make_order(3, placed, sku="HP-002", cancel_request_after=timedelta(hours=1)),
        make_order(4, NOW - timedelta(days=2), sku="HP-002"),
    )
    return sandbox


def mfn(box, sku: str) -> int:
    with box.store.read() as tx:
        return listings.mfn_quantity(tx.listing(SELLER, sku, DE).attributes)


def test_cancellations_and_their_report(orders):
    stock = mfn(orders, "HP-001")
    report = process_order_acknowledgement(
        orders.account,
        envelope(
            message(1, order_id(1), reason="NoInventory"),
            message(2, order_id(2), reason="BuyerCanceled"),
            message(3, order_id(3), reason="BuyerCanceled"),
            message(4, order_id(4), reason="GeneralAdjustment"),
            message(5, "302-9999999-9999999", reason="NoInventory"),
            message(6, order_id(2), status="Success"),
        ),
        NOW,
    )
    counts, results = parse(report)
    assert counts == {
        "MessagesProcessed": 6,
        "MessagesSuccessful": 3,
        "MessagesWithError": 3,
        "MessagesWithWarning": 0,
    }
    assert [(r[0], r[1]) for r in results] == [
        ("2", RESULT_CODES["buyer"]),
        ("4", RESULT_CODES["state"]),
        ("5", RESULT_CODES["order"]),
    ]
    assert "did not request cancellation" in results[0][2]
    with orders.store.read() as tx:
        tables = OrderTables(tx)
        first, second, third = (tables.order(order_id(n)) for n in (1, 2, 3))
    assert (first.status, first.canceled_by, first.cancel_reason) == (
        "Canceled",
        "seller",
        "NoInventory",
    )
    assert second.status != "Canceled"
    assert (third.status, third.canceled_by) == ("Canceled", "buyer")
    assert mfn(orders, "HP-001") == stock + 2


@pytest.mark.parametrize(
    "document",
    [
        b"<AmazonEnvelope><Message>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<AmazonEnvelope>&lol2;</AmazonEnvelope>",
        b"\xff\xfe not xml",
    ],
    ids=["truncated", "dtd-entities", "binary"],
)
def test_bad_xml_gives_an_error_report(orders, document):
    counts, results = parse(process_order_acknowledgement(orders.account, document, NOW))
    assert counts["MessagesProcessed"] == 0 and counts["MessagesWithError"] == 1
    assert results[0][1] == RESULT_CODES["xml"]


def test_messages_with_bad_fields_change_nothing(orders):
    report = process_order_acknowledgement(
        orders.account,
        envelope(
            message(1, order_id(1), reason="Bored"),
            message(2, order_id(1), status="Maybe"),
            "<Message><MessageID>3</MessageID></Message>",
        ),
        NOW,
    )
    counts, results = parse(report)
    assert counts["MessagesWithError"] == 3
    assert {r[1] for r in results} == {RESULT_CODES["message"]}
    with orders.store.read() as tx:
        assert OrderTables(tx).order(order_id(1)).status == "Pending"


def test_not_an_order_acknowledgement_envelope(orders):
    counts, results = parse(
        process_order_acknowledgement(orders.account, b"<Feed><Message/></Feed>", NOW)
    )
    assert results[0][1] == RESULT_CODES["envelope"] and counts["MessagesProcessed"] == 0
