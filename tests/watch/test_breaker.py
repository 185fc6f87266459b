"""The breaker: what it writes per channel, through the journal; that it never waits for an
apply (its lock held by another process, its run unfinished) and never races another watch
process; how it is kept by the plan until acknowledged, and released only by the YAML."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.config.model import Incident
from engine.core.changes import FieldChange, ResourceChange
from engine.core.resource import Resource
from engine.sandbox.account import PROCESSING_DELAY
from engine.state import breakers as breaker_store
from engine.state import journal
from engine.state.breakers import Breaker
from engine.state.tables import apply_locks, apply_runs, journal_entries
from engine.state.tables import breakers as breakers_table
from engine.watch import breaker
from tests.sandbox.conftest import make_resource
from tests.state.conftest import open_backend, pg_dsn  # noqa: F401  (fixture)
from tests.state.test_lock import REPO
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
        [run] = journal.runs(conn, seller)
    assert (run.kind, run.status) == ("emergency", "succeeded")
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


# -- the breaker never waits --------------------------------------------------------------

# Runs in a child process: take the apply lock as a CI apply would, report its id, hold it
# until told (a line on stdin), release it.
_HOLD_THE_APPLY_LOCK = """
import sys
from datetime import UTC, datetime
from tests.state.conftest import open_backend
from engine.state.lock import acquire
db = open_backend(sys.argv[1])
lock = acquire(db, sys.argv[2], "ci-runner-7 pid 311", "apply", datetime.now(UTC))
print(lock.id, flush=True)
sys.stdin.readline()
lock.release()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, demo):
    """The demo's state store: its SQLite file, or this test session's PostgreSQL schema
    (tests/state/conftest; skipped when no server answers). Yields (location, StateDB)."""
    if request.param == "sqlite":
        yield str(demo.config.state_dir), demo.db
        return
    dsn = request.getfixturevalue("pg_dsn")
    db = open_backend(dsn)
    yield dsn, db
    seller = demo.config.project.seller_id
    with db.write() as conn:  # the schema outlives the test
        for table in (apply_locks, journal_entries, apply_runs, breakers_table):
            conn.execute(table.delete().where(table.c.seller_id == seller))
    db.close()


def emergency_runs(db, seller: str) -> list[journal.Run]:
    with db.read() as conn:
        return [r for r in journal.runs(conn, seller) if r.kind == "emergency"]


def test_the_write_is_made_while_another_process_holds_the_apply_lock(demo, store):
    location, db = store
    seller = demo.config.project.seller_id
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_APPLY_LOCK, location, seller],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lock_id = holder.stdout.readline().strip()
        assert lock_id, "the lock holder did not start"
        [done] = breaker.enforce(demo.backend, db, seller, [TRIP], NOW)
        with db.read() as conn:
            still_held = conn.execute(
                sa.select(apply_locks.c.id).where(apply_locks.c.seller_id == seller)
            ).scalar_one()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert (done.outcome, done.detail) == ("written", "quantity 31 -> 0")
    [run] = emergency_runs(db, seller)
    with db.read() as conn:
        [entry] = journal.entries(conn, run.id)
    assert (run.id, run.plan_digest, run.status) == (
        done.run_id,
        "breaker:" + TRIP.incident_id,
        "succeeded",
    )
    assert (entry.state, entry.payload["emergency"]) == ("accepted", True)
    assert still_held == lock_id  # the apply's lock was neither waited for nor touched
    assert holder.returncode == 0
    demo.box.advance(PROCESSING_DELAY)
    assert demo.backend.read_listing("US", "HP-100").resource.quantity == 0


def test_the_write_is_made_while_an_apply_run_is_unfinished(demo, store):
    """The apply's own run is left as it was: the next apply resumes it (tests/cli kills a
    real apply and resumes it after a breaker write)."""
    _, db = store
    seller = demo.config.project.seller_id
    change = journal.Change('listing.US["HP-200"]', "update", {"change": "planned"})
    with db.write() as conn:
        killed = journal.start_run(conn, seller, "sha256:plan", [change], NOW)
        journal.transition(conn, killed.id, 0, "sent", NOW)
    [done] = breaker.enforce(demo.backend, db, seller, [TRIP], NOW)
    assert done.outcome == "written"
    with db.read() as conn:
        point = journal.resume_point(conn, seller)
    assert point.run == killed and [e.state for e in point.outcome_unknown] == ["sent"]
    demo.box.advance(PROCESSING_DELAY)
    assert demo.backend.read_listing("US", "HP-100").resource.quantity == 0


