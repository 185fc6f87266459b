"""`sync watch --follow` does the exposure work of a cron pass: notifications hold the
refills of capped listings at once, and the follower's exposure cycle refills them (through
the journal, as a pass does) even while messages keep arriving, never beside an apply."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.sandbox.account import PROCESSING_DELAY
from engine.state import journal, lock, refill_holds
from engine.watch.follow import Follower, SellerAccount
from engine.watch.refill import REFILL_DIGEST_PREFIX
from tests.watch.conftest import STEP
from tests.watch.test_follow import FAST, drain

# The fallback never runs on its own here: only the exposure cycle can refill.
CYCLE = replace(FAST, fallback_after=timedelta(days=30), exposure_every=timedelta(minutes=10))


def capped_follower(open_demo):
    demo = open_demo(exposure=True)
    url = demo.box.subscribe_local_queue()
    start = demo.box.clock.now()
    account = SellerAccount(demo.config, demo.backend, demo.db)
    follower = Follower(
        {account.seller_id: account},
        demo.box.sqs.client(),
        url,
        settings=CYCLE,
        monotonic=lambda: (demo.box.clock.now() - start).total_seconds(),
    )
    return demo, follower


def refill_runs(demo) -> list:
    with demo.db.read() as conn:
        return [
            r
            for r in journal.runs(conn, demo.config.project.seller_id)
            if r.plan_digest.startswith(REFILL_DIGEST_PREFIX)
        ]


def holds(demo) -> dict:
    with demo.db.read() as conn:
        return {
            (h.marketplace, h.sku): h
            for h in refill_holds.holds(conn, demo.config.project.seller_id)
        }


def test_notifications_hold_and_the_exposure_cycle_refills_while_messages_arrive(open_demo):
    demo, follower = capped_follower(open_demo)
    follower.fallback()  # as run() starts: catch up, checkpoints set
    assert follower.metrics.fallback_passes._value.get() == 1
    held_by_message, handled = set(), 0
    for _ in range(8):
        demo.buyers(STEP)
        before = set(holds(demo))
        handled += drain(follower)
        held_by_message |= {k for k, h in holds(demo).items() if h.kind == "unjudged"} - before
        assert not follower.fallback_due()
        follower.cycle()
    assert handled > 0
    # Pending orders named by notifications held their listings before any pass read them.
    assert held_by_message
    assert follower.metrics.fallback_passes._value.get() == 1
    assert follower.metrics.exposure_passes._value.get() >= 4
    runs = refill_runs(demo)
    assert runs, "the exposure cycle never refilled a capped listing"
    assert follower.metrics.refills._value.get() == len(runs)
    assert {(r.kind, r.status) for r in runs} == {("emergency", "succeeded")}
    with demo.db.read() as conn:
        entries = [e for r in runs for e in journal.entries(conn, r.id)]
    assert {e.payload["fields"]["quantity"]["after"] for e in entries} == {2}  # the cap
    demo.box.advance(PROCESSING_DELAY)
    code, sku = entries[-1].address.removeprefix("listing.").rstrip('"]').split('["')
    assert demo.backend.read_listing(code, sku).resource.quantity == 2


def test_the_exposure_cycle_leaves_refills_for_later_while_an_apply_holds_the_lock(open_demo):
    demo, follower = capped_follower(open_demo)
    seller = demo.config.project.seller_id
    follower.fallback()
    held = lock.acquire(demo.db, seller, "ci-runner", "apply", demo.box.clock.now())
    try:
        for _ in range(8):
            demo.buyers(STEP)
            drain(follower)
            follower.cycle()
        assert follower.metrics.exposure_passes._value.get() >= 4
        assert refill_runs(demo) == []
    finally:
        held.release()
    for _ in range(2):
        demo.buyers(STEP)
        drain(follower)
        follower.cycle()
    assert refill_runs(demo), "refills did not resume once the apply let go"


def test_without_caps_the_follower_runs_no_exposure_cycle(open_demo):
    demo = open_demo()  # the example without its caps
    account = SellerAccount(demo.config, demo.backend, demo.db)
    follower = Follower({account.seller_id: account}, None, "unused", settings=CYCLE)
    assert not follower.exposure_due()
