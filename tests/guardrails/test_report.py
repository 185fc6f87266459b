"""The gate apply goes through, and a property: no plan with an unapproved block passes it."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import load_config
from engine.config.model import Approval, ApprovalTarget, Origin, SkuSelector
from engine.core.changes import Changeset
from engine.core.identity import BackendIdentity
from engine.desired.render import render
from engine.guardrails.evaluate import evaluate
from engine.guardrails.report import EXIT_BLOCKED, GuardrailsBlocked, ensure_applicable
from engine.guardrails.verdict import Verdict
from engine.plan.diff import diff
from engine.plan.model import Plan
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
        ensure_applicable(plan_with(WARN, BLOCK, APPROVED).guardrails)
    error = raised.value
    assert error.exit_code == EXIT_BLOCKED == 3
    assert error.lines() == [
        "plan blocked by 1 guardrail finding(s); nothing was applied",
        '  price_floor (hard-mandatory) listing.US["HP-100"]: 0.60 USD below 22.00 USD',
    ]


def test_warnings_and_approved_findings_pass_the_gate():
    ensure_applicable(plan_with(WARN, APPROVED).guardrails)
    ensure_applicable(plan_with(APPROVED).guardrails, now=NOW + timedelta(days=1))


def test_an_approval_that_expired_since_planning_approves_nothing_at_apply():
    with pytest.raises(GuardrailsBlocked, match="1 guardrail finding") as raised:
        ensure_applicable(plan_with(APPROVED).guardrails, now=NOW + timedelta(days=2))
    # The refusal says why: the approval the plan relied on has expired, and when.
    assert raised.value.lines()[1] == (
        '  price_change_size (soft-mandatory) listing.US["HP-100"]: +33.3% '
        "(approval by maria.keller expired at 2026-11-24T12:00Z)"
    )


def test_verdicts_survive_the_plan_file():
    again = Plan.loads(plan_with(BLOCK, APPROVED, WARN).dumps())
    assert again.guardrails == (BLOCK, APPROVED, WARN)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    config = load_config(write_config(tmp_path_factory.mktemp("gate") / "config"))
    return config, render(config, NOW)


# Live prices in cents (whole yen in JP): anything from a slip to a hundredfold typo.
cents = st.integers(min_value=100, max_value=2_000_000)
# What an approval pins: the price written (right or another), a range around it or away
# from it, the fingerprint the plan printed for the finding, or another finding's.
TARGETS = ("value", "other value", "range in", "range out", "fingerprint", "other fingerprint")
approvals = st.lists(
    st.tuples(
        st.one_of(st.none(), st.lists(st.sampled_from(MARKETS), min_size=1, unique=True)),
        st.one_of(st.none(), st.sampled_from([["HP-*"], ["SPK-*"], ["HP-100"]])),
        st.integers(min_value=-3, max_value=3),  # expiry, in days from NOW
        st.sampled_from(TARGETS),
        st.sampled_from(MARKETS),  # whose price or fingerprint the target names
    ),
    max_size=4,
)


def _live_price(code: str, amount: int) -> Decimal:
    return Decimal(amount // 100) if code == "JP" else Decimal(amount).scaleb(-2)


def _target(kind: str, price: Decimal, fingerprint: str) -> ApprovalTarget:
    one = Decimal(1)
    return {
        "value": ApprovalTarget(value=price),
        "other value": ApprovalTarget(value=price + one),
        "range in": ApprovalTarget(minimum=price - one, maximum=price + one),
        "range out": ApprovalTarget(minimum=price + one),
        "fingerprint": ApprovalTarget(fingerprint=fingerprint),
        "other fingerprint": ApprovalTarget(fingerprint="0" * 12),
    }[kind]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_cents=st.dictionaries(st.sampled_from(MARKETS), cents), granted=approvals)
def test_no_plan_with_an_unapproved_block_passes_the_gate(rendered, live_cents, granted):
    """Over generated price edits and approvals: apply refuses exactly the price jumps no
    approval covers, where covering means in scope, unexpired and pinned to the price
    written (value or range) or to the finding's printed fingerprint, nothing else."""
    config, desired = rendered
    live = dict(desired.resources)
    live_prices = {code: _live_price(code, amount) for code, amount in live_cents.items()}
    for code, price in live_prices.items():
        address = f'listing.{code}["HP-100"]'
        live[address] = replace(live[address], our_price=price)
    changes = diff(desired.resources, live)
    printed = {
        v.marketplace: v.fingerprint
        for v in evaluate(changes, config, desired, now=NOW).verdicts
        if v.rule == "price_change_size" and v.fingerprint is not None
    }
    written = {code: desired.resources[f'listing.{code}["HP-100"]'].our_price for code in MARKETS}
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
                _target(kind, written[whose], printed.get(whose, "f" * 12)),
            )
            for m, s, days, kind, whose in granted
        ),
    )
    plan = Plan.loads(
        Plan.build(
            changes,
            created_at=NOW,
            config_digest=config.digest,
            backend=BackendIdentity("sandbox", "A1TESTSELLER"),
            guardrails=evaluate(changes, config, desired, now=NOW).verdicts,
        ).dumps()
    )

    # Independent oracle: price jumps beyond 30 % that no live, matching approval covers.
    def pins(kind: str, whose: str, code: str) -> bool:
        """Whether a target made from `whose` figures names `code`'s finding."""
        price, named = written[code], written[whose]
        return {
            "value": price == named,
            "other value": price == named + 1,
            "range in": named - 1 <= price <= named + 1,
            "range out": price >= named + 1,
            "fingerprint": whose in printed and printed.get(code) == printed[whose],
            "other fingerprint": False,
        }[kind]

    def approved(code: str) -> bool:
        return any(
            (m is None or code in m)
            and (s is None or s != ["SPK-*"])
            and days > 0
            and pins(kind, whose, code)
            for m, s, days, kind, whose in granted
        )

    unapproved = [
        code
        for code, before in live_prices.items()
        if abs(written[code] - before) / before > Decimal("0.30") and not approved(code)
    ]
    if unapproved:
        with pytest.raises(GuardrailsBlocked) as raised:
            ensure_applicable(plan.guardrails)
        assert {v.marketplace for v in raised.value.blocks} == set(unapproved)
    else:
        ensure_applicable(plan.guardrails)
