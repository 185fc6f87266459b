"""Exposure caps and the refill gate, pure (engine.desired.exposure and its use in stock
allocation): a capped MFN listing advertises at most what it sells between two refills, and
a held one is never raised."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.config.model import Setting
from engine.desired.exposure import (
    ExposureRule,
    RefillHold,
    SalesHistory,
    exposure_cap,
    exposure_rule,
    listing_rule,
    parse_interval,
    uses_exposure,
)
from engine.desired.render import allocate_stock, explain, held_refills, render
from tests.conftest import NOW
from tests.minimal_config import CAPPED

FOUR_HOURS = ExposureRule(timedelta(hours=4), floor=2, ceiling=6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)), ("2d", timedelta(days=2))],
)
def test_intervals(text, expected):
    assert parse_interval(text) == expected


def test_a_malformed_interval_is_refused():
    with pytest.raises(ValueError, match="30m, 4h or 1d"):
        parse_interval("4 hours")


@pytest.mark.parametrize(
    ("sold", "units", "expected"),
    [
        (0, 2, 0),  # nothing sold: the floor
        (42, 2, 1),  # 42 a week is 1 per 4 h: still the floor
        (100, 3, 3),  # 2.38 per 4 h, rounded up
        (126, 3, 3),  # exactly 3 per 4 h
        (1000, 6, 24),  # a busy week: the ceiling
    ],
)
def test_the_cap_is_the_sales_of_one_refill_interval_rounded_up_within_floor_and_ceiling(
    sold, units, expected
):
    cap = exposure_cap(FOUR_HOURS, sold)
    assert (cap.units, cap.expected, cap.sold) == (units, expected, sold)


def test_without_a_ceiling_the_cap_follows_the_sales():
    assert exposure_cap(ExposureRule(timedelta(days=1)), 700).units == 100


def test_the_cap_says_where_it_comes_from():
    assert exposure_cap(FOUR_HOURS, 100).describe() == (
        "exposure cap 3: 100 unit(s) sold in the last 7 days make 3 per refill interval of 4h "
        "(rounded up), within floor 2, ceiling 6"
    )


def test_no_refill_interval_means_no_cap(make_config):
    assert exposure_rule({}) is None
    origin = next(iter(make_config().project.defaults.values())).origin
    assert exposure_rule({"exposure.refill_every": Setting(None, origin)}) is None
    assert exposure_rule({"exposure.refill_every": Setting("4h", origin)}) == ExposureRule(
        timedelta(hours=4)
    )


def test_a_hold_lasts_until_an_incident_of_the_listing_is_acknowledged_after_it(make_config):
    hold = RefillHold("US", "HP-100", NOW, "velocity: 12 units")
    history = SalesHistory(holds={("US", "HP-100"): hold})
    acknowledged = """
        incidents:
          - id: INC-1
            marketplace: US
            sku: HP-100
            acknowledged_by: ops
            acknowledged_at: "{at}"
            resolution: code fixed
        """
    before = make_config({"incidents.yaml": acknowledged.format(at="2026-11-22T11:00:00Z")})
    assert history.hold(("US", "HP-100"), before.incidents) == hold  # an older incident
    after = make_config({"incidents.yaml": acknowledged.format(at="2026-11-22T13:00:00Z")})
    assert history.hold(("US", "HP-100"), after.incidents) is None
    assert history.hold(("DE", "HP-100"), after.incidents) is None  # never held


def test_only_mfn_listings_of_a_capping_config_are_capped(make_config):
    capped = make_config(CAPPED)
    assert uses_exposure(capped) and not uses_exposure(make_config())
    assert listing_rule(capped, "US", "HP-100") == FOUR_HOURS
    assert listing_rule(capped, "US", "SPK-1") is None  # FBA: Amazon holds the stock


def test_an_override_turns_the_cap_off_for_one_listing(make_config):
    config = make_config(
        CAPPED
        | {
            "marketplaces/US.yaml": """
                marketplace: US
                overrides:
                  HP-100:
                    exposure: {refill_every: null}
                """
        }
    )
    assert listing_rule(config, "US", "HP-100") is None
    assert listing_rule(config, "DE", "HP-100") == FOUR_HOURS


# -- in stock allocation -------------------------------------------------------------------


def quantities(state):
    return {r.key: r.quantity for r in state.resources.values() if r.quantity is not None}


def test_allocation_advertises_at_most_the_cap(make_config):
    # 30 on hand, buffer 2: uncapped, each site is topped up towards 20.
    plain = quantities(render(make_config(), NOW))
    assert sum(plain.values()) == 28
    capped = quantities(render(make_config(CAPPED), NOW))
    assert capped == {("US", "HP-100"): 2, ("DE", "HP-100"): 2, ("JP", "HP-100"): 2}
    history = SalesHistory({("US", "HP-100"): 100})  # 3 per 4 h in the US
    sized = quantities(render(make_config(CAPPED), NOW, history=history))
    assert sized[("US", "HP-100")] == 3 and sized[("DE", "HP-100")] == 2


def test_a_listing_above_its_cap_is_cut_and_one_below_is_refilled(make_config):
    config = make_config(CAPPED)
    live = {("US", "HP-100"): 15, ("DE", "HP-100"): 0, ("JP", "HP-100"): 1}
    got = quantities(render(config, NOW, live))
    assert got == {("US", "HP-100"): 2, ("DE", "HP-100"): 2, ("JP", "HP-100"): 2}


def test_a_held_listing_is_not_refilled_but_still_cut(make_config):
    config = make_config(CAPPED)
    holds = {
        key: RefillHold(*key, NOW - timedelta(minutes=15), "2 order(s) not priced yet")
        for key in (("US", "HP-100"), ("DE", "HP-100"))
    }
    live = {("US", "HP-100"): 0, ("DE", "HP-100"): 9, ("JP", "HP-100"): 0}
    got = quantities(render(config, NOW, live, history=SalesHistory(holds=holds)))
    assert got == {("US", "HP-100"): 0, ("DE", "HP-100"): 2, ("JP", "HP-100"): 2}


def test_allocate_stock_caps_as_render_does(make_config):
    config = make_config(CAPPED)
    live = {("US", "HP-100"): 1}
    history = SalesHistory({("DE", "HP-100"): 300})  # 7.1 per 4 h: the ceiling
    unallocated = render(config, NOW, allocate=False)
    assert quantities(allocate_stock(config, unallocated, live, history=history)) == quantities(
        render(config, NOW, live, history=history)
    )
    assert quantities(render(config, NOW, live, history=history))[("DE", "HP-100")] == 6


def test_held_refills_name_the_held_listings_below_their_cap(make_config):
    config = make_config(CAPPED)
    hold = RefillHold("US", "HP-100", NOW, "velocity: 12 units")
    history = SalesHistory(holds={("US", "HP-100"): hold})
    addresses = render(config, NOW).resources
    [held] = held_refills(config, NOW, addresses, {("US", "HP-100"): 1}, history)
    assert held.line().startswith(
        'listing.US["HP-100"]: refill held back at 1 of its exposure cap of 2 (refill held '
        "since 2026-11-22 12:00 UTC: velocity: 12 units)"
    )
    assert held_refills(config, NOW, addresses, {("US", "HP-100"): 2}, history) == []


def test_explain_shows_the_cap_the_hold_and_that_fba_is_not_capped(make_config):
    config = make_config(CAPPED)
    hold = RefillHold("US", "HP-100", NOW, "velocity: 12 units")
    history = SalesHistory({("US", "HP-100"): 100}, holds={("US", "HP-100"): hold})
    [quantity] = [
        f
        for f in explain(config, NOW, "US", "HP-100", history=history).fields
        if f.name == "quantity"
    ]
    assert quantity.value == 0  # held: nothing live is not raised
    assert "exposure cap 3: 100 unit(s) sold in the last 7 days" in quantity.note
    assert "refill held since 2026-11-22 12:00 UTC: velocity: 12 units" in quantity.note
    assert any("exposure.refill_every" in o.describe() for o in quantity.origins)
    [fba] = [f for f in explain(config, NOW, "US", "SPK-1").fields if f.name == "quantity"]
    assert "not capped, FBA stock is Amazon's" in fba.note
