"""Apply when Amazon fails: no crash, no run left running, no false failure, no blind resend.

Faults are the sandbox's own (engine.sandbox.faults); writes are counted on the server side
(`applied_writes`: what the sandbox accepted and applies), not from what the client thinks."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.apply.executor import RESENDS, LostAnswers
from engine.cli.apply_cmds import summary_lines
from engine.core.errors import UserError
from engine.live.invoke import SpApiUnavailable
from engine.sandbox import faults
from engine.state import journal, last_applied
from engine.state.journal import ANSWER_LOST, NOT_SENT
from engine.state.tables import apply_runs
from tests.apply.conftest import CONFIG_DIGEST, writes_of
from tests.sandbox.conftest import SELLER

HP010 = 'listing.DE["HP-010"]'
HP011 = 'listing.DE["HP-011"]'
NEW1 = 'listing.FR["NEW-1"]'


def journal_of(db) -> tuple[list[str], dict[str, journal.Entry]]:
    """Every run's status, and the entries of the only run by address."""
    with db.read() as conn:
        runs = conn.execute(sa.select(apply_runs.c.id, apply_runs.c.status)).all()
        entries = {e.address: e for run_id, _ in runs for e in journal.entries(conn, run_id)}
    return [status for _, status in runs], entries


def storm_after_first_write(sandbox, operations):
    """An executor hook: a steady 429 storm on `operations` from the first answer on."""

    def hook() -> None:
        faults.set_throttle_storm(sandbox.store, operations=operations)

    return hook


def test_a_storm_on_the_recheck_reads_stops_the_run_cleanly(
    make_plan, make_executor, make_backend, db, desired, sandbox
):
    """The re-check read before the second write keeps getting 429: sending stops, the first
    write is still settled, the run is finished with the rest not sent, and the report holds
    Amazon's answer in one line (exit 1). Nothing is an internal error, nothing is running."""
    backend = make_backend(attempts=3)
    plan, digest = make_plan(desired)
    executor = make_executor(
        on=backend, after_write=storm_after_first_write(sandbox, ["searchListingsItems"])
    )

    report = executor.apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 1
    assert report.gave_up is not None and report.gave_up.startswith(
        "Amazon kept answering searchListingsItems for DE with HTTP 429 QuotaExceeded"
    )
    assert writes_of(backend) == ["patchListingsItem"]  # nothing after the storm began
    why = (
        "the run stopped before this write: Amazon kept answering searchListingsItems for DE "
        "with HTTP 429 QuotaExceeded"
    )
    assert report.skipped == ((HP011, why), (NEW1, why))
    # Live could not be read for the one write sent: not visible, for the re-check.
    assert report.not_visible == (HP010,) and report.failed == ()
    statuses, entries = journal_of(db)
    assert statuses == ["failed"]  # finished, never left running
    assert entries[HP011].error.startswith(NOT_SENT)
    lines = summary_lines(report)
    assert lines[-1].startswith("Stopped: Amazon kept answering searchListingsItems for DE")
    assert lines[-1].endswith(
        "The run is finished; when Amazon answers again, run `sync plan` and apply the new plan."
    )


def test_a_storm_on_the_stale_precheck_refuses_before_any_run(
    make_plan, make_executor, make_backend, db, desired, sandbox
):
    backend = make_backend(attempts=2)
    plan, digest = make_plan(desired)
    faults.set_throttle_storm(sandbox.store, operations=["searchListingsItems"])
    with pytest.raises(SpApiUnavailable) as err:
        make_executor(on=backend).apply(plan, digest, CONFIG_DIGEST)
    assert isinstance(err.value, UserError) and err.value.exit_code == 1
    assert writes_of(backend) == []
    assert journal_of(db) == ([], {})


