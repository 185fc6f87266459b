"""`sync incident --submit`: message the buyers, then cancel their orders, journaled.

Under the apply lock, one journal run of kind `incident` (plan digest `incident:<id>`) holds
an entry per order to cancel; all are `sent` before the feed goes out, then `accepted` or
`failed` from the feed's processing report. Buyers are messaged first, because Amazon closes
messaging on an order once it is cancelled; a message goes only where
getMessagingActionsForOrder offers unexpectedProblem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import defusedxml.ElementTree as SafeET

from engine.core.resource import address
from engine.live.clients import SpApiError
from engine.live.order_actions import (
    UNEXPECTED_PROBLEM,
    messaging_actions,
    send_unexpected_problem,
    submit_order_acknowledgement,
)
from engine.live.spapi import SpApiBackend
from engine.state import journal, lock
from engine.state.breakers import Breaker
from engine.state.db import StateDB
from engine.watch.breaker import holder
from engine.watch.incident import INCIDENT_DIGEST_PREFIX, Affected, Message, cancellation_feed


@dataclass(frozen=True, slots=True)
class Submitted:
    """What happened to one order."""

    order_id: str
    cancelled: bool
    cancel_error: str | None
    message: str  # sent | not offered | failed: ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order_id,
            "cancelled": self.cancelled,
            "cancel_error": self.cancel_error,
            "message": self.message,
        }


def order_address(marketplace: str, order_id: str) -> str:
    return address(marketplace, order_id).replace("listing.", "order.", 1)


def submit(
    backend: SpApiBackend,
    db: StateDB,
    seller_id: str,
    breaker: Breaker,
    affected: Sequence[Affected],
    texts: Sequence[Message],
    now: datetime,
) -> tuple[str, list[Submitted]]:
    """Message and cancel; returns the journal run id and one outcome per order."""
    orders = [a for a in affected if a.cancellable]
    changes = [
        journal.Change(
            order_address(breaker.marketplace, a.order.amazon_order_id),
            "update",
            {"cancel_reason": a.reason, "incident": breaker.incident_id},
        )
        for a in orders
    ]
    with lock.acquire(db, seller_id, holder(), "incident", now):
        with db.write() as conn:
            run = journal.start_run(
                conn,
                seller_id,
                INCIDENT_DIGEST_PREFIX + breaker.incident_id,
                changes,
                now,
                kind="incident",
            )
            for seq in range(len(changes)):
                journal.transition(conn, run.id, seq, "sent", now)
        sent = {m.order_id: _message(backend, breaker.marketplace, m) for m in texts}
        errors = _cancel(backend, breaker.marketplace, seller_id, orders)
        with db.write() as conn:
            for seq, one in enumerate(orders):
                error = errors.get(one.order.amazon_order_id)
                state: journal.EntryState = "failed" if error else "accepted"
                journal.transition(conn, run.id, seq, state, now, error=error)
            journal.finish_run(conn, run.id, now)
    return run.id, [
        Submitted(
            a.order.amazon_order_id,
            a.order.amazon_order_id not in errors,
            errors.get(a.order.amazon_order_id),
            sent.get(a.order.amazon_order_id, "not offered"),
        )
        for a in orders
    ]


def _message(backend: SpApiBackend, marketplace: str, message: Message) -> str:
    try:
        if UNEXPECTED_PROBLEM not in messaging_actions(backend, marketplace, message.order_id):
            return "not offered"
        send_unexpected_problem(backend, marketplace, message.order_id, message.text)
    except SpApiError as err:
        return f"failed: {err}"
    return "sent"


def _cancel(
    backend: SpApiBackend, marketplace: str, seller_id: str, orders: Sequence[Affected]
) -> dict[str, str]:
    """Errors by order id from the feed's processing report (every order when the whole
    document was refused)."""
    if not orders:
        return {}
    _, report = submit_order_acknowledgement(
        backend, marketplace, cancellation_feed(seller_id, orders)
    )
    errors: dict[str, str] = {}
    for result in SafeET.fromstring(report).iter("Result"):
        if result.findtext("ResultCode") != "Error":
            continue
        text = result.findtext("ResultDescription") or "refused"
        order_id = result.findtext("AdditionalInfo/AmazonOrderID")
        if order_id is None:
            return {a.order.amazon_order_id: text for a in orders}
        errors[order_id] = text
    return errors
