"""The pure half of the plan flow (engine.flows.plan.compute) over real Config objects and
live listings given as data: no sandbox, no state store, no backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.identity import BackendIdentity
from engine.core.resource import address
from engine.desired.exposure import RefillHold, SalesHistory
from engine.desired.render import render
from engine.desired.stock import Reservation
from engine.flows.plan import (
    PlanInputs,
    compute,
    live_quantities,
    render_for_plan,
    seed_listings,
)
from engine.guardrails.context import GuardrailContext
from engine.live.backend import LiveListing, LiveState
from engine.state.breakers import Breaker
from engine.watch.breaker import breaker_state
from tests.conftest import NOW
from tests.minimal_config import CAPPED

US_HP = address("US", "HP-100")
DE_HP = address("DE", "HP-100")
US_SPK = address("US", "SPK-1")
IDENTITY = BackendIdentity("sandbox", "A1TESTSELLER")


def live_state(resources) -> LiveState:
    listings = {r.address: LiveListing(r) for r in resources}
    return LiveState(listings, NOW, {code: NOW for code in ("US", "DE", "JP")})


def inputs(live: LiveState, marketplaces=("US", "DE", "JP"), **overrides) -> PlanInputs:
    fields = {
        "marketplaces": tuple(marketplaces),
        "live": live,
        "elsewhere": {},
        "applied": {},
        "reservation": None,
        "breakers": (),
        "guardrails": GuardrailContext(),
        "backend": IDENTITY,
        "git_commit": "abc123",
    }
    return PlanInputs(**{**fields, **overrides})


@pytest.fixture
def config(make_config):
    return make_config()


def in_sync(config):
    """Live exactly as a fresh render says (quantities allocated from nothing live)."""
    return list(render(config, NOW).resources.values())


def test_live_as_rendered_plans_no_change_and_pins_the_plan(config):
    live = in_sync(config)
    run = compute(config, render_for_plan(config, NOW), inputs(live_state(live)), now=NOW)
    assert run.plan.changes == ()
    assert run.plan.config_digest == config.digest
    assert run.plan.git_commit == "abc123"
    assert run.plan.backend == IDENTITY
    assert run.plan.created_at == NOW
    assert run.plan.marketplaces == ("US", "DE", "JP")
    assert run.review == ()


def test_stock_is_allocated_from_the_live_quantities_as_a_second_render_would(config):
    live = [
        replace(r, quantity=r.quantity + 4) if r.key == ("US", "HP-100") else r
        for r in in_sync(config)
    ]
    run = compute(config, render_for_plan(config, NOW), inputs(live_state(live)), now=NOW)
    expected = render(config, NOW, live_quantities(live), replenishment=False)
    assert run.desired.resources == expected.resources
    [change] = [c for c in run.plan.changes if c.address == US_HP]
    assert [f.field for f in change.fields] == ["quantity"]


def test_a_plan_of_one_marketplace_counts_the_units_held_elsewhere(config):
    live = in_sync(config)
    de_only = [r for r in live if r.marketplace == "DE"]
    elsewhere = {("US", "HP-100"): 15, ("JP", "HP-100"): 9}
    run = compute(
        config,
        render_for_plan(config, NOW),
        inputs(live_state(de_only), ("DE",), elsewhere=elsewhere),
        now=NOW,
    )
    expected = render(
        config, NOW, {**elsewhere, **live_quantities(de_only)}, replenishment=False
    ).for_marketplaces(["DE"])
    assert run.desired.resources == expected.resources
    assert set(run.desired.resources) == {DE_HP, address("DE", "SPK-1")}
    assert run.plan.marketplaces == ("DE",)


def test_a_price_changed_live_is_planned_back_and_a_missing_listing_created(config):
    live = [
        replace(r, our_price=r.our_price + Decimal("5.00")) if r.address == US_SPK else r
        for r in in_sync(config)
        if r.address != DE_HP
    ]
    run = compute(config, render_for_plan(config, NOW), inputs(live_state(live)), now=NOW)
    changes = {c.address: c for c in run.plan.changes}
    assert changes[US_SPK].action == "update"
    assert [f.field for f in changes[US_SPK].fields] == ["our_price"]
    assert changes[DE_HP].action == "create"


def test_an_unmanaged_live_listing_is_left_alone_without_prune(config):
    legacy = replace(in_sync(config)[0], sku="LEGACY-1")
    live = [*in_sync(config), legacy]
    run = compute(config, render_for_plan(config, NOW), inputs(live_state(live)), now=NOW)
    assert legacy.address not in {c.address for c in run.plan.changes}


def test_an_unreadable_listing_goes_to_review_and_is_not_planned(config):
    live = [r for r in in_sync(config) if r.address != US_SPK]
    state = replace(live_state(live), unreadable={US_SPK: "unknown attribute shape"})
    run = compute(config, render_for_plan(config, NOW), inputs(state), now=NOW)
    assert US_SPK not in {c.address for c in run.plan.changes}
    assert [(r.address, r.reason) for r in run.review] == [
        (US_SPK, "live listing could not be read (unknown attribute shape); not planned")
    ]


def test_a_tripped_breaker_holds_its_listing(config):
    live = in_sync(config)
    breaker = Breaker("US", "SPK-1", NOW, "sold under the floor", "INC-1")
    run = compute(
        config, render_for_plan(config, NOW), inputs(live_state(live), breakers=(breaker,)), now=NOW
    )
    [held] = run.plan.held
    assert (held.address, held.incident) == (US_SPK, "INC-1")
    [change] = [c for c in run.plan.changes if c.address == US_SPK]
    assert change.after == breaker_state(run.desired.resources[US_SPK])


def test_orders_never_pulled_are_noted(config):
    run = compute(
        config, render_for_plan(config, NOW), inputs(live_state(in_sync(config))), now=NOW
    )
    assert any("Orders were never pulled" in note for note in run.notes)


def test_the_render_a_plan_makes_seeds_the_sandbox_as_a_fresh_render_would(config):
    rendered = render_for_plan(config, NOW)
    assert all(r.quantity is None for r in rendered.resources.values())
    assert seed_listings(config, rendered) == list(render(config, NOW).resources.values())


def test_capped_listings_are_planned_at_their_cap_and_a_held_refill_is_noted(make_config):
    config = make_config(CAPPED)
    # The listings hold what an uncapped allocation gave them, less what US just sold.
    live = [
        replace(r, quantity=0 if r.key == ("US", "HP-100") else 9) if r.quantity is not None else r
        for r in in_sync(make_config())
    ]
    hold = RefillHold("US", "HP-100", NOW - timedelta(minutes=10), "2 order(s) not priced yet")
    history = SalesHistory({("DE", "HP-100"): 100}, holds={("US", "HP-100"): hold})
    run = compute(
        config, render_for_plan(config, NOW), inputs(live_state(live), history=history), now=NOW
    )
    changes = {c.address: c for c in run.plan.changes}
    quantity = {a: [f for f in c.fields if f.field == "quantity"] for a, c in changes.items()}
    assert [(f.before, f.after) for f in quantity[DE_HP]] == [(9, 3)]  # 100 a week: 3 per 4 h
    assert [(f.before, f.after) for f in quantity[address("JP", "HP-100")]] == [(9, 2)]
    assert US_HP not in changes  # held at 0: not refilled
    [note] = [n for n in run.notes if "refill held back" in n]
    assert note.startswith(
        'listing.US["HP-100"]: refill held back at 0 of its exposure cap of 2 (refill held '
        "since 2026-11-22 11:50 UTC: 2 order(s) not priced yet)"
    )
    released = compute(
        config,
        render_for_plan(config, NOW),
        inputs(live_state(live), history=SalesHistory({("DE", "HP-100"): 100})),
        now=NOW,
    )
    refilled = {c.address: c for c in released.plan.changes}[US_HP]
    assert [(f.before, f.after) for f in refilled.fields if f.field == "quantity"] == [(0, 2)]
    assert not any("refill held back" in n for n in released.notes)


# -- one render: from the cache, compute renders with the live quantities ---------------------
live_quantity = st.one_of(st.none(), st.integers(min_value=-2, max_value=40))


@pytest.mark.parametrize("capped", [False, True], ids=["uncapped", "capped"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_rendering_in_compute_plans_what_allocating_the_prior_render_plans(
    make_config, capped, data
):
    """`compute` without a prior render (a plan from the cache) renders with the live
    quantities; with one (a refresh's) it allocates it. Both plan the same listings, changes
    and notes, whatever live holds, has sold and has reserved."""
    config = make_config(CAPPED) if capped else make_config()
    live = []
    for r in in_sync(make_config()):
        held = data.draw(live_quantity, label=r.address)
        if held is not None or r.quantity is None:
            live.append(r if r.quantity is None else replace(r, quantity=held))
    sold = data.draw(
        st.dictionaries(
            st.sampled_from([r.key for r in live] or [("US", "X")]), st.integers(0, 200), max_size=4
        ),
        label="sold",
    )
    holds = {
        key: RefillHold(*key, NOW - timedelta(minutes=5), "an order not priced yet")
        for key in data.draw(st.sets(st.sampled_from(sorted(sold) or [("US", "X")]), max_size=2))
    }
    reserved = data.draw(st.dictionaries(st.sampled_from(["HP-100", "SPK-1"]), st.integers(0, 9)))
    reservation = Reservation(reserved, {sku: ("O-1",) for sku in reserved}, {"US": NOW})
    codes = data.draw(st.sampled_from([("US", "DE", "JP"), ("DE",), ("US", "JP")]))
    gathered = inputs(
        live_state([r for r in live if r.marketplace in codes]),
        codes,
        elsewhere={r.key: r.quantity for r in live if r.marketplace not in codes and r.quantity},
        reservation=reservation,
        history=SalesHistory(sold, holds=holds),
    )

    rendered_first = compute(config, render_for_plan(config, NOW), gathered, now=NOW)
    rendered_here = compute(config, None, gathered, now=NOW)

    assert rendered_here.desired == rendered_first.desired
    assert rendered_here.plan == rendered_first.plan
    assert rendered_here.notes == rendered_first.notes
