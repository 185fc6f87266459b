"""The re-check of changes left not yet visible: `judge` on its own (entry + live + now), then
against the sandbox, whose processing delay keeps a write out of sight past apply's bounded
verification, and past the deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from engine.apply.recheck import VISIBILITY_DEADLINE, judge
from engine.core.identity import BackendIdentity
from engine.live.backend import LiveListing
from engine.plan.diff import diff
from engine.plan.model import Plan
from engine.state import journal, last_applied
from engine.state.journal import Entry
from engine.state.lock import acquire
from tests.apply.conftest import CONFIG_DIGEST, FakeTimer, repriced, take_offer_down, writes_of
from tests.sandbox.conftest import NOW, SELLER, make_resource

HP010 = 'listing.DE["HP-010"]'
HP011 = 'listing.DE["HP-011"]'
WAITED = NOW + timedelta(minutes=5)  # when apply stopped waiting and marked it not_visible
PRICE_ERROR = {
    "code": "POTENTIAL_PRICING_ERROR",
    "message": "Potential pricing error: our_price 35.99 EUR is outside your allowed range.",
    "severity": "ERROR",
}
ADVICE = {"code": "18155", "message": "Add a bullet point.", "severity": "WARNING"}


def entry_for(before, after) -> Entry:
    """A not_visible journal entry carrying the plan's JSON of the change before -> after."""
    wanted = {} if after is None else {after.address: after}
    live = {} if before is None else {before.address: before}
    plan = Plan.build(
        diff(wanted, live, prune=lambda m, s: True),
        created_at=NOW,
        config_digest=CONFIG_DIGEST,
        backend=BackendIdentity("sandbox", SELLER),
    )
    (payload,) = plan.to_json()["resource_changes"]
    return Entry(
        run_id="run-1",
        seq=0,
        address=payload["address"],
        action=payload["change"]["actions"][0],
        payload=payload,
        state="not_visible",
        submission_id="sub-1",
        request_id=None,
        error=None,
        created_at=NOW,
        updated_at=WAITED,
    )


LIVE = make_resource("DE", "HP-010", "29.99")
WANTED = replace(repriced(LIVE, "35.99"), quantity=12)


def test_a_change_that_now_shows_live_is_verified():
    found = judge(entry_for(LIVE, WANTED), LiveListing(WANTED), WAITED + timedelta(hours=1))
    assert (found.outcome, found.reason) == ("verified", None)


def test_before_the_deadline_a_change_not_live_yet_stays_not_visible():
    almost = WAITED + VISIBILITY_DEADLINE - timedelta(seconds=1)
    found = judge(entry_for(LIVE, WANTED), LiveListing(LIVE, issues=(PRICE_ERROR,)), almost)
    assert (found.outcome, found.reason) == ("not_visible", None)  # an issue alone: no verdict


def test_at_the_deadline_it_fails_naming_what_live_shows_and_amazons_errors():
    found = judge(
        entry_for(LIVE, WANTED),
        LiveListing(LIVE, issues=(PRICE_ERROR, ADVICE)),
        WAITED + VISIBILITY_DEADLINE,
    )
    assert found.outcome == "failed"
    assert found.reason == (
        "not live 24 h after apply stopped waiting for it: our_price is 29.99 EUR live, not "
        "35.99 EUR; quantity is 10 live, not 12; Amazon reports POTENTIAL_PRICING_ERROR: "
        "Potential pricing error: our_price 35.99 EUR is outside your allowed range."
    )


def test_a_partly_shown_change_is_not_verified():
    half = LiveListing(repriced(LIVE, "35.99"))  # the price landed, the quantity did not
    found = judge(entry_for(LIVE, WANTED), half, WAITED + 2 * VISIBILITY_DEADLINE)
    assert found.outcome == "failed"
    assert found.reason.endswith(": quantity is 10 live, not 12")


@pytest.mark.parametrize(
    ("before", "after", "live", "outcome", "why"),
    [
        (None, WANTED, None, "failed", "the listing does not exist live"),
        (None, WANTED, WANTED, "verified", None),
        (LIVE, None, LIVE, "failed", "the listing is still live"),
        (LIVE, None, None, "verified", None),
    ],
)
def test_creates_and_deletes(before, after, live, outcome, why):
    listing = None if live is None else LiveListing(live)
    found = judge(entry_for(before, after), listing, WAITED + VISIBILITY_DEADLINE)
    assert found.outcome == outcome
    assert found.reason == (
        None if why is None else f"not live 24 h after apply stopped waiting for it: {why}"
    )


def test_a_listing_live_cannot_be_read_shows_nothing():
    why = "DE HP-010: the listing has no consumer offer"
    entry = entry_for(LIVE, WANTED)
    found = judge(entry, None, WAITED + timedelta(hours=1), unreadable=why)
    assert found.outcome == "not_visible"
    found = judge(entry, None, WAITED + VISIBILITY_DEADLINE, unreadable=why)
    assert (found.outcome, found.reason) == (
        "failed",
        "not live 24 h after apply stopped waiting for it: live cannot be read as a listing: "
        + why,
    )


# -- against the sandbox ---------------------------------------------------------------------


