"""Incidents: affected orders, the projected cancellation rate, the cancellation feed (parsed),
buyer messages per language, the evidence timeline, and submitting against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import defusedxml.ElementTree as SafeET
import pytest

from engine.core.orders import iso
from engine.desired.render import render
from engine.sandbox.acknowledgement import CANCEL_REASONS
from engine.sandbox.messaging import text_problem
from engine.sandbox.orderstore import OrderTables
from engine.state import breakers as breaker_store
from engine.state import journal
from engine.state.breakers import Breaker
from engine.state.journal import Run
from engine.watch import apology, incident
from engine.watch.run import ORDERS_LAG
from engine.watch.submit import submit
from tests.watch.conftest import NOW, STEP, make_order
from tests.watch.test_run import runaway_promotion

TRIP = Breaker("US", "HP-100", NOW, "below_floor: 1.00 a unit", "INC-202611272200-US-HP-100")


def _affected(config):
    orders = [
        make_order(
            price="59.99", discount="58.99", order_id="111-1-1", at=NOW - timedelta(hours=2)
        ),
        make_order(
            price="59.99",
            discount="58.99",
            order_id="111-1-2",
            buyer_cancel=True,
            at=NOW - timedelta(hours=1),
        ),
        make_order(price="59.99", order_id="111-1-3"),  # a fair price: not the incident
        make_order(price="59.99", discount="58.99", order_id="111-1-4", status="Shipped"),
        make_order(price="59.99", discount="58.99", order_id="111-1-5", channel="AFN"),
        make_order("SPK-1", price="1.00", order_id="111-1-6"),  # another listing
    ]
    return orders, incident.affected_orders(orders, config, render(config, NOW).resources, TRIP)


def test_affected_orders_are_the_open_ones_under_the_floor(make_config):
    _, affected = _affected(make_config())
    assert [(a.order.amazon_order_id, a.reason, a.cancellable) for a in affected] == [
        ("111-1-1", "GeneralAdjustment", True),
        ("111-1-2", "BuyerCanceled", True),
        ("111-1-5", "GeneralAdjustment", False),  # FBA: Amazon cancels it
    ]
    assert affected[0].to_dict()["realized_unit_price"] == "1.00"


def test_the_projected_rate_counts_seller_cancelled_mfn_orders_only(make_config):
    orders, affected = _affected(make_config())
    history = [make_order(order_id=f"111-9-{n}", at=NOW - timedelta(days=3)) for n in range(36)]
    old = make_order(order_id="111-8-1", status="Canceled", at=NOW - timedelta(days=8))
    rate = incident.cancellation_rate([*orders, *history, old], affected, NOW)
    # 41 MFN orders in 7 days (the AFN one does not count); one more seller cancellation.
    assert (rate.mfn_orders, rate.cancelled, rate.to_cancel) == (41, 0, 1)
    assert rate.to_dict()["projected_pct"] == "2.44"
    assert rate.to_dict()["within_target"] is True
    cancelled = make_order(order_id="111-8-2", status="Canceled", at=NOW - timedelta(days=1))
    worse = incident.cancellation_rate([*orders, *history, cancelled], affected, NOW)
    assert (worse.current_pct, worse.projected_pct) == (Decimal("2.38"), Decimal("4.76"))
    assert worse.to_dict()["within_target"] is False


def test_the_feed_cancels_mfn_orders_with_reasons_the_feed_accepts(make_config):
    _, affected = _affected(make_config())
    root = SafeET.fromstring(incident.cancellation_feed("A1TESTSELLER", affected))
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    assert root.findtext("Header/MerchantIdentifier") == "A1TESTSELLER"
    acks = {
        m.findtext("OrderAcknowledgement/AmazonOrderID"): (
            m.findtext("OrderAcknowledgement/StatusCode"),
            m.findtext("OrderAcknowledgement/Item/AmazonOrderItemCode"),
            m.findtext("OrderAcknowledgement/Item/CancelReason"),
        )
        for m in root.findall("Message")
    }
    assert acks == {
        "111-1-1": ("Failure", "111-1-1-1", "GeneralAdjustment"),
        "111-1-2": ("Failure", "111-1-2-1", "BuyerCanceled"),
    }
    assert {reason for _, _, reason in acks.values()} <= set(CANCEL_REASONS)


@pytest.mark.parametrize(
    ("marketplace", "language", "words"),
    [
        ("US", "en", "cancel"),
        ("UK", "en", "refunded"),
        ("DE", "de", "stornieren"),
        ("FR", "fr", "annuler"),
        ("IT", "it", "annullarlo"),
        ("ES", "es", "cancelarlo"),
        ("MX", "es", "reembolsa"),
        ("JP", "ja", "キャンセル"),
        ("NL", "en", "cancel"),  # no Dutch text yet: English
    ],
)
def test_messages_are_plain_text_in_the_marketplace_language(marketplace, language, words):
    text = apology.apology(marketplace, "302-1234567-7654321", "Sonora Audio")
    assert apology.language_of(marketplace) == language
    assert words in text and "302-1234567-7654321" in text
    assert text_problem(text) is None  # 1-2000 chars, no HTML, no e-mail address
    lowered = text.lower()
    for asking in ("review", "feedback", "bewert", "avis", "recensione", "reseña", "レビュー"):
        assert asking not in lowered


def test_the_timeline_orders_the_evidence(make_config):
    _, affected = _affected(make_config())
    commit = incident.ConfigCommit("a" * 40, NOW - timedelta(days=1), "promo: winter sale")
    runs = [
        Run("r1", "S", "d" * 64, NOW - timedelta(hours=5), NOW, "succeeded"),
        Run("r2", "S", "breaker:" + TRIP.incident_id, NOW, NOW, "succeeded", "emergency"),
        Run("r3", "S", "e" * 64, NOW + timedelta(hours=1), None, "running"),  # after the trip
    ]
    events = incident.timeline(TRIP, affected, runs, commit)
    assert [e.what.split(" (")[0].split(":")[0] for e in events] == [
        "config commit aaaaaaaaaaaa",
        "apply of plan dddddddddddd started",
        "first affected order 111-1-1",
        "last affected order 111-1-5",
        "breaker tripped",
        "breaker write journaled",
    ]


def test_submitting_messages_buyers_then_cancels_their_orders(open_demo):
    demo = open_demo(moving_clock=True)
    runaway_promotion(demo)
    demo.buyers(STEP)
    demo.box.advance(timedelta(hours=1))  # payments authorised: orders are Unshipped
    report = demo.watch()
    breaker = next(b for b in report.tripped if b.sku == "HP-IE-10")
    now = demo.box.clock.now()
    orders = demo.backend.read_orders(
        "US", updated_after=now - timedelta(days=7), updated_before=now - ORDERS_LAG
    )
    affected = incident.affected_orders(orders, demo.config, demo.desired, breaker)
    assert affected and all(a.cancellable for a in affected)
    texts = incident.messages(affected, demo.config.project.seller_name)
    seller = demo.config.project.seller_id
    run_id, outcomes = submit(demo.backend, demo.db, seller, breaker, affected, texts, now)
    assert all(o.cancelled and o.message == "sent" for o in outcomes), outcomes
    with demo.box.store.read() as tx:
        tables = OrderTables(tx)
        sent = {m.amazon_order_id for m in tables.messages(None)}
        statuses = {tables.order(a.order.amazon_order_id).status for a in affected}
    assert sent == {a.order.amazon_order_id for a in affected}
    assert statuses == {"Canceled"}
    with demo.db.read() as conn:
        entries = journal.entries(conn, run_id)
        runs = journal.runs(conn, seller)
        assert breaker_store.tripped(conn, seller)  # cancelling does not release the breaker
    assert {e.state for e in entries} == {"accepted"} and len(entries) == len(affected)
    events = incident.timeline(breaker, affected, runs, None)
    assert events[-1].what.startswith("cancellations submitted") and iso(events[-1].at)
