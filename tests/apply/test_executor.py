"""The executor end to end against the sandbox: plan -> apply -> the same diff is empty;
stale plans refused with zero writes; resuming without writing twice; failures, feeds,
not-yet-visible changes and the lock."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.apply.executor import OtherRunUnfinished
from engine.apply.stale import PlanStale
from engine.core.identity import BackendIdentity
from engine.plan.diff import diff
from engine.sandbox.faults import out_of_band_price, price_of
from engine.state import journal, last_applied
from engine.state.lock import LockHeld, acquire
from engine.state.tables import apply_runs
from tests.apply.conftest import (
    CONFIG_DIGEST,
    POLLING,
    FakeTimer,
    Killed,
    apply_dying_before_the_first_request,
    calls_of,
    die_after,
    repriced,
    writes_of,
)
from tests.sandbox.conftest import NOW, SELLER

HP010 = 'listing.DE["HP-010"]'
HP011 = 'listing.DE["HP-011"]'
NEW1 = 'listing.FR["NEW-1"]'
ONCE_EACH = ["patchListingsItem", "patchListingsItem", "putListingsItem"]  # the three changes


def run_states(db) -> dict[str, str]:
    with db.read() as conn:
        (run_id,) = conn.execute(sa.select(apply_runs.c.id)).scalars().all()
        return {e.address: e.state for e in journal.entries(conn, run_id)}


def runs(db) -> list[tuple[str, str | None]]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(apply_runs.c.status, apply_runs.c.id))]


def test_apply_makes_the_plan_live_and_the_same_diff_is_then_empty(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    assert [c.address for c in plan.changes] == [HP010, HP011, NEW1]

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0
    assert report.applied == (HP010, HP011, NEW1)
    assert report.failed == report.skipped == report.not_visible == ()
    assert sorted(writes_of(backend)) == ONCE_EACH
    again, _ = make_plan(desired)
    assert again.changes == ()
    assert run_states(db) == {HP010: "verified", HP011: "verified", NEW1: "verified"}
    assert [status for status, _ in runs(db)] == ["succeeded"]
    with db.read() as conn:
        applied = last_applied.load(conn, SELLER)
    assert applied[HP010]["our_price"] == Decimal("35.99")
    assert applied[HP011]["quantity"] == 42
    assert applied[NEW1]["title"] == "Sonora NEW-1"


def test_a_plan_without_changes_starts_no_run(make_plan, make_executor, backend, db):
    live = [backend.read_listing("DE", sku).resource for sku in ("HP-010", "HP-011")]
    plan, digest = make_plan(live)
    report = make_executor().apply(plan, digest, CONFIG_DIGEST)
    assert (report.run_id, report.exit_code, report.applied) == (None, 0, ())
    assert runs(db) == []


def test_a_plan_from_another_config_is_refused_before_any_write(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    with pytest.raises(PlanStale) as err:
        make_executor().apply(plan, digest, "f" * 64)
    assert err.value.exit_code == 4
    assert "the config changed since the plan was made" in str(err.value)
    assert writes_of(backend) == []
    assert runs(db) == []
    acquire(db, SELLER, "next", "apply", NOW).release()  # the lock was released


def test_an_out_of_band_edit_makes_the_plan_stale(
    make_plan, make_executor, backend, db, desired, sandbox
):
    plan, digest = make_plan(desired)
    out_of_band_price(sandbox.account, "DE", "HP-011", "99.99")
    with pytest.raises(PlanStale) as err:
        make_executor().apply(plan, digest, CONFIG_DIGEST)
    assert err.value.reasons == (f"{HP011} changed live since the plan was made",)
    assert writes_of(backend) == []
    assert runs(db) == []
    assert backend.read_listing("DE", "HP-010").resource.our_price == Decimal("29.99")


def test_a_plan_for_another_account_is_refused(make_plan, make_executor, backend, desired):
    plan, digest = make_plan(desired)
    other = replace(plan, backend=BackendIdentity("sandbox", "A9OTHERSELLER"))
    with pytest.raises(PlanStale, match="made for sandbox seller A9OTHERSELLER, this is sandbox"):
        make_executor().apply(other, digest, CONFIG_DIGEST)
    assert writes_of(backend) == []


def test_a_listing_going_stale_mid_apply_stops_the_apply_there(
    make_plan, make_executor, backend, db, desired, sandbox
):
    plan, digest = make_plan(desired)

    def edit_the_next_listing() -> None:
        out_of_band_price(sandbox.account, "DE", "HP-011", "88.88")

    report = make_executor(after_write=edit_the_next_listing).apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 4
    assert report.stopped == f"{HP011} changed live since the plan was made"
    assert report.applied == (HP010,)
    assert [address for address, _ in report.skipped] == [HP011, NEW1]
    assert writes_of(backend) == ["patchListingsItem"]
    assert price_of(_listing(sandbox, "HP-011")) == Decimal("88.88")
    assert [status for status, _ in runs(db)] == ["failed"]  # finished: a new plan may run


def _listing(sandbox, sku):
    with sandbox.store.read() as tx:
        return tx.listing(SELLER, sku, "A1PA6795UKMFR9")


def test_an_invalid_write_is_failed_with_amazons_issues(
    make_plan, make_executor, backend, db, desired, resources
):
    wrong = replace(
        {r.key: r for r in resources}[("DE", "HP-012")],
        currency="USD",
        product_type="SPEAKERS",
    )
    plan, digest = make_plan([*desired, wrong])
    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 1
    ((address, why),) = report.failed
    assert address == 'listing.DE["HP-012"]'
    assert why.startswith("INVALID: ") and "USD" in why
    assert report.applied == (HP010, HP011, NEW1)
    assert [status for status, _ in runs(db)] == ["failed"]


def test_changes_not_visible_after_the_bounded_wait_are_reported_and_remembered(
    make_plan, make_executor, backend, db, desired, sandbox
):
    still = FakeTimer()  # sleeping does not move the sandbox clock: nothing gets processed
    plan, digest = make_plan(desired)
    report = make_executor(timer=still).apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0
    assert report.not_visible == (HP010, HP011, NEW1) and report.applied == ()
    assert still.slept == POLLING.waits() and sum(still.slept) <= POLLING.give_up + 40
    assert set(run_states(db).values()) == {"not_visible"}
    sandbox.advance(sandbox.account.processing_delay)
    with db.read() as conn:
        applied = last_applied.load(conn, SELLER)
    live = {r.address: backend.read_listing(r.marketplace, r.sku).resource for r in desired}
    landed = diff({r.address: r for r in desired}, live, applied)
    assert landed.changes == () and landed.drift == ()  # our own late write is not drift


class BulkThreshold3:
    """The real backend, with a bulk threshold of 3: records what apply hands to write and
    write_bulk (the real backend then sends a batch its own way)."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.identity = backend.identity
        self.bulk_threshold = 3
        self.batches: list[list[str]] = []
        self.singles: list[str] = []

    def read_listing(self, marketplace, sku):
        return self._backend.read_listing(marketplace, sku)

    def read_details(self, marketplace, skus):
        return self._backend.read_details(marketplace, skus)

    def write(self, change):
        self.singles.append(change.address)
        return self._backend.write(change)

    def write_bulk(self, changes):
        self.batches.append([c.address for c in changes])
        return self._backend.write_bulk(changes)


