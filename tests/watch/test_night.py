"""The demonstration, end to end on the sandbox: a 99 %-off code on the US headphones made
in the Seller Central stand-in, ten hours of buyers, a watch pass every 15 simulated minutes.
The breaker trips within one interval and the night leaks a fraction of the orders it leaks
without the watchdog."""

from __future__ import annotations

import fnmatch
import random

from bench.night import run_night
from engine.core.marketplaces import MARKETPLACES
from engine.sandbox import listings
from engine.sandbox.scenario import INCIDENT_MARKETPLACE, INCIDENT_SKUS
from engine.sandbox.seed import QUANTITY_DRIFT
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
    assert with_watch.leaked_mfn_units > 50
    with guarded.db.read() as conn:
        tripped = {b.sku for b in breaker_store.tripped(conn, guarded.config.project.seller_id)}
    assert {"HP-100", "HP-200", "HP-IE-10", "HP-KIDS-1", "HP-DJ-1"} <= tripped
    assert len(with_watch.tripped) == len(tripped)  # each tripped once: no flapping


def test_with_exposure_caps_the_runaway_takes_only_what_the_listings_advertised(open_demo):
    capped = open_demo("capped", exposure=True)
    market = MARKETPLACES[INCIDENT_MARKETPLACE].marketplace_id
    with capped.box.account.store.read() as tx:
        advertised = {
            li.sku: listings.mfn_quantity(li.attributes)
            for li in tx.listings(capped.config.project.seller_id, [market])
            if fnmatch.fnmatchcase(li.sku, INCIDENT_SKUS)
        }
    mfn = {sku: units for sku, units in advertised.items() if units is not None}
    assert len(mfn) == 5 and max(mfn.values()) <= 2 + QUANTITY_DRIFT  # caps, not 300 units
    night = run_night(
        capped.config, capped.box, capped.backend, capped.db, random.Random(26), watchdog=True
    )
    # No listing was refilled while the runaway ran: every MFN unit it took was advertised
    # before it started. The uncapped night above leaks over 50 MFN units.
    assert 0 < night.leaked_mfn_units <= sum(mfn.values())
    with capped.db.read() as conn:
        tripped = {b.sku for b in breaker_store.tripped(conn, capped.config.project.seller_id)}
    assert set(mfn) <= tripped  # the breaker still trips each once its orders are priced
