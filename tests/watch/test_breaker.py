"""The breaker: what it writes per channel, through the journal and the lock, how it is
kept by the plan until acknowledged, and released only by the YAML."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from engine.config.model import Incident
from engine.sandbox.account import PROCESSING_DELAY
from engine.state import journal, lock
from engine.state import watch as watch_state
from engine.state.watch import Breaker
from engine.watch import breaker
from tests.sandbox.conftest import make_resource
from tests.watch.conftest import NOW

MFN = make_resource("US", "HP-100", "49.99", currency="USD", language="en", quantity=60)
FBA = make_resource("US", "HP-300", "129.99", currency="USD", language="en", fba=True)
TRIP = Breaker("US", "HP-100", NOW, "below_floor: 3 units at 0.50", "INC-202611272200-US-HP-100")


def test_mfn_is_held_at_quantity_zero_and_nothing_else_changes():
    held = breaker.breaker_state(MFN)
    assert held == replace(MFN, quantity=0)
    change = breaker.breaker_change(MFN)
    assert [(f.field, f.before, f.after) for f in change.fields] == [("quantity", 60, 0)]
    assert breaker.breaker_change(held) is None


def test_fba_is_held_by_a_minimum_price_above_our_price():
    held = breaker.breaker_state(FBA)
    assert held.minimum_seller_allowed_price == Decimal("130.00")
    assert held.maximum_seller_allowed_price == Decimal("400.00")
    assert held.quantity is None and held.our_price == FBA.our_price
    assert breaker.is_held(held) and not breaker.is_held(FBA)
    low_max = replace(FBA, maximum_seller_allowed_price=Decimal("129.99"))
    assert breaker.breaker_state(low_max).maximum_seller_allowed_price == Decimal("130.00")


def _ack(incident_id: str, sku: str = "HP-100") -> Incident:
    return Incident(incident_id, "US", sku, "maria", NOW, "cancelled the orders", None)  # type: ignore[arg-type]


def test_the_plan_holds_a_tripped_listing_until_its_incident_is_acknowledged():
    desired = {MFN.address: MFN, FBA.address: FBA}
    held_desired, held = breaker.hold_tripped(desired, [TRIP], [])
    assert held_desired[MFN.address].quantity == 0 and held_desired[FBA.address] == FBA
    assert [h.address for h in held] == [MFN.address]
    assert "held by breaker INC-202611272200-US-HP-100" in held[0].line()
    assert "incidents.yaml" in held[0].line()
    # Another incident's acknowledgement does not release it; its own does.
    assert breaker.hold_tripped(desired, [TRIP], [_ack("INC-OTHER")])[1] == held
    assert breaker.hold_tripped(desired, [TRIP], [_ack(TRIP.incident_id)]) == (desired, ())
    assert desired[MFN.address].quantity == 60  # the input is not changed


def test_enforcing_writes_quantity_zero_through_the_journal_once(demo):
    [done] = breaker.enforce(demo.backend, demo.db, demo.config.project.seller_id, [TRIP], NOW)
    assert (done.outcome, done.detail) == ("written", "quantity 31 -> 0")
    seller = demo.config.project.seller_id
    with demo.db.read() as conn:
        [entry] = journal.entries(conn, done.run_id)
        assert journal.resume_point(conn, seller) is None  # the emergency run is finished
    assert (entry.address, entry.state) == ('listing.US["HP-100"]', "accepted")
    assert entry.payload["emergency"] is True
    assert entry.payload["incident"] == TRIP.incident_id
    assert entry.payload["fields"] == {"quantity": {"before": 31, "after": 0}}
    demo.box.advance(PROCESSING_DELAY)
    assert demo.backend.read_listing("US", "HP-100").resource.quantity == 0
    [again] = breaker.enforce(demo.backend, demo.db, seller, [TRIP], NOW + timedelta(minutes=15))
    assert again.outcome == "in_place"


def test_an_fba_offer_is_suppressed_by_its_minimum_price(demo):
    trip = replace(TRIP, sku="HP-300", incident_id="INC-202611272200-US-HP-300")
    [done] = breaker.enforce(demo.backend, demo.db, demo.config.project.seller_id, [trip], NOW)
    assert done.outcome == "written"
    assert done.detail == "minimum_seller_allowed_price 57.20 -> 130.00"  # floor -> over price
    demo.box.advance(PROCESSING_DELAY)
    live = demo.backend.read_listing("US", "HP-300")
    assert "BUYABLE" not in live.status
    assert any(i.get("code") == "POTENTIAL_PRICING_ERROR" for i in live.issues)


def test_a_held_apply_lock_defers_the_write(demo):
    seller = demo.config.project.seller_id
    with lock.acquire(demo.db, seller, "ci-runner-7", "apply", NOW):
        [done] = breaker.enforce(demo.backend, demo.db, seller, [TRIP], NOW)
    assert done.outcome == "deferred" and "ci-runner-7" in done.detail
    demo.box.advance(PROCESSING_DELAY)
    assert demo.backend.read_listing("US", "HP-100").resource.quantity == 31  # the seeded US stock


def test_an_acknowledgement_releases_only_its_own_breaker(demo):
    seller = demo.config.project.seller_id
    other = replace(TRIP, sku="HP-200", incident_id="INC-202611272200-US-HP-200")
    assert breaker.trip(demo.db, seller, [TRIP, other]) == [TRIP, other]
    assert breaker.release_acknowledged(demo.db, seller, [_ack(TRIP.incident_id)]) == [TRIP]
    with demo.db.read() as conn:
        assert watch_state.tripped(conn, seller) == [other]
