"""What the seller does to orders after an incident: cancel them with the order
acknowledgement feed, and message their buyers. Over the same SpApiBackend (its feed
lifecycle and paced operations), kept apart from its listings code.

- Cancelling: POST_ORDER_ACKNOWLEDGEMENT_DATA (XML) through the feeds lifecycle of
  engine.live.documents; the processing report (XML) is returned for the caller to read.
- Messaging v1: getMessagingActionsForOrder says which messages the order allows (Amazon
  allows none for FBA orders, and none once the buyer's window has passed);
  createUnexpectedProblem sends plain text.
"""

from __future__ import annotations

from engine.live import documents
from engine.live.attributes import market
from engine.live.clients import MESSAGING
from engine.live.spapi import SpApiBackend

ACKNOWLEDGEMENT_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"
UNEXPECTED_PROBLEM = "unexpectedProblem"


def submit_order_acknowledgement(
    backend: SpApiBackend, marketplace: str, document: bytes
) -> tuple[str, bytes]:
    """Submit an order acknowledgement feed and wait for it; (feed id, processing report)."""
    feed_id, status, report = backend.run_feed(
        marketplace, document, ACKNOWLEDGEMENT_FEED, content_type=XML_CONTENT_TYPE
    )
    if report is None:
        raise documents.DocumentError(
            f"order acknowledgement feed {feed_id} ended {status} without a processing report; "
            "no order was cancelled"
        )
    return feed_id, report


def messaging_actions(backend: SpApiBackend, marketplace: str, order_id: str) -> list[str]:
    """The names of the messages this order allows now."""
    mid = market(marketplace).marketplace_id
    payload = backend.operation(MESSAGING, marketplace)(
        "getMessagingActionsForOrder",
        lambda c: c.get_messaging_actions_for_order(order_id, marketplaceIds=[mid]),
    ).payload
    actions = (payload.get("_links") or {}).get("actions") or ()
    return [str(a.get("name")) for a in actions if a.get("name")]


def send_unexpected_problem(
    backend: SpApiBackend, marketplace: str, order_id: str, text: str
) -> None:
    """createUnexpectedProblem; refusals raise SpApiError with Amazon's errors."""
    mid = market(marketplace).marketplace_id
    backend.operation(MESSAGING, marketplace)(
        "createUnexpectedProblem",
        lambda c: c.create_unexpected_problem(order_id, marketplaceIds=[mid], body={"text": text}),
        idempotent=False,
    )
