"""The demonstration, end to end on the sandbox: a 99 %-off code on the US headphones made
in the Seller Central stand-in, ten hours of buyers, a watch pass every 15 simulated minutes.
The breaker trips within one interval and the night leaks a fraction of the orders it leaks
without the watchdog."""

from __future__ import annotations

import random

from bench.night import run_night
from engine.state import breakers as breaker_store


def test_the_watchdog_stops_the_runaway_promotion_within_one_interval(open_demo):
    guarded = open_demo("guarded")
    unguarded = open_demo("unguarded")
    with_watch = run_night(
        guarded.config, guarded.box, guarded.backend, guarded.db, random.Random(26), watchdog=True
    )
    without = run_night(
        unguarded.config,
        unguarded.box,
        unguarded.backend,
        unguarded.db,
        random.Random(26),
        watchdog=False,
    )
    assert with_watch.minutes_to_trip == 15  # the first pass, one interval in
    assert without.leaked_orders > 200  # the story: the stock sells out at about 1 USD
    assert with_watch.leaked_orders * 4 < without.leaked_orders
    with guarded.db.read() as conn:
        tripped = {b.sku for b in breaker_store.tripped(conn, guarded.config.project.seller_id)}
    assert {"HP-100", "HP-200", "HP-IE-10", "HP-KIDS-1", "HP-DJ-1"} <= tripped
    assert len(with_watch.tripped) == len(tripped)  # each tripped once: no flapping
