"""Abandoning an unfinished run whose plan file is lost, against the sandbox: what becomes of
each entry, the dead holder's lock, refusals, and that nothing reaches Amazon."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.apply.abandon import (
    NEVER_SENT,
    NOT_READABLE,
    OUTCOME_UNKNOWN,
    NoSuchRun,
    RunFinished,
    abandon,
)
from engine.state import journal, last_applied
from engine.state.lock import HolderAlive, LockHeld, acquire
from engine.state.tables import apply_locks, apply_runs, journal_entries
from engine.watch.breaker import EMERGENCY_DIGEST_PREFIX
from tests.apply.conftest import (
    CONFIG_DIGEST,
    Killed,
    apply_dying_before_the_first_request,
    calls_of,
    die_after,
    writes_of,
)
from tests.sandbox.conftest import NOW, SELLER
from tests.state.conftest import open_backend, pg_dsn  # noqa: F401  (fixture)
from tests.state.test_lock import _DIE_HOLDING as DIE_HOLDING
from tests.state.test_lock import REPO

HP010 = 'listing.DE["HP-010"]'
HP011 = 'listing.DE["HP-011"]'
NEW1 = 'listing.FR["NEW-1"]'


def the_run(db) -> journal.Run:
    with db.read() as conn:
        (run,) = journal.runs(conn, SELLER)
    return run


def entries(db, run_id: str) -> dict[str, journal.Entry]:
    with db.read() as conn:
        return {e.address: e for e in journal.entries(conn, run_id)}


@pytest.fixture
def run_abandon(backend, db, timer, clock):
    def run(run_id: str):
        return abandon(backend, db, run_id, now=clock.now, timer=timer, holder="laptop pid 9")

    return run


@pytest.fixture
def killed(make_plan, make_executor, desired, db):
    """An apply killed after its second write was answered: HP-010 accepted, HP-011 sent
    (Amazon took it, the answer never reached the journal), NEW-1 pending. The dead process's
    lock is held, as it is after a real kill."""
    plan, digest = make_plan(desired)
    with pytest.raises(Killed):
        make_executor(after_write=die_after(2)).apply(plan, digest, CONFIG_DIGEST)
    acquire(db, SELLER, "ci-runner-7 pid 311", "apply", NOW)
    run = the_run(db)
    assert {a: e.state for a, e in entries(db, run.id).items()} == {
        HP010: "accepted",
        HP011: "sent",
        NEW1: "pending",
    }
    return run


def test_abandoning_settles_every_entry_from_live_and_writes_nothing(
    killed, run_abandon, backend, db
):
    written = writes_of(backend)

    report = run_abandon(killed.id)

    assert writes_of(backend) == written  # nothing reached the sandbox
    assert report.run.status == "abandoned" and report.run.finished_at is not None
    assert [(s.address, s.was, s.now) for s in report.entries] == [
        (HP010, "accepted", "verified"),
        (HP011, "sent", "verified"),
        (NEW1, "pending", "failed"),
    ]
    stored = entries(db, killed.id)
    assert stored[NEW1].error == NEVER_SENT
    assert the_run(db).status == "abandoned"
    with db.read() as conn:
        applied = last_applied.load(conn, SELLER)
        assert journal.resume_point(conn, SELLER) is None  # nothing left to resume
    assert HP010 in applied and HP011 in applied and NEW1 not in applied
    assert report.released_lock is not None
    assert report.released_lock.holder == "ci-runner-7 pid 311"
    acquire(db, SELLER, "next", "apply", NOW).release()  # the lock is free again


def test_a_sent_change_live_does_not_show_is_recorded_unknown(
    make_plan, make_executor, desired, backend, db, run_abandon
):
    plan, digest = make_plan(desired)
    apply_dying_before_the_first_request(make_executor(), plan, digest)
    run = the_run(db)

    report = run_abandon(run.id)

    assert [(s.address, s.was, s.now) for s in report.entries] == [
        (HP010, "sent", "unknown"),
        (HP011, "pending", "failed"),
        (NEW1, "pending", "failed"),
    ]
    assert report.entries[0].error == OUTCOME_UNKNOWN == entries(db, run.id)[HP010].error
    assert report.released_lock is None  # that process had released its lock
    assert writes_of(backend) == []


def test_a_new_plan_applies_after_the_abandoned_run_and_it_is_never_resumed(
    make_plan, make_executor, desired, killed, run_abandon, db
):
    run_abandon(killed.id)
    plan, digest = make_plan(desired)  # NEW-1 is still missing live: planned again

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert not report.resumed and report.run_id != killed.id
    assert report.applied == (NEW1,) and report.exit_code == 0
    assert entries(db, killed.id)[NEW1].state == "failed"  # the abandoned run stays as it was


def test_an_unknown_run_id_is_refused_and_changes_nothing(killed, run_abandon, db):
    with pytest.raises(NoSuchRun) as err:
        run_abandon("0000-no-such-run")
    assert err.value.exit_code == 1
    assert str(err.value) == f"seller {SELLER} has no apply run 0000-no-such-run in its journal"
    assert the_run(db).finished_at is None
    with pytest.raises(LockHeld):  # the dead holder's lock was left for a person to judge
        acquire(db, SELLER, "next", "apply", NOW)


def test_a_finished_run_is_refused(make_plan, make_executor, desired, db, run_abandon, backend):
    plan, digest = make_plan(desired[:1])
    report = make_executor().apply(plan, digest, CONFIG_DIGEST)
    with pytest.raises(RunFinished, match=f"apply run {report.run_id} .* is already finished"):
        run_abandon(report.run_id)
    assert the_run(db).status == "succeeded"


def test_a_lock_held_for_something_else_is_respected(
    make_plan, make_executor, desired, db, run_abandon
):
    plan, digest = make_plan(desired)
    with pytest.raises(Killed):
        make_executor(after_write=die_after(1)).apply(plan, digest, CONFIG_DIGEST)
    recheck = acquire(db, SELLER, "cron pid 77", "recheck", NOW)
    with pytest.raises(LockHeld, match=r"held by cron pid 77 \(recheck\)") as err:
        run_abandon(the_run(db).id)
    assert err.value.exit_code == 4
    assert the_run(db).finished_at is None
    recheck.release()


def test_a_breakers_sent_entry_is_unknown_without_reading_live(db, run_abandon, backend):
    change = journal.Change(HP010, "update", {"emergency": True, "fields": {"quantity": {}}})
    with db.write() as conn:
        run = journal.start_run(
            conn, SELLER, EMERGENCY_DIGEST_PREFIX + "INC-1", [change], NOW, kind="emergency"
        )
        journal.transition(conn, run.id, 0, "sent", NOW)

    report = run_abandon(run.id)

    assert [(s.was, s.now, s.error) for s in report.entries] == [("sent", "unknown", NOT_READABLE)]
    assert report.run.status == "abandoned"
    assert report.released_lock is None  # the breaker takes no apply lock: none to release
    assert calls_of(backend) == []  # no read, no write


def test_a_breakers_run_has_no_lock_of_its_own_so_an_applys_lock_is_respected(db, run_abandon):
    change = journal.Change(HP010, "update", {"emergency": True, "fields": {"quantity": {}}})
    with db.write() as conn:
        run = journal.start_run(
            conn, SELLER, EMERGENCY_DIGEST_PREFIX + "INC-1", [change], NOW, kind="emergency"
        )
        journal.transition(conn, run.id, 0, "sent", NOW)
    with (
        acquire(db, SELLER, "ci-runner-7 pid 311", "apply", NOW),
        pytest.raises(LockHeld, match=r"ci-runner-7 pid 311 \(apply\)"),
    ):
        run_abandon(run.id)
    assert the_run(db).finished_at is None


# -- the lock a dead apply left, on both state stores ----------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_at(request, tmp_path):
    """Where the state store lives: SQLite in tmp_path, or this session's PostgreSQL schema
    (tests/state/conftest: skipped when no server answers)."""
    if request.param == "sqlite":
        return str(tmp_path / "state")
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def any_store(store_at):
    store = open_backend(store_at)
    yield store
    with store.write() as conn:  # the PostgreSQL schema outlives the test
        conn.execute(apply_locks.delete().where(apply_locks.c.seller_id == SELLER))
        conn.execute(journal_entries.delete().where(journal_entries.c.seller_id == SELLER))
        conn.execute(apply_runs.delete().where(apply_runs.c.seller_id == SELLER))
    store.close()


def unsent_run(db) -> journal.Run:
    with db.write() as conn:
        return journal.start_run(
            conn, SELLER, "sha256:lost", [journal.Change(HP010, "update", {})], NOW
        )


def test_the_lock_of_a_dead_apply_is_released_on_either_store(
    any_store, store_at, backend, clock, timer
):
    run = unsent_run(any_store)
    dead = subprocess.run(  # takes the lock as an apply and dies holding it
        [sys.executable, "-c", DIE_HOLDING, store_at, SELLER],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()

    report = abandon(backend, any_store, run.id, now=clock.now, timer=timer, holder="me")

    assert report.released_lock is not None and report.released_lock.id == dead
    assert [(s.was, s.now) for s in report.entries] == [("pending", "failed")]
    acquire(any_store, SELLER, "next", "apply", NOW).release()


def test_a_holder_still_connected_keeps_its_lock_on_postgresql(any_store, backend, clock, timer):
    run = unsent_run(any_store)
    alive = acquire(any_store, SELLER, "ci-runner-8 pid 12", "apply", NOW)
    try:
        if any_store.is_postgresql:
            with pytest.raises(HolderAlive, match="still connected"):
                abandon(backend, any_store, run.id, now=clock.now, timer=timer, holder="me")
            with any_store.read() as conn:
                assert journal.find_run(conn, SELLER, run.id).finished_at is None
        else:  # SQLite cannot tell: the person running --abandon judged that process gone
            report = abandon(backend, any_store, run.id, now=clock.now, timer=timer, holder="me")
            assert report.released_lock == alive.info
    finally:
        alive.release()