def states(db) -> dict[str, str]:
    with db.read() as conn:
        return {
            e.address: e.state
            for run in journal.runs(conn, SELLER)
            for e in journal.entries(conn, run.id)
        }


def applied(db) -> dict:
    with db.read() as conn:
        return last_applied.load(conn, SELLER)


def apply_unseen(make_plan, make_executor, desired):
    """Apply while sleeping does not move the sandbox clock: nothing shows in time."""
    plan, digest = make_plan(desired)
    report = make_executor(timer=FakeTimer()).apply(plan, digest, CONFIG_DIGEST)
    assert report.not_visible == tuple(r.address for r in desired) and report.applied == ()


def test_a_write_delayed_past_verification_is_verified_by_a_later_recheck(
    make_plan, make_executor, backend, db, desired, sandbox
):
    apply_unseen(make_plan, make_executor, desired[:2])
    written = writes_of(backend)
    assert make_executor().recheck().still_not_visible != ()  # not processed yet: both stay
    assert states(db) == {HP010: "not_visible", HP011: "not_visible"}

    sandbox.advance(sandbox.account.processing_delay)
    report = make_executor().recheck()

    assert [r.entry.address for r in report.verified] == [HP010, HP011]
    assert report.failed == report.still_not_visible == ()
    assert states(db) == {HP010: "verified", HP011: "verified"}
    assert applied(db)[HP010]["our_price"] == Decimal("35.99")  # remembered as applied
    assert applied(db)[HP011]["quantity"] == 42
    assert writes_of(backend) == written  # the re-check only reads
    assert make_executor().recheck().checked == ()  # nothing is left to look at
    acquire(db, SELLER, "next", "apply", NOW).release()  # and the lock was released


def test_a_write_still_not_live_after_the_deadline_fails_and_is_no_longer_applied(
    make_plan, make_executor, backend, db, desired, sandbox, clock
):
    sandbox.account.processing_delay = VISIBILITY_DEADLINE + timedelta(hours=6)
    apply_unseen(make_plan, make_executor, desired[:2])
    waited = clock.now()

    sandbox.advance(VISIBILITY_DEADLINE - timedelta(minutes=1))
    assert len(make_executor().recheck().still_not_visible) == 2
    sandbox.advance(timedelta(minutes=1))
    report = make_executor().recheck()

    assert [r.entry.address for r in report.failed] == [HP010, HP011]
    assert report.failed[0].reason == (
        "not live 24 h after apply stopped waiting for it: our_price is 29.99 EUR live, not "
        "35.99 EUR"
    )
    assert states(db) == {HP010: "failed", HP011: "failed"}
    with db.read() as conn:
        (run,) = journal.runs(conn, SELLER)
        failed = journal.entries(conn, run.id)[0]
    assert failed.error == report.failed[0].reason
    assert failed.updated_at - waited >= VISIBILITY_DEADLINE
    # Drift detection must not take the values that never landed for ours.
    assert HP010 not in applied(db) and HP011 not in applied(db)


def test_the_next_apply_rechecks_before_applying_its_own_plan(
    make_plan, make_executor, backend, db, desired, sandbox, resources
):
    apply_unseen(make_plan, make_executor, desired[:2])
    sandbox.advance(sandbox.account.processing_delay)
    other = repriced({r.key: r for r in resources}[("DE", "HP-012")], "39.99")
    plan, digest = make_plan([other])

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.applied == ('listing.DE["HP-012"]',) and report.exit_code == 0
    assert [r.entry.address for r in report.rechecked.verified] == [HP010, HP011]
    assert states(db)[HP010] == "verified"


def test_a_failed_recheck_leaves_a_later_applys_values_alone(
    make_plan, make_executor, backend, db, desired, sandbox
):
    sandbox.account.processing_delay = 2 * VISIBILITY_DEADLINE
    apply_unseen(make_plan, make_executor, desired[:1])
    sandbox.account.processing_delay = timedelta(0)
    sandbox.advance(VISIBILITY_DEADLINE / 2)
    newer = repriced(desired[0], "36.49")
    plan, digest = make_plan([newer])
    assert make_executor().apply(plan, digest, CONFIG_DIGEST).applied == (HP010,)

    sandbox.advance(VISIBILITY_DEADLINE)
    report = make_executor().recheck()

    assert [r.entry.address for r in report.failed] == [HP010]
    assert "our_price is 36.49 EUR live, not 35.99 EUR" in report.failed[0].reason
    assert applied(db)[HP010]["our_price"] == Decimal("36.49")


def test_a_listing_whose_offer_was_taken_down_is_judged_without_failing_the_recheck(
    make_plan, make_executor, db, desired, sandbox
):
    sandbox.account.processing_delay = 2 * VISIBILITY_DEADLINE
    apply_unseen(make_plan, make_executor, desired[:1])
    take_offer_down(sandbox, "DE", "HP-010")
    assert len(make_executor().recheck().still_not_visible) == 1
    sandbox.advance(VISIBILITY_DEADLINE)
    (failed,) = make_executor().recheck().failed
    assert failed.reason.endswith(
        "live cannot be read as a listing: DE HP-010: the listing has no consumer offer"
    )
