"""Incremental order pulls against the sandbox's simulated buyers on a frozen clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from engine.core.marketplaces import MARKETPLACES
from engine.ops.pull import BEFORE_MARGIN, pull_orders, window
from engine.sandbox import simulation
from engine.sandbox.orders import process_due
from engine.sandbox.orderstore import OrderTables
from engine.state import orders as store
from engine.state.orders import OrderFilter
from tests.live.conftest import calls_of
from tests.sandbox.conftest import NOW, SELLER
from tests.sandbox.orderfixtures import insert, make_order


def stored(db):
    with db.read() as conn:
        return {s.order.amazon_order_id: s for s in store.find(conn, SELLER)}


def sandbox_orders(sandbox, before):
    """The sandbox's orders as of now, last updated by `before`, by id."""
    process_due(sandbox.account)
    with sandbox.store.read() as tx:
        found = OrderTables(tx).select("1", ())
    return {o.amazon_order_id: o for o in found if o.updated <= before}


def test_a_second_pull_picks_up_updates_without_duplicates(backend, sandbox, db):
    simulation.simulate(sandbox.account, sandbox.advance, timedelta(hours=12), random.Random(11))
    first = pull_orders(backend, db, SELLER, ["DE", "FR"])
    de = first.marketplaces[0]
    assert de.updated_after == NOW + timedelta(hours=12) - timedelta(days=30)
    assert de.new == de.read > 5 and de.updated == de.unchanged == 0
    after_first = stored(db)
    assert set(after_first) == set(sandbox_orders(sandbox, de.updated_before))

    simulation.simulate(sandbox.account, sandbox.advance, timedelta(hours=24), random.Random(12))
    second = pull_orders(backend, db, SELLER, ["DE", "FR"])
    de2 = second.marketplaces[0]
    assert de2.updated_after == de.updated_before - timedelta(minutes=15)
    assert de2.updated > 0 and de2.new > 0
    now_stored = stored(db)
    live = sandbox_orders(sandbox, de2.updated_before)
    assert set(now_stored) == set(live)  # every order once, none lost
    for order_id, order in live.items():
        assert now_stored[order_id].order.status == order.status
    shipped = [s for s in now_stored.values() if s.order.status == "Shipped"]
    assert shipped and all(s.shipped_at == s.order.last_update for s in shipped)


def test_the_overlap_window_catches_an_update_indexed_late(backend, sandbox, db):
    first = pull_orders(backend, db, SELLER, ["DE"]).marketplaces[0]
    assert first.read == 0
    # An order updated 5 minutes before the checkpoint shows up only now (indexed late).
    late = make_order(1, first.updated_before - timedelta(minutes=10))  # paid 5 min later
    insert(sandbox, late)
    sandbox.clock.advance(timedelta(minutes=5))
    second = pull_orders(backend, db, SELLER, ["DE"]).marketplaces[0]
    assert second.new == 1
    third = pull_orders(backend, db, SELLER, ["DE"]).marketplaces[0]
    assert (third.new, third.updated, third.unchanged) == (0, 0, 1)  # read again, kept once
    assert list(stored(db)) == [late.amazon_order_id]


def test_an_older_copy_never_overwrites_a_newer_one(backend, sandbox, db):
    insert(sandbox, make_order(1, NOW - timedelta(hours=30), ship_after=timedelta(hours=20)))
    (shipped,) = backend.read_orders("DE", updated_after=NOW - timedelta(days=2))
    older = replace(
        shipped, status="Unshipped", last_update=shipped.last_update - timedelta(hours=1)
    )
    with db.write() as conn:
        assert store.save(conn, SELLER, shipped) == "new"
        assert store.save(conn, SELLER, older) == "unchanged"
        assert store.save(conn, SELLER, shipped) == "unchanged"
    (kept,) = stored(db).values()
    assert kept.order == shipped and kept.shipped_at == shipped.last_update


def test_list_filters_by_marketplace_status_sku_promotion_and_dates(backend, sandbox, db):
    insert(
        sandbox,
        make_order(1, NOW - timedelta(days=3)),
        make_order(2, NOW - timedelta(hours=5), sku="HP-002", promotion_ids=("P-1",), discount="1"),
        make_order(3, NOW - timedelta(hours=4), marketplace_id="A13V1IB3VIYZZH"),
    )
    pull_orders(backend, db, SELLER, ["DE", "FR"])

    def ids(**where):
        with db.read() as conn:
            return [
                s.order.amazon_order_id[-1] for s in store.find(conn, SELLER, OrderFilter(**where))
            ]

    assert ids() == ["1", "2", "3"]
    assert ids(marketplace="FR") == ["3"]
    assert ids(status="Shipped") == ["1"]
    assert ids(sku="HP-002") == ["2"]
    assert ids(promotion_id="P-1") == ["2"]
    assert ids(purchased_from=NOW - timedelta(days=1)) == ["2", "3"]
    assert ids(purchased_to=NOW - timedelta(hours=5)) == ["1"]


def test_the_window_ends_two_minutes_before_now_to_the_second():
    now = NOW + timedelta(seconds=30, microseconds=5)
    after, before = window(None, now, timedelta(minutes=15), timedelta(days=1))
    assert before == NOW - BEFORE_MARGIN + timedelta(seconds=30)
    assert after == now - timedelta(days=1)
    assert window(before, now, timedelta(minutes=15), timedelta(days=1)) == (
        before - timedelta(minutes=15),
        before,
    )


def test_a_region_s_marketplaces_are_one_read_and_keep_their_own_checkpoints(backend, sandbox, db):
    fr = MARKETPLACES["FR"].marketplace_id
    insert(
        sandbox,
        make_order(1, NOW - timedelta(hours=5)),
        make_order(2, NOW - timedelta(hours=4), marketplace_id=fr),
        make_order(3, NOW - timedelta(hours=3), marketplace_id=fr),
    )
    result = pull_orders(backend, db, SELLER, ["DE", "FR", "DE"])
    assert [m.marketplace for m in result.marketplaces] == ["DE", "FR"]
    assert [c.operation for c in calls_of(backend)] == ["searchOrders"]  # DE and FR: EU
    de, fr_pull = result.marketplaces
    assert (de.new, fr_pull.new) == (1, 2)
    with db.read() as conn:
        marks = {code: store.checkpoint(conn, SELLER, code) for code in ("DE", "FR", "JP")}
    assert marks == {"DE": de.updated_before, "FR": de.updated_before, "JP": None}
    # JP, pulled for the first time, has its own window (and region): read on its own.
    later = pull_orders(backend, db, SELLER, ["JP", "DE", "FR"])
    jp, de2, fr2 = later.marketplaces
    assert jp.updated_after != de2.updated_after == fr2.updated_after
    assert [c.operation for c in calls_of(backend)][1:] == ["searchOrders", "searchOrders"]
