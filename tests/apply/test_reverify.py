"""The plan file against the plan made now: every way a file can differ is named. Pure."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.apply.reverify import PlanMismatch, differences
from engine.core.identity import BackendIdentity
from engine.guardrails.verdict import Verdict
from engine.plan.diff import diff
from engine.plan.model import Plan
from tests.sandbox.conftest import NOW, make_resource

LIVE = make_resource("DE", "HP-1", "19.99")
OTHER = make_resource("DE", "HP-2", "29.99")
WANT = replace(LIVE, our_price=Decimal("17.99"))
PASS = Verdict("price_floor", "hard-mandatory", "pass", "every reachable price is above its floor")


def planned(desired, live, verdicts=(PASS,), marketplaces=("DE",)) -> Plan:
    return Plan.build(
        diff({r.address: r for r in desired}, {r.address: r for r in live}),
        created_at=NOW,
        config_digest="a" * 64,
        backend=BackendIdentity("sandbox", "S1"),
        guardrails=verdicts,
        marketplaces=marketplaces,
    )


LIVE_NOW = {LIVE.address: LIVE, OTHER.address: OTHER}
FRESH = planned([WANT, OTHER], [LIVE, OTHER])


def test_the_same_plan_has_no_differences():
    assert differences(planned([WANT, OTHER], [LIVE, OTHER]), FRESH, LIVE_NOW) == []


def test_an_edited_after_value_names_the_listing_and_field():
    (change,) = FRESH.changes
    forged_after = replace(change.after, our_price=Decimal("1.00"))
    claimed = replace(FRESH, changes=(replace(change, after=forged_after),))
    assert differences(claimed, FRESH, LIVE_NOW) == [
        f"{LIVE.address} our_price: 1.00 EUR in the file, 17.99 EUR planned now"
    ]


def test_an_edited_before_state_does_not_match_its_fingerprint():
    (change,) = FRESH.changes
    claimed = replace(
        FRESH, changes=(replace(change, before=replace(LIVE, our_price=Decimal("9.99"))),)
    )
    assert differences(claimed, FRESH, LIVE_NOW) == [
        f"{LIVE.address}: its recorded before-state does not match its live fingerprint"
    ]


def test_a_listing_that_changed_live_since_planning_is_named():
    moved = replace(LIVE, our_price=Decimal("18.49"))
    fresh = planned([WANT, OTHER], [moved, OTHER])
    assert differences(FRESH, fresh, {**LIVE_NOW, LIVE.address: moved}) == [
        f"{LIVE.address} changed live since the plan was made"
    ]


def test_a_change_the_file_invents_is_named():
    invented = replace(OTHER, our_price=Decimal("1.99"))
    claimed = planned([WANT, invented], [LIVE, OTHER])
    found = differences(claimed, FRESH, LIVE_NOW)
    assert found[0].startswith(f"{OTHER.address}: the file updates it (our_price 29.99 EUR ->")


def test_a_change_the_file_leaves_out_is_named():
    claimed = replace(FRESH, changes=(), live_fingerprints={})
    assert differences(claimed, FRESH, LIVE_NOW) == [
        f"{LIVE.address} needs a change (update: our_price 19.99 EUR -> 17.99 EUR) that the "
        "file does not list"
    ]


def test_verdicts_are_compared_blocks_and_approvals_first():
    block = Verdict("max_discount", "soft-mandatory", "block", "99 % off", "DE", LIVE.address)
    fresh = replace(FRESH, guardrails=(PASS, block))
    assert differences(FRESH, fresh, LIVE_NOW) == [
        f"guardrail max_discount (soft-mandatory) block at {LIVE.address} is missing from the file"
    ]
    assert differences(fresh, FRESH, LIVE_NOW) == [
        f"the file has guardrail max_discount (soft-mandatory) block at {LIVE.address}, planned "
        "now: no such verdict"
    ]
    reworded = replace(fresh, guardrails=(PASS, replace(block, message="worded otherwise")))
    assert differences(reworded, fresh, LIVE_NOW) == []


def test_other_marketplaces_are_named():
    found = differences(replace(FRESH, marketplaces=("DE", "FR")), FRESH, LIVE_NOW)
    assert found == ["the file covers marketplaces DE, FR, planned now: DE"]


def test_the_refusal_names_the_first_differences_on_one_line():
    error = PlanMismatch("plan.json", [f"difference {n}" for n in range(8)])
    text = str(error)
    assert error.exit_code == 4 and "\n" not in text
    assert "difference 4; and 3 more difference(s)" in text and "difference 5" not in text