def test_a_storm_on_the_offer_read_fails_that_change_only(
    make_plan, make_executor, make_backend, db, desired, sandbox
):
    """HP-010's price change needs the live offer (getListingsItem); a steady 429 there
    fails that change, not sent, and the others go on."""
    backend = make_backend(attempts=2)
    plan, digest = make_plan(desired)
    faults.set_throttle_storm(sandbox.store, operations=["getListingsItem"])

    report = make_executor(on=backend).apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 1 and report.gave_up is None
    ((address, why),) = report.failed
    assert address == HP010
    assert why.startswith(
        "FAILED: NotSent: the live offer could not be read: Amazon kept answering "
        "getListingsItem for DE with HTTP 429 QuotaExceeded"
    )
    assert report.applied == (HP011, NEW1)
    assert sorted(writes_of(backend)) == ["patchListingsItem", "putListingsItem"]


def test_lost_answers_are_settled_by_live_and_never_sent_again(
    make_plan, make_executor, db, desired, sandbox, applied_writes
):
    plan, digest = make_plan(desired)
    faults.set_lost_answers(sandbox.store, 1, operations=["patchListingsItem", "putListingsItem"])

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0
    assert report.applied == (HP010, HP011, NEW1) and report.failed == ()
    assert report.lost == LostAnswers(lost=3, found_live=3, resent=0)
    assert applied_writes.by_sku == {"HP-010": 1, "HP-011": 1, "NEW-1": 1}
    _, entries = journal_of(db)
    assert all(e.error.startswith(ANSWER_LOST) for e in entries.values())  # recorded
    with db.read() as conn:
        applied = last_applied.load(conn, SELLER)
    assert applied[HP010]["our_price"] == Decimal("35.99")  # what landed is remembered
    assert (
        "Lost answers: 3 write(s) got no answer from Amazon; 3 found live (not sent again), "
        "0 sent again after live did not show them: at most 0 duplicate write(s)."
    ) in summary_lines(report)


def test_a_write_dropped_before_it_was_applied_is_sent_again_after_the_wait(
    make_plan, make_executor, db, desired, sandbox, applied_writes, timer
):
    plan, digest = make_plan(desired)
    faults.set_seed(sandbox.store, 4)
    faults.set_dropped_connections(
        sandbox.store, 0.5, when="before", operations=["patchListingsItem", "putListingsItem"]
    )

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0 and report.applied == (HP010, HP011, NEW1)
    assert report.lost is not None and report.lost.found_live == 0
    assert 1 <= report.lost.resent <= report.lost.lost
    # Each change applied exactly once, server side: nothing was sent twice into Amazon.
    assert applied_writes.by_sku == {"HP-010": 1, "HP-011": 1, "NEW-1": 1}
    assert sum(timer.slept) >= 120  # sent again only after watching live the whole wait


def test_a_write_that_never_gets_an_answer_fails_after_the_resends(
    make_plan, make_executor, db, desired, sandbox, applied_writes
):
    plan, digest = make_plan(desired[1:2])  # HP-011's quantity
    faults.set_dropped_connections(
        sandbox.store, 1, when="before", operations=["patchListingsItem"]
    )

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 1
    ((address, why),) = report.failed
    assert address == HP011
    assert why.startswith(ANSWER_LOST) and why.endswith(
        f"not sent again: it was sent {RESENDS + 1} times"
    )
    assert report.lost == LostAnswers(lost=RESENDS + 1, found_live=0, resent=RESENDS)
    assert applied_writes.by_sku == {}
    assert journal_of(db)[0] == ["failed"]


def test_a_feed_whose_report_is_lost_is_decided_by_live_not_failed(
    make_plan, make_executor, make_backend, db, desired, sandbox, applied_writes
):
    """Document downloads all fail: the feed went through but its processing report cannot
    be had. Live decides each change: all verified, last-applied recorded, none failed."""
    backend = make_backend(bulk_threshold=2)
    plan, digest = make_plan(desired)
    faults.set_document_errors(sandbox.store, 1, methods=["GET"])

    report = make_executor(on=backend).apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0
    assert report.applied == (HP010, HP011, NEW1) and report.failed == ()
    assert report.lost == LostAnswers(lost=3, found_live=3, resent=0)
    assert applied_writes.by_sku == {"HP-010": 1, "HP-011": 1, "NEW-1": 1}
    with db.read() as conn:
        assert set(last_applied.load(conn, SELLER)) >= {HP010, HP011, NEW1}
