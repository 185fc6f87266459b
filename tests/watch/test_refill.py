"""Exposure at a watch pass (engine.watch.refill): the refill gate over what the pass saw, and
refills of capped listings through the journal, on the demo seller with its caps on."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.config.model import Incident
from engine.sandbox.account import PROCESSING_DELAY
from engine.state import journal, lock, refill_holds
from engine.watch.detect import Detection
from engine.watch.refill import REFILL_DIGEST_PREFIX, update_holds
from tests.watch.conftest import NOW, STEP, make_order

US_HP = ("US", "HP-100")


def holds(demo):
    with demo.db.read() as conn:
        return {
            (h.marketplace, h.sku): h
            for h in refill_holds.holds(conn, demo.config.project.seller_id)
        }


def test_unpriced_orders_hold_refills_until_they_are_read_priced(open_demo):
    demo = open_demo(exposure=True)
    pending = make_order(status="Pending", order_id="111-0000001-0000001")
    assert update_holds(demo.db, demo.config, [pending], [], NOW) == []
    hold = holds(demo)[US_HP]
    assert (hold.kind, hold.waiting, hold.since) == ("unjudged", ("111-0000001-0000001",), NOW)
    assert hold.reason.startswith("1 order(s) not priced yet (111-0000001-0000001)")
    # A second unpriced order joins the hold; pricing the first does not lift it yet.
    other = make_order(status="Pending", order_id="111-0000002-0000002")
    later = NOW + STEP
    assert update_holds(demo.db, demo.config, [make_order(), other], [], later) == []
    assert holds(demo)[US_HP].waiting == ("111-0000002-0000002",)
    assert holds(demo)[US_HP].since == NOW  # since the first thing it could not judge
    cancelled = make_order(status="Canceled", order_id="111-0000002-0000002")
    assert update_holds(demo.db, demo.config, [cancelled], [], later + STEP) == [US_HP]
    assert US_HP not in holds(demo)


def test_fba_and_uncapped_listings_are_never_held(open_demo):
    demo = open_demo(exposure=True)
    fba = make_order("HP-300", status="Pending", channel="AFN")
    update_holds(demo.db, demo.config, [fba], [], NOW)
    assert holds(demo) == {}
    plain = open_demo("plain")  # the example without its caps
    update_holds(plain.db, plain.config, [make_order(status="Pending")], [], NOW)
    assert holds(plain) == {}


def test_a_detection_holds_refills_until_the_incident_is_acknowledged(open_demo):
    demo = open_demo(exposure=True)
    found = Detection("velocity", "US", "HP-100", "12 units in the last 60 min", ("1",), 12, NOW)
    update_holds(demo.db, demo.config, [make_order(status="Pending")], [found], NOW)
    hold = holds(demo)[US_HP]
    assert (hold.kind, hold.reason) == ("detection", "velocity: 12 units in the last 60 min")
    # Its orders turn out priced: a detection still holds.
    assert update_holds(demo.db, demo.config, [make_order()], [], NOW + STEP) == []
    assert holds(demo)[US_HP].kind == "detection"
    origin = demo.config.project.defaults["exposure.floor"].origin
    ack = Incident("INC-1", "US", "HP-100", "ops", NOW + timedelta(hours=1), "fixed", origin)
    demo.config = replace(demo.config, incidents=(ack,))
    assert update_holds(demo.db, demo.config, [], [], NOW + 2 * STEP) == [US_HP]
    assert holds(demo) == {}


def test_a_quiet_night_refills_capped_listings_once_their_orders_are_priced(open_demo):
    demo = open_demo(exposure=True)
    seller = demo.config.project.seller_id
    seen_held, written = set(), []
    for _ in range(8):
        demo.buyers(STEP)
        report = demo.watch()
        assert report.detections == [] and report.errors == []
        for refill in report.refills:
            if refill.outcome == "held":
                assert refill.after == refill.before  # held: never raised
                assert "not priced yet" in refill.detail
                seen_held.add(refill.address)
            else:
                assert refill.outcome == "written", refill
                written.append(refill)
    assert written and seen_held
    # Every refill raised a listing to its cap (2: the floor, a quiet listing sells less),
    # and listings it held earlier were refilled once their orders were priced.
    assert {r.after for r in written} == {2}
    assert seen_held & {r.address for r in written}
    with demo.db.read() as conn:
        runs = [
            r for r in journal.runs(conn, seller) if r.plan_digest.startswith(REFILL_DIGEST_PREFIX)
        ]
        assert len(runs) == len(written)
        assert {(r.kind, r.status) for r in runs} == {("emergency", "succeeded")}
        [entry] = journal.entries(conn, written[-1].run_id)
    assert entry.payload["fields"]["quantity"]["after"] == 2
    assert entry.state == "accepted"
    demo.box.advance(PROCESSING_DELAY)
    code, sku = written[-1].address.removeprefix("listing.").rstrip('"]').split('["')
    assert demo.backend.read_listing(code, sku).resource.quantity == 2


def test_refills_wait_for_the_next_pass_while_an_apply_holds_the_lock(open_demo):
    """A refill is routine stock, not an emergency: it never writes beside a running apply."""
    demo = open_demo(exposure=True)
    seller = demo.config.project.seller_id
    held = lock.acquire(demo.db, seller, "ci-runner", "apply", NOW)
    try:
        during = []
        for _ in range(8):
            demo.buyers(STEP)
            during += demo.watch().refills
        assert during and all(r.outcome == "held" for r in during)
        assert all(r.after == r.before for r in during)
        assert any("an apply holds the account's lock" in r.detail for r in during)
    finally:
        held.release()
    demo.buyers(STEP)
    after = demo.watch().refills
    assert any(r.outcome == "written" for r in after)
