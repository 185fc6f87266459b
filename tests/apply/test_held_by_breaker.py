"""An apply and the breaker at once, against the sandbox, on both state stores: the breaker
writes while the apply holds the lock and its run is unfinished, and the apply, which reads
the tripped breakers again before each write, never puts a held listing back on sale."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine.config.model import Incident
from engine.state import journal
from engine.state.breakers import Breaker
from engine.state.db import StateDB
from engine.state.tables import apply_locks, apply_runs, breakers, journal_entries
from engine.watch import breaker
from tests.apply.conftest import CONFIG_DIGEST, writes_of
from tests.apply.test_executor import HP010, HP011, NEW1, BulkThreshold3
from tests.sandbox.conftest import NOW, SELLER
from tests.state.conftest import open_backend, pg_dsn  # noqa: F401  (fixture)

TRIP = Breaker("DE", "HP-011", NOW, "below_floor: 3 units at 0.50", "INC-202611221200-DE-HP-011")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[StateDB]:
    """The apply's state store (overrides tests/apply's SQLite one): SQLite in tmp_path, or
    this session's PostgreSQL schema (skipped when no server answers)."""
    location = str(tmp_path / "state") if request.param == "sqlite" else None
    store = open_backend(location or request.getfixturevalue("pg_dsn"))
    yield store
    with store.write() as conn:  # the PostgreSQL schema outlives the test
        for table in (apply_locks, journal_entries, apply_runs, breakers):
            conn.execute(table.delete().where(table.c.seller_id == SELLER))
    store.close()


def test_a_breaker_tripped_mid_apply_is_written_and_the_apply_does_not_undo_it(
    make_plan, make_executor, make_backend, backend, db, desired, sandbox, clock
):
    """The plan raises HP-011's quantity to 42. After the apply's first write, while it holds
    the lock and its run is unfinished, the watchdog trips HP-011 and writes quantity 0 from
    its own connection; the apply then goes on in its thread."""
    plan, digest = make_plan(desired)
    paused, go = threading.Event(), threading.Event()

    def pause_after_the_first_write() -> None:
        if not paused.is_set():
            paused.set()
            assert go.wait(timeout=30)

    reports = []
    executor = make_executor(after_write=pause_after_the_first_write)
    applying = threading.Thread(
        target=lambda: reports.append(executor.apply(plan, digest, CONFIG_DIGEST))
    )
    applying.start()
    watchdog = make_backend()
    try:
        assert paused.wait(timeout=30)
        with db.read() as conn:
            assert journal.resume_point(conn, SELLER) is not None  # the apply is mid-run
        [done] = breaker.enforce(watchdog, db, SELLER, breaker.trip(db, SELLER, [TRIP]), NOW)
    finally:
        go.set()
        applying.join(timeout=60)

    assert (done.outcome, done.detail) == ("written", "quantity 5 -> 0")
    [report] = reports
    assert report.stopped is None  # not a stale stop: live did not show the trip yet
    assert report.applied == (HP010, NEW1)
    assert report.skipped == ((HP011, breaker.held_back(TRIP)),)
    assert report.exit_code == 4
    assert writes_of(backend) == ["patchListingsItem", "putListingsItem"]  # never HP-011
    assert writes_of(watchdog) == ["patchListingsItem"]
    with db.read() as conn:
        kinds = {r.kind: r.status for r in journal.runs(conn, SELLER)}
        [held] = [e for e in journal.entries(conn, report.run_id) if e.address == HP011]
    assert kinds == {"apply": "failed", "emergency": "succeeded"}
    assert held.state == "failed" and TRIP.incident_id in held.error
    sandbox.advance(sandbox.account.processing_delay)
    live = backend.read_listing("DE", "HP-011")
    assert live.resource.quantity == 0 and "BUYABLE" not in live.status


def test_a_bulk_batch_leaves_out_what_a_breaker_holds(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    tripped = breaker.trip(db, SELLER, [TRIP])  # after planning, before the apply
    breaker.enforce(backend, db, SELLER, tripped, NOW)
    bulk = BulkThreshold3(backend)

    report = make_executor(on=bulk).apply(plan, digest, CONFIG_DIGEST)

    assert bulk.batches == [[HP010, NEW1]]  # one read of the breakers, one feed without HP-011
    assert report.applied == (HP010, NEW1)
    assert [address for address, _ in report.skipped] == [HP011]
    assert backend.read_listing("DE", "HP-011").resource.quantity == 0


def test_only_changes_that_would_restore_a_sale_are_held_and_acknowledged_ones_are_not(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    price_only = Breaker("DE", "HP-010", NOW, "velocity", "INC-202611221200-DE-HP-010")
    breaker.trip(db, SELLER, [TRIP, price_only])
    acknowledged = Incident(TRIP.incident_id, "DE", "HP-011", "maria", NOW, "refunded", None)  # type: ignore[arg-type]

    report = make_executor(incidents=[acknowledged]).apply(plan, digest, CONFIG_DIGEST)

    # HP-010's new price leaves it unbuyable under its breaker; HP-011's is acknowledged.
    assert report.exit_code == 0 and report.skipped == ()
    assert report.applied == (HP010, HP011, NEW1)
    assert backend.read_listing("DE", "HP-011").resource.quantity == 42
