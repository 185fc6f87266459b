"""POST_ORDER_ACKNOWLEDGEMENT_DATA: how a seller cancels orders, and its processing report.

The Orders API has no cancel operation; sellers send this XML feed. Each `Message` holds an
`OrderAcknowledgement` with an `AmazonOrderID` and `StatusCode` Success (acknowledged,
nothing changes) or Failure (cancel), and `Item`s with `AmazonOrderItemCode` and
`CancelReason`. Failure cancels the order: seller-cancelled, except with CancelReason
BuyerCanceled, which Amazon accepts only when the buyer asked to cancel (it does not count
against the seller's cancellation rate); sending it otherwise is an error for that message.
Cancelling puts the units back in stock. Amazon alone cancels FBA (AFN) orders.

The document is parsed with defusedxml and DTDs are refused outright (no entity expansion,
no external fetches); XML that does not parse yields a report with one error, never a crash.
Result codes are the sandbox's own (Amazon's numeric codes for these cases are not published
in the models): see RESULT_CODES.

The feeds helper wires this into the Feeds API: `process_order_acknowledgement(account,
document, now) -> bytes`.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from engine.sandbox import lifecycle
from engine.sandbox.account import Account
from engine.sandbox.orders import change_stock
from engine.sandbox.orderstore import OrderTables

CANCEL_REASONS = (
    "GeneralAdjustment",
    "CustomerExchange",
    "PriceError",
    "ProductOutofStock",
    "CustomerReturn",
    "CarrierCreditDecision",
    "RiskAssessmentInformationNotValid",
    "CarrierCoverageFailure",
    "TransactionRecord",
    "Undeliverable",
    "RefusedDelivery",
    "NoInventory",
    "ShippingAddressUndeliverable",
    "CustomerCancel",
    "BuyerCanceled",
)
BUYER_CANCELED = "BuyerCanceled"
RESULT_CODES = {
    "xml": "90001",  # the document is not well-formed XML, or uses a DTD
    "envelope": "90002",  # not an AmazonEnvelope of OrderAcknowledgement messages
    "message": "90003",  # a message lacks a field or has a value the feed does not take
    "order": "90004",  # the order does not exist, or the item is not part of it
    "state": "90005",  # the order can no longer be cancelled (shipped or already cancelled)
    "buyer": "90006",  # BuyerCanceled on an order whose buyer did not ask to cancel
}


@dataclass(slots=True)
class _Report:
    merchant: str
    processed: int = 0
    successful: int = 0
    errors: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def error(self, message_id: str, kind: str, text: str, order_id: str | None = None) -> None:
        self.errors.append((message_id, RESULT_CODES[kind], text, order_id))

    def to_xml(self) -> bytes:
        envelope = ET.Element("AmazonEnvelope")
        header = ET.SubElement(envelope, "Header")
        ET.SubElement(header, "DocumentVersion").text = "1.02"
        ET.SubElement(header, "MerchantIdentifier").text = self.merchant
        ET.SubElement(envelope, "MessageType").text = "ProcessingReport"
        message = ET.SubElement(envelope, "Message")
        ET.SubElement(message, "MessageID").text = "1"
        report = ET.SubElement(message, "ProcessingReport")
        ET.SubElement(report, "DocumentTransactionID").text = str(uuid.uuid4().int % 10**11)
        ET.SubElement(report, "StatusCode").text = "Complete"
        summary = ET.SubElement(report, "ProcessingSummary")
        with_error = len({e[0] for e in self.errors})
        for name, value in (
            ("MessagesProcessed", self.processed),
            ("MessagesSuccessful", self.successful),
            ("MessagesWithError", with_error),
            ("MessagesWithWarning", 0),
        ):
            ET.SubElement(summary, name).text = str(value)
        for message_id, code, text, order_id in self.errors:
            result = ET.SubElement(report, "Result")
            ET.SubElement(result, "MessageID").text = message_id
            ET.SubElement(result, "ResultCode").text = "Error"
            ET.SubElement(result, "ResultMessageCode").text = code
            ET.SubElement(result, "ResultDescription").text = text
            if order_id is not None:
                info = ET.SubElement(result, "AdditionalInfo")
                ET.SubElement(info, "AmazonOrderID").text = order_id
        ET.indent(envelope)
        return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _text(element: Element, name: str) -> str | None:
    child = element.find(name)
    if child is None or child.text is None or not child.text.strip():
        return None
    return child.text.strip()


def process_order_acknowledgement(account: Account, document: bytes, now: datetime) -> bytes:
    """Apply an order acknowledgement feed document; returns its XML processing report."""
    report = _Report(merchant=account.seller_id)
    try:
        root = SafeET.fromstring(document, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as err:
        report.error("0", "xml", f"The feed is not well-formed XML: {err}")
        return report.to_xml()
    if root.tag != "AmazonEnvelope" or _text(root, "MessageType") not in (
        None,
        "OrderAcknowledgement",
    ):
        report.error("0", "envelope", "Expected an AmazonEnvelope of OrderAcknowledgement.")
        return report.to_xml()
    for position, message in enumerate(root.findall("Message"), start=1):
        report.processed += 1
        message_id = _text(message, "MessageID") or str(position)
        problem = _acknowledge(account, message, now)
        if problem is None:
            report.successful += 1
        else:
            report.error(message_id, *problem)
    return report.to_xml()


def _acknowledge(
    account: Account, message: Element, now: datetime
) -> tuple[str, str, str | None] | None:
    """Apply one message; (kind, description, order id) when it fails, changing nothing."""
    ack = message.find("OrderAcknowledgement")
    order_id = None if ack is None else _text(ack, "AmazonOrderID")
    if ack is None or order_id is None:
        return "message", "The message has no OrderAcknowledgement with an AmazonOrderID.", None
    status = _text(ack, "StatusCode")
    if status not in ("Success", "Failure"):
        return "message", f"StatusCode must be Success or Failure, got {status!r}.", order_id
    items = [
        (_text(i, "AmazonOrderItemCode"), _text(i, "CancelReason")) for i in ack.findall("Item")
    ]
    reasons = {reason for _, reason in items if reason is not None}
    unknown = sorted(reasons - set(CANCEL_REASONS))
    if unknown:
        return "message", f"Unknown CancelReason {', '.join(unknown)}.", order_id
    with account.store.write() as tx:
        tables = OrderTables(tx)
        order = tables.order(order_id)
        if order is None or order.seller_id != account.seller_id:
            return "order", f"Order {order_id} was not found.", order_id
        order = lifecycle.advance(order, now)
        known = {item.order_item_id for item in order.items}
        strangers = sorted(code or "(missing)" for code, _ in items if code not in known)
        if strangers:
            return "order", f"Item(s) {', '.join(strangers)} are not in order {order_id}.", order_id
        if status == "Success":
            return None
        if order.channel != "MFN":
            return "state", f"Order {order_id} is fulfilled by Amazon (AFN).", order_id
        reason = next(iter(sorted(reasons)), "GeneralAdjustment")
        if len(reasons) > 1:
            return "message", "All items of a cancelled order need the same CancelReason.", order_id
        if reason == BUYER_CANCELED and not order.buyer_requested_cancel:
            return (
                "buyer",
                f"Order {order_id}: the buyer did not request cancellation, so BuyerCanceled "
                "cannot be used; choose the reason that applies (e.g. NoInventory).",
                order_id,
            )
        try:
            canceled = lifecycle.cancel(
                order, now, by="buyer" if reason == BUYER_CANCELED else "seller", reason=reason
            )
        except lifecycle.OrderStateError as err:
            return "state", str(err), order_id
        tables.save_order(canceled)
        change_stock(tx, account.seller_id, order, +1, now)
    return None
