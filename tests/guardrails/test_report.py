"""The gate apply goes through, and a property: no plan with an unapproved block passes it."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import load_config
from engine.config.model import Approval, Origin, SkuSelector
from engine.desired.render import render
from engine.guardrails.evaluate import evaluate
from engine.guardrails.report import EXIT_BLOCKED, GuardrailsBlocked, ensure_applicable
from engine.guardrails.verdict import Verdict
from engine.money import currency
from engine.plan.diff import Changeset, diff
from engine.plan.model import BackendIdentity, Plan
from tests.conftest import NOW
from tests.guardrails.conftest import APPROVED, BLOCK, WARN
from tests.minimal_config import write_config

MARKETS = ("US", "DE", "JP")


def plan_with(*verdicts: Verdict) -> Plan:
    return Plan.build(
        Changeset((), 0, (), ()),
        created_at=NOW,
        config_digest="ab" * 32,
        backend=BackendIdentity("sandbox", "A1TESTSELLER"),
        guardrails=verdicts,
    )


def test_a_plan_with_a_block_is_refused_with_exit_3_and_each_block_listed():
    with pytest.raises(GuardrailsBlocked) as raised:
        ensure_applicable(plan_with(WARN, BLOCK, APPROVED))
    error = raised.value
    assert error.exit_code == EXIT_BLOCKED == 3
    assert error.lines() == [
        "plan blocked by 1 guardrail finding(s); nothing was applied",
        '  price_floor (hard-mandatory) listing.US["HP-100"]: 0.60 USD below 22.00 USD',
    ]


def test_warnings_and_approved_findings_pass_the_gate():
    ensure_applicable(plan_with(WARN, APPROVED))
    ensure_applicable(plan_with(APPROVED), now=NOW + timedelta(days=1))


def test_an_approval_that_expired_since_planning_approves_nothing_at_apply():
    with pytest.raises(GuardrailsBlocked, match="1 guardrail finding"):
        ensure_applicable(plan_with(APPROVED), now=NOW + timedelta(days=2))


def test_verdicts_survive_the_plan_file():
    again = Plan.loads(plan_with(BLOCK, APPROVED, WARN).dumps())
    assert again.guardrails == (BLOCK, APPROVED, WARN)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    config = load_config(write_config(tmp_path_factory.mktemp("gate") / "config"))
    return config, render(config, NOW)


prices = st.decimals(min_value=1, max_value=20000, places=0).map(lambda d: d.quantize(1))
approvals = st.lists(
    st.tuples(
        st.one_of(st.none(), st.lists(st.sampled_from(MARKETS), min_size=1, unique=True)),
        st.one_of(st.none(), st.sampled_from([["HP-*"], ["SPK-*"], ["HP-100"]])),
        st.integers(min_value=-3, max_value=3),  # expiry, in days from NOW
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_prices=st.dictionaries(st.sampled_from(MARKETS), prices), granted=approvals)
def test_no_plan_with_an_unapproved_block_passes_the_gate(rendered, live_prices, granted):
    config, desired = rendered
    origin = Origin(config.project.source, ())
    config = replace(
        config,
        approvals=tuple(
            Approval(
                "price_change_size",
                None if m is None else tuple(m),
                None if s is None else SkuSelector.of(s),
                "why",
                "who",
                NOW + timedelta(days=days),
                origin,
            )
            for m, s, days in granted
        ),
    )
    live = dict(desired.resources)
    for code, price in live_prices.items():
        address = f'listing.{code}["HP-100"]'
        # Live prices carry their currency's minor unit, as Amazon's do (a plan file with
        # 1 USD for 1.00 USD is refused as not written by sellersync).
        minor = currency(live[address].currency).quantum
        live[address] = replace(live[address], our_price=price.quantize(minor))
    plan = Plan.loads(
        Plan.build(
            diff(desired.resources, live),
            created_at=NOW,
            config_digest=config.digest,
            backend=BackendIdentity("sandbox", "A1TESTSELLER"),
            guardrails=evaluate(diff(desired.resources, live), config, desired, now=NOW).verdicts,
        ).dumps()
    )

    # Independent oracle: price jumps beyond 30 % that no live, matching approval covers.
    def approved(code: str) -> bool:
        return any(
            (m is None or code in m) and (s is None or s != ["SPK-*"]) and days > 0
            for m, s, days in granted
        )

    unapproved = [
        code
        for code, before in live_prices.items()
        if abs(desired.resources[f'listing.{code}["HP-100"]'].our_price - before) / before
        > Decimal("0.30")
        and not approved(code)
    ]
    if unapproved:
        with pytest.raises(GuardrailsBlocked) as raised:
            ensure_applicable(plan)
        assert {v.marketplace for v in raised.value.blocks} == set(unapproved)
    else:
        ensure_applicable(plan)
