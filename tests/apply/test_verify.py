"""Verification: when live reflects a change, and polling with a bounded backoff."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.apply.verify import reflects, visible_now, wait_until_visible
from engine.live.documents import Polling
from engine.plan.diff import diff
from tests.apply.conftest import FakeTimer, take_offer_down
from tests.live.conftest import calls_of
from tests.sandbox.conftest import make_resource

LIVE = make_resource("DE", "HP-1", "19.99", fba=True)
WANT = replace(LIVE, our_price=Decimal("17.99"), title="New title")


def test_an_update_shows_when_every_changed_field_is_live():
    (change,) = diff({WANT.address: WANT}, {LIVE.address: LIVE}).changes
    assert not reflects(change, LIVE)
    assert not reflects(change, replace(LIVE, our_price=Decimal("17.99")))  # title still old
    assert reflects(change, WANT)
    # Fields the change does not touch may differ live (Amazon owns FBA quantity).
    assert reflects(change, replace(WANT, quantity=31, description="edited"))
    assert not reflects(change, None)


def test_a_create_shows_once_listed_and_a_delete_once_gone():
    (create,) = diff({WANT.address: WANT}, {}).changes
    assert reflects(create, WANT) and not reflects(create, None)
    (delete,) = diff({}, {LIVE.address: LIVE}, prune=lambda m, s: True).changes
    assert reflects(delete, None) and not reflects(delete, LIVE)


def test_polling_reads_what_is_missing_until_it_shows_or_the_wait_runs_out(backend, sandbox, timer):
    live = backend.read_listing("DE", "HP-020").resource
    want = replace(live, quantity=(live.quantity or 0) + 5)
    (change,) = diff({want.address: want}, {live.address: live}).changes
    backend.write(change)
    polling = Polling(first=10.0, factor=2.0, longest=20.0, give_up=60.0)

    seen = wait_until_visible(backend, {change.address: change}, [change.address], timer, polling)

    assert seen.visible == {change.address} and seen.not_visible == frozenset()
    assert timer.slept == [10.0, 20.0]  # the sandbox processes writes 30 s after accepting them

    standing_still = FakeTimer()
    again = replace(want, quantity=1)
    (late,) = diff({again.address: again}, {want.address: want}).changes
    backend.write(late)
    seen = wait_until_visible(
        backend, {late.address: late}, [late.address], standing_still, polling
    )
    assert seen.not_visible == {late.address}
    assert standing_still.slept == polling.waits() == [10.0, 20.0, 20.0, 20.0]


def test_a_listing_live_cannot_be_read_shows_no_change(backend, sandbox, timer):
    live = backend.read_listing("DE", "HP-020").resource
    (delete,) = diff({}, {live.address: live}, prune=lambda m, s: True).changes
    take_offer_down(sandbox, "DE", "HP-020")
    assert not visible_now(backend, {delete.address: delete}, [delete.address])  # unreadable
    polling = Polling(first=10.0, factor=2.0, longest=10.0, give_up=10.0)
    seen = wait_until_visible(backend, {delete.address: delete}, [delete.address], timer, polling)
    assert seen.not_visible == {delete.address}


def test_many_changes_are_verified_twenty_listings_a_call(backend, sandbox, timer):
    found, _ = backend.read_details("DE", [f"HP-{n:03d}" for n in range(1, 80)])
    live = [li.resource for li in found.values() if li.resource.quantity is not None][:25]
    want = {r.address: replace(r, quantity=r.quantity + 1) for r in live}  # type: ignore[operator]
    changes = {c.address: c for c in diff(want, {r.address: r for r in live}).changes}
    assert len(changes) == 25  # MFN listings: their quantity is ours to set
    for change in changes.values():
        backend.write(change)
    before = len(calls_of(backend))
    polling = Polling(first=30.0, factor=1.0, longest=30.0, give_up=30.0)

    seen = wait_until_visible(backend, changes, list(changes), timer, polling)

    assert seen.visible == set(changes) and seen.not_visible == frozenset()
    reads = [c.operation for c in calls_of(backend)[before:]]
    # Round one (nothing processed yet) and round two: two calls each, for 20 + 5 listings.
    assert reads == ["searchListingsItems"] * 4
