"""What makes a plan stale: config digest, backend identity, live fingerprints. Pure."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.apply.stale import (
    SHOWN_REASONS,
    PlanStale,
    changed_reason,
    config_mismatch,
    identity_mismatch,
    live_changed,
    stale_reasons,
)
from engine.apply.verify import Unreadable
from engine.core.identity import BackendIdentity
from engine.plan.diff import diff
from engine.plan.model import Plan
from tests.sandbox.conftest import NOW, make_resource

LIVE = make_resource("DE", "HP-1", "19.99")
WANT = replace(LIVE, our_price=Decimal("17.99"))


def plan_for(backend: BackendIdentity, digest: str = "a" * 64) -> Plan:
    changes = diff({WANT.address: WANT}, {LIVE.address: LIVE})
    return Plan.build(changes, created_at=NOW, config_digest=digest, backend=backend)


def test_config_digest_must_match():
    plan = plan_for(BackendIdentity("sandbox", "S1"))
    assert config_mismatch(plan, "a" * 64) is None
    assert config_mismatch(plan, "b" * 64) == (
        "the config changed since the plan was made (config digest aaaaaaaaaaaa… in the "
        "plan, bbbbbbbbbbbb… now)"
    )


def test_the_embedded_sandbox_port_is_not_part_of_the_identity():
    plan = plan_for(BackendIdentity("sandbox", "S1", "http://127.0.0.1:4001"))
    assert (
        identity_mismatch(plan, BackendIdentity("sandbox", "S1", "http://127.0.0.1:5002")) is None
    )
    assert identity_mismatch(plan, BackendIdentity("sandbox", "S2", "http://127.0.0.1:4001")) == (
        "the plan was made for sandbox seller S1 at http://127.0.0.1:4001, this is sandbox "
        "seller S2 at http://127.0.0.1:4001"
    )


def test_an_spapi_endpoint_is_part_of_the_identity():
    prod = BackendIdentity("spapi", "S1")
    test = BackendIdentity("spapi", "S1", "https://sandbox.sellingpartnerapi-eu.amazon.com")
    assert identity_mismatch(plan_for(prod), prod) is None
    assert "this is spapi seller S1 at https://sandbox" in identity_mismatch(plan_for(prod), test)
    assert identity_mismatch(plan_for(prod), BackendIdentity("sandbox", "S1")) is not None


def test_live_changed_compares_the_fingerprint_of_the_planned_before():
    plan = plan_for(BackendIdentity("sandbox", "S1"))
    assert not live_changed(plan.live_fingerprints[LIVE.address], LIVE)
    edited = replace(LIVE, quantity=3)
    assert live_changed(plan.live_fingerprints[LIVE.address], edited)
    assert live_changed(plan.live_fingerprints[LIVE.address], None)  # deleted since planning
    assert live_changed(plan.live_fingerprints[LIVE.address], Unreadable("no offer"))


def test_a_plan_from_a_stand_in_is_not_stale_against_full_detail():
    """Issue 13, item 6: a plan that knew a listing from a stand-in (report row plus the
    values last applied: no identifiers) recorded `identifiers: {}`, apply read the EAN from
    full detail, and the plan was stale at every try with nothing changing in between."""
    stand_in = replace(LIVE, identifiers=())
    detail = replace(LIVE, identifiers=(("ean", "4006381333931"),), language="de_DE")
    changes = diff({WANT.address: WANT}, {stand_in.address: stand_in})
    plan = Plan.build(
        changes, created_at=NOW, config_digest="a" * 64, backend=BackendIdentity("sandbox", "S1")
    )
    assert stale_reasons(plan.live_fingerprints, {LIVE.address: detail}) == []
    assert stale_reasons(
        plan.live_fingerprints, {LIVE.address: replace(detail, title="edited")}
    ) == [changed_reason(LIVE.address)]
    assert stale_reasons(
        plan.live_fingerprints, {LIVE.address: Unreadable("offer taken down")}
    ) == [f"{LIVE.address} cannot be read live any more (offer taken down)"]


def test_a_create_is_stale_once_the_listing_exists():
    plan = Plan.build(
        diff({WANT.address: WANT}, {}),
        created_at=NOW,
        config_digest="a" * 64,
        backend=BackendIdentity("sandbox", "S1"),
    )
    assert not live_changed(plan.live_fingerprints[WANT.address], None)
    assert live_changed(plan.live_fingerprints[WANT.address], LIVE)


def test_the_message_names_the_first_reasons_on_one_line():
    reasons = [changed_reason(f'listing.DE["{i}"]') for i in range(SHOWN_REASONS + 5)]
    message = str(PlanStale(reasons))
    assert "\n" not in message and PlanStale(reasons).exit_code == 4
    assert 'listing.DE["9"] changed live' in message and 'listing.DE["10"]' not in message
    assert "; and 5 more listing(s). Run `sync plan` again" in message
