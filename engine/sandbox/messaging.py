"""Messaging v1 for sandbox orders: which messages may be sent, and sending one.

getMessagingActionsForOrder answers the model's HAL shape (`_links.actions`,
`_embedded.actions`). The sandbox offers one action, `unexpectedProblem`, and only while the
order is merchant-fulfilled and not canceled (Amazon contacts buyers of FBA orders itself).
createUnexpectedProblem takes plain text of 1 to 2000 characters without HTML or e-mail
addresses (Amazon refuses both), and records the message in the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.sandbox import lifecycle
from engine.sandbox.account import Account, invalid_input
from engine.sandbox.lifecycle import Order
from engine.sandbox.orders import find_order, not_found, process_due
from engine.sandbox.orderstore import BuyerMessage, OrderTables

UNEXPECTED_PROBLEM = "unexpectedProblem"
MAX_TEXT = 2000
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&[A-Za-z]+;|&#\d+;")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _order_in(account: Account, order_id: str, marketplace_ids: Sequence[str]) -> Order:
    if len(marketplace_ids) != 1:
        raise invalid_input("'marketplaceIds' must name exactly one marketplace.")
    account.marketplaces(marketplace_ids)
    process_due(account)
    with account.store.read() as tx:
        order = find_order(OrderTables(tx), order_id)
    if order.marketplace_id != marketplace_ids[0]:
        raise not_found(order_id)
    return order


def allowed_actions(order: Order) -> list[str]:
    if order.channel == "MFN" and order.status != lifecycle.CANCELED:
        return [UNEXPECTED_PROBLEM]
    return []


def actions_for_order(
    account: Account, order_id: str, marketplace_ids: Sequence[str]
) -> dict[str, Any]:
    order = _order_in(account, order_id, marketplace_ids)
    query = f"?marketplaceIds={order.marketplace_id}"
    base = f"/messaging/v1/orders/{order_id}"
    links = []
    embedded = []
    for name in allowed_actions(order):
        link = {"href": f"{base}/messages/{name}{query}", "name": name}
        links.append(link)
        embedded.append(
            {
                "_links": {
                    "self": link,
                    "schema": {"href": f"{base}/messages/{name}/schema", "name": name},
                }
            }
        )
    return {
        "_links": {"self": {"href": base + query}, "actions": links},
        "_embedded": {"actions": embedded},
    }


def text_problem(text: object) -> str | None:
    """Why Amazon would refuse this message text, or None when it is acceptable."""
    if not isinstance(text, str):
        return "'text' is required and must be a string."
    if not 1 <= len(text) <= MAX_TEXT:
        return f"'text' must be 1 to {MAX_TEXT} characters long (it has {len(text)})."
    if _HTML.search(text):
        return "'text' must be plain text: HTML is not allowed."
    if _EMAIL.search(text):
        return "'text' must not contain e-mail addresses."
    return None


def create_unexpected_problem(
    account: Account, order_id: str, marketplace_ids: Sequence[str], body: object
) -> dict[str, Any]:
    order = _order_in(account, order_id, marketplace_ids)
    text = body.get("text") if isinstance(body, dict) else None
    problem = text_problem(text)
    if problem is not None:
        raise invalid_input(problem)
    if UNEXPECTED_PROBLEM not in allowed_actions(order):
        raise invalid_input(
            f"The unexpectedProblem message is not available for order {order_id} "
            f"({order.channel}, {order.status})."
        )
    with account.store.write() as tx:
        OrderTables(tx).add_message(
            BuyerMessage(
                order_id, order.marketplace_id, UNEXPECTED_PROBLEM, str(text), account.clock.now()
            )
        )
    return {}