def test_at_the_bulk_threshold_the_changes_go_to_write_bulk_as_one_batch(
    make_plan, make_executor, backend, desired
):
    bulk = BulkThreshold3(backend)
    plan, digest = make_plan(desired)
    report = make_executor(on=bulk).apply(plan, digest, CONFIG_DIGEST)
    assert report.exit_code == 0 and report.applied == (HP010, HP011, NEW1)
    assert bulk.batches == [[HP010, HP011, NEW1]] and bulk.singles == []


def test_a_bulk_apply_reads_live_20_listings_a_call_never_one_by_one(
    make_plan, make_executor, backend, resources
):
    """Issue 13, item 6: the stale check reads listings in batches (searchListingsItems, 20 a
    call), not one getListingsItem per listing: at 5 calls a second a 10,000-change bulk
    apply spent over an hour on them. The pre-check's read also serves as the check right
    before the feed, since nothing was written in between: one round, not two."""
    de = [r for r in resources if r.marketplace == "DE"][:25]
    desired = [repriced(r, str(r.our_price + 1)) for r in de]
    plan, digest = make_plan(desired)
    before = len(calls_of(backend))
    bulk = BulkThreshold3(backend)
    handed_over: list[int] = []
    write_bulk = bulk.write_bulk
    bulk.write_bulk = lambda changes: (
        handed_over.append(len(calls_of(backend))) or write_bulk(changes)
    )
    report = make_executor(on=bulk).apply(plan, digest, CONFIG_DIGEST)
    assert report.exit_code == 0 and len(report.applied) == 25
    # One round before the batch is handed to write_bulk: 25 listings in 2 calls.
    made = [c.operation for c in calls_of(backend)[before : handed_over[0]]]
    assert made == ["searchListingsItems"] * 2