class SlowWrites:
    """The demo backend, with each write counted and held until the test lets it go."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.writing = threading.Event()
        self.go = threading.Event()
        self.writes = 0

    def read_listing(self, marketplace, sku):
        return self._backend.read_listing(marketplace, sku)

    def write(self, change):
        self.writing.set()
        assert self.go.wait(timeout=30)
        self.writes += 1
        return self._backend.write(change)


def test_two_watch_processes_never_write_one_listing_at_once(demo, store):
    _, db = store
    seller = demo.config.project.seller_id
    slow, other = SlowWrites(demo.backend), SlowWrites(demo.backend)
    other.go.set()
    first: list[breaker.Enforcement] = []
    writer = threading.Thread(
        target=lambda: first.extend(breaker.enforce(slow, db, seller, [TRIP], NOW))
    )
    writer.start()
    try:
        assert slow.writing.wait(timeout=30)
        [second] = breaker.enforce(other, db, seller, [TRIP], NOW + timedelta(seconds=30))
    finally:
        slow.go.set()
        writer.join(timeout=30)
    [done] = first
    assert done.outcome == "written"
    assert second.outcome == "in_progress" and second.run_id == done.run_id
    assert f"another watch process is writing it (run {done.run_id}" in second.detail
    assert [r.id for r in emergency_runs(db, seller)] == [done.run_id]
    assert (slow.writes, other.writes) == (1, 0)


def _dead_claim(db, seller: str, at, *, sent: bool = True) -> journal.Run:
    """An emergency run a watch process claimed at `at` and died in (entry sent or pending)."""
    change = journal.Change('listing.US["HP-100"]', "update", {"emergency": True})
    with db.write() as conn:
        run = journal.start_run(conn, seller, "breaker:INC-OLD", [change], at, kind="emergency")
        if sent:
            journal.transition(conn, run.id, 0, "sent", at)
    return run


def test_a_claim_left_by_a_dead_watch_process_is_closed_and_the_write_made(demo, store):
    _, db = store
    seller = demo.config.project.seller_id
    dead = _dead_claim(db, seller, NOW - breaker.EMERGENCY_LEASE)
    [done] = breaker.enforce(demo.backend, db, seller, [TRIP], NOW)
    assert done.outcome == "written"
    assert done.detail == (
        f"quantity 31 -> 0; closed run {dead.id} that a watch process left unfinished "
        "(outcome unknown)"
    )
    with db.read() as conn:
        closed = journal.find_run(conn, seller, dead.id)
        [entry] = journal.entries(conn, dead.id)
        assert journal.open_emergency_entries(conn, seller) == []
    assert (closed.status, entry.state, entry.error) == (
        "abandoned",
        "unknown",
        breaker.DIED_AFTER_SENDING,
    )
    demo.box.advance(PROCESSING_DELAY)
    # A dead claim on a listing live shows held: its write landed (verified); one never sent
    # is journaled as such.
    later = NOW + timedelta(minutes=15)
    landed = _dead_claim(db, seller, NOW)
    [again] = breaker.enforce(demo.backend, db, seller, [TRIP], later)
    assert again.outcome == "in_place" and f"closed run {landed.id}" in again.detail
    never = _dead_claim(db, seller, later, sent=False)
    breaker.enforce(demo.backend, db, seller, [TRIP], later + breaker.EMERGENCY_LEASE)
    with db.read() as conn:
        assert [(e.state, e.error) for e in journal.entries(conn, landed.id)] == [
            ("verified", None)
        ]
        assert journal.find_run(conn, seller, landed.id).status == "succeeded"
        assert [(e.state, e.error) for e in journal.entries(conn, never.id)] == [
            ("failed", breaker.DIED_BEFORE_SENDING)
        ]


def test_a_fresh_claim_of_another_process_on_a_held_listing_is_left_alone(demo, store):
    _, db = store
    seller = demo.config.project.seller_id
    breaker.enforce(demo.backend, db, seller, [TRIP], NOW)
    demo.box.advance(PROCESSING_DELAY)
    working = _dead_claim(db, seller, NOW)  # not dead: within the lease
    [done] = breaker.enforce(demo.backend, db, seller, [TRIP], NOW + timedelta(seconds=30))
    assert (done.outcome, done.detail) == ("in_place", "already unbuyable")
    with db.read() as conn:
        assert [e.run_id for e in journal.open_emergency_entries(conn, seller)] == [working.id]


# -- what an apply may not send while a breaker holds a listing --------------------------


def _update(before: Resource, **after: object) -> ResourceChange:
    changed = replace(before, **after)
    fields = tuple(FieldChange(name, getattr(before, name), value) for name, value in after.items())
    return ResourceChange(before.address, "update", before, changed, fields)


@pytest.mark.parametrize(
    ("change", "restores"),
    [
        (_update(MFN, quantity=20), True),
        (_update(MFN, our_price=Decimal("39.99")), False),  # still quantity 0
        (_update(MFN, quantity=0), False),
        (_update(FBA, minimum_seller_allowed_price=Decimal("57.20")), True),
        (_update(FBA, our_price=Decimal("149.99")), True),  # over the raised minimum
        (_update(FBA, our_price=Decimal("99.99")), False),
        (_update(FBA, title="Sonora HP-300 v2"), False),
        (ResourceChange(MFN.address, "delete", MFN, None, ()), False),
        (ResourceChange(MFN.address, "create", None, MFN, ()), True),
    ],
)
def test_a_change_restores_sale_when_the_held_listing_would_be_buyable_after_it(change, restores):
    assert breaker.restores_sale(change) is restores


def test_an_acknowledgement_releases_only_its_own_breaker(demo):
    seller = demo.config.project.seller_id
    other = replace(TRIP, sku="HP-200", incident_id="INC-202611272200-US-HP-200")
    assert breaker.trip(demo.db, seller, [TRIP, other]) == [TRIP, other]
    assert breaker.release_acknowledged(demo.db, seller, [_ack(TRIP.incident_id)]) == [TRIP]
    with demo.db.read() as conn:
        assert breaker_store.tripped(conn, seller) == [other]