def test_below_the_bulk_threshold_each_change_is_its_own_write(
    make_plan, make_executor, backend, desired
):
    bulk = BulkThreshold3(backend)
    plan, digest = make_plan(desired[:2])
    report = make_executor(on=bulk).apply(plan, digest, CONFIG_DIGEST)
    assert report.applied == (HP010, HP011)
    assert bulk.batches == [] and bulk.singles == [HP010, HP011]


def test_a_killed_apply_resumes_without_writing_twice(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    with pytest.raises(Killed):
        make_executor(after_write=die_after(2)).apply(plan, digest, CONFIG_DIGEST)
    # HP-011 was written and answered, but the answer never reached the journal.
    assert run_states(db) == {HP010: "accepted", HP011: "sent", NEW1: "pending"}

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.resumed and report.exit_code == 0
    assert report.applied == (HP010, HP011, NEW1)
    assert sorted(writes_of(backend)) == ONCE_EACH
    again, _ = make_plan(desired)
    assert again.changes == ()


def test_a_sent_write_that_never_landed_is_sent_once_more(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    apply_dying_before_the_first_request(make_executor(), plan, digest)
    assert run_states(db)[HP010] == "sent"

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.applied == (HP010, HP011, NEW1)
    assert sorted(writes_of(backend)) == ONCE_EACH


def test_a_resume_after_the_config_changed_settles_the_run_and_sends_nothing_more(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    with pytest.raises(Killed):
        make_executor(after_write=die_after(1)).apply(plan, digest, CONFIG_DIGEST)

    report = make_executor().apply(plan, digest, "f" * 64)

    assert report.exit_code == 4 and report.stopped.startswith("the config changed")
    assert report.applied == (HP010,)  # written before the kill, found live
    assert [address for address, _ in report.skipped] == [HP011, NEW1]
    assert writes_of(backend) == ["patchListingsItem"]
    assert [status for status, _ in runs(db)] == ["failed"]  # finished: a new plan may run


def test_another_plan_is_refused_while_a_run_is_unfinished(
    make_plan, make_executor, backend, db, desired
):
    plan, digest = make_plan(desired)
    with pytest.raises(Killed):
        make_executor(after_write=die_after(1)).apply(plan, digest, CONFIG_DIGEST)
    other, other_digest = make_plan(desired[:1])
    with pytest.raises(OtherRunUnfinished) as err:
        make_executor().apply(other, other_digest, CONFIG_DIGEST)
    ((_, run_id),) = runs(db)
    message = str(err.value)
    assert err.value.exit_code == 4
    assert run_id in message and digest in message and "`sync apply` the plan file" in message
    assert writes_of(backend) == ["patchListingsItem"]


def test_a_held_lock_refuses_the_apply(make_plan, make_executor, backend, db, desired):
    plan, digest = make_plan(desired)
    lock = acquire(db, SELLER, "ci-runner-7 pid 311", "apply", NOW)
    with pytest.raises(LockHeld) as err:
        make_executor().apply(plan, digest, CONFIG_DIGEST)
    assert err.value.exit_code == 4
    assert f"`sync force-unlock {lock.id}`" in str(err.value)
    assert "ci-runner-7 pid 311 (apply) since 2026-11-22 12:00:00 UTC" in str(err.value)
    assert writes_of(backend) == [] and runs(db) == []
    lock.release()


class BlockingTimer(FakeTimer):
    """Holds the first verification wait until the test lets it go."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.waiting = threading.Event()
        self.go = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.waiting.set()
        self.go.wait(timeout=10)
        super().sleep(seconds)


def test_two_concurrent_applies_one_is_refused(make_plan, make_executor, db, desired, clock):
    plan, digest = make_plan(desired)
    held = BlockingTimer(clock)
    reports = []
    first = threading.Thread(
        target=lambda: reports.append(make_executor(timer=held).apply(plan, digest, CONFIG_DIGEST))
    )
    first.start()
    try:
        assert held.waiting.wait(timeout=10)
        with pytest.raises(LockHeld, match="test-runner pid 1 \\(apply\\)"):
            make_executor().apply(plan, digest, CONFIG_DIGEST)
    finally:
        held.go.set()
        first.join(timeout=10)
    assert reports[0].exit_code == 0 and reports[0].applied == (HP010, HP011, NEW1)
    acquire(db, SELLER, "next", "apply", NOW).release()
