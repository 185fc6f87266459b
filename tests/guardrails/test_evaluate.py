"""Levels, approvals and the demo seller through the one entry point."""

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import load_config
from engine.config.errors import ConfigErrors
from engine.config.schema import schema_for
from engine.core.identity import BackendIdentity
from engine.desired.render import render
from engine.guardrails.context import AccountHealth, GuardrailContext
from engine.guardrails.evaluate import OFFLINE_RULES, evaluate, evaluate_config
from engine.guardrails.rules import BUILTIN_RULES
from engine.plan.diff import diff
from engine.plan.model import Plan
from tests.conftest import NOW
from tests.guardrails.conftest import (
    HP_US,
    applied,
    approval,
    check,
    files,
    found,
    live_price,
    promotion,
    unused_approvals,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config"
JUMP = live_price(HP_US, "45.00")  # +33.3 % to 59.99: a soft-mandatory price_change_size


def test_every_rule_passes_once_on_a_quiet_plan(make_config):
    config = make_config()
    report = check(config, context=applied(config))
    assert [(v.rule, v.outcome, v.marketplace) for v in report.verdicts] == [
        (rule.id, "pass", None) for rule in BUILTIN_RULES
    ]
    assert not report.blocked


def test_the_rules_that_need_nothing_live_are_the_promotion_and_sale_rules():
    assert [rule.id for rule in OFFLINE_RULES] == [
        "price_floor",
        "max_discount",
        "promotion_duration",
    ]


def test_offline_rules_judge_the_config_alone_as_the_plan_does_whatever_is_live(make_config):
    """What `sync validate` reports is what every plan of the config reports for those rules:
    a plan with a price change, unknown open orders and poor account health changes none of
    their verdicts (so needs_live=False is true of them)."""
    long_sale = promotion("LONG", "{percent: 5}", end="2027-02-01T00:00:00Z")
    deep = promotion("OOPS-99", "{percent: 99}", marketplaces="[US, DE]")
    config = make_config(
        files(
            promotions=(deep, long_sale),
            approvals=(approval("max_discount", scope="{marketplaces: [DE]}"),),
        )
    )
    offline = evaluate_config(config, render(config, NOW), now=NOW)
    sick = GuardrailContext(account_health={"US": AccountHealth(Decimal("3.0"), Decimal("1.5"))})
    planned = check(config, JUMP, context=sick)
    offline_ids = {rule.id for rule in OFFLINE_RULES}
    assert [v for v in planned.verdicts if v.rule in offline_ids] == list(offline.verdicts)
    assert {(v.rule, v.outcome, v.marketplace) for v in offline.verdicts} == {
        ("price_floor", "block", "US"),
        ("price_floor", "block", "DE"),
        ("max_discount", "block", "US"),
        ("max_discount", "approved", "DE"),
        ("promotion_duration", "block", "US"),
    }
    assert offline.blocked and found(planned, "price_change_size")  # the plan's own finding


def test_approval_rule_names_are_the_builtin_rules():
    rule_schema = schema_for("approvals")["properties"]["approvals"]["items"]["properties"]
    assert sorted(rule_schema["rule"]["enum"]) == sorted(rule.id for rule in BUILTIN_RULES)


def test_an_approval_for_an_unknown_rule_is_a_config_error(make_config):
    with pytest.raises(ConfigErrors) as raised:
        make_config(files(approvals=(approval("price_chnage_size"),)))
    [error] = raised.value.errors
    assert "approvals.yaml:2" in str(error)
    assert "expected one of: price_floor" in str(error) and "price_chnage_size" in str(error)


@pytest.mark.parametrize(
    ("scope", "expires", "outcome"),
    [
        ("{}", "2026-12-31T00:00:00Z", "approved"),
        ("{marketplaces: [US], skus: [HP-*]}", "2026-12-31T00:00:00Z", "approved"),
        ("{marketplaces: [DE]}", "2026-12-31T00:00:00Z", "block"),
        ("{skus: [SPK-*]}", "2026-12-31T00:00:00Z", "block"),
        ("{}", "2026-11-22T12:00:00Z", "block"),  # expires at NOW: approves nothing
        ("{}", "2026-11-01T00:00:00Z", "block"),
    ],
)
def test_soft_mandatory_findings_need_a_matching_unexpired_approval(
    make_config, scope, expires, outcome
):
    config = make_config(
        files(approvals=(approval("price_change_size", scope=scope, expires=expires),))
    )
    [verdict] = found(check(config, JUMP), "price_change_size")
    assert (verdict.level, verdict.outcome) == ("soft-mandatory", outcome)
    if outcome == "approved":
        assert verdict.approval is not None and verdict.approval.approver == "maria.keller"
        assert verdict.approval.reason == "Reviewed in the pull request"
    else:
        assert verdict.approval is None


def test_an_approval_for_another_rule_approves_nothing(make_config):
    config = make_config(files(approvals=(approval("max_discount"),)))
    assert check(config, JUMP).blocked


def test_hard_mandatory_findings_ignore_approvals(make_config):
    config = make_config(
        files(
            promotions=(promotion("OOPS", "{percent: 99}"),),
            approvals=(approval("price_floor"),),
        )
    )
    [verdict] = found(check(config), "price_floor")
    assert (verdict.outcome, verdict.approval) == ("block", None)
    assert "approval by maria.keller ignored: price_floor is hard-mandatory" in verdict.message


def test_levels_are_set_per_marketplace(make_config):
    us = "marketplace: US\nguardrails:\n  price_change_size: {level: advisory}\n"
    de_jump = live_price('listing.DE["HP-100"]', "40.00")
    config = make_config({"marketplaces/US.yaml": us})
    report = check(config, lambda live: (JUMP(live), de_jump(live)))
    outcomes = {v.marketplace: (v.level, v.outcome) for v in found(report, "price_change_size")}
    assert outcomes == {"US": ("advisory", "warn"), "DE": ("soft-mandatory", "block")}


def test_a_marketplace_wide_finding_needs_an_approval_without_sku_scope(make_config):
    us = "marketplace: US\nguardrails:\n  blast_radius: {min_price_changes: 1}\n"
    narrow = approval("blast_radius", scope="{skus: [HP-100]}")
    config = make_config({"marketplaces/US.yaml": us, **files(approvals=(narrow,))})
    [verdict] = found(check(config, JUMP), "blast_radius")
    assert verdict.outcome == "block"
    wide = approval("blast_radius", scope="{marketplaces: [US]}")
    config = make_config({"marketplaces/US.yaml": us, **files(approvals=(wide,))})
    [verdict] = found(check(config, JUMP), "blast_radius")
    assert verdict.outcome == "approved"


def test_evaluate_takes_a_plan_and_refuses_naive_time(make_config):
    config = make_config()
    desired = render(config, NOW)
    live = dict(desired.resources)
    JUMP(live)
    plan = Plan.build(
        diff(desired.resources, live),
        created_at=NOW,
        config_digest=config.digest,
        backend=BackendIdentity("sandbox", "A1TESTSELLER"),
    )
    assert evaluate(plan.changeset, config, desired, now=NOW).blocked
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(plan.changeset, config, desired, now=datetime(2026, 11, 22))


@pytest.fixture(scope="module")
def example():
    return load_config(EXAMPLE)


def test_the_demo_seller_is_not_blocked_by_its_own_guardrails(example):
    when = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # before Black Friday and AUDIO10
    desired = render(example, when)
    report = evaluate(diff(desired.resources, {}), example, desired, now=when)
    assert not report.blocked
    passed = {v.rule for v in report.verdicts if v.outcome == "pass"}
    assert {"price_floor", "max_discount", "promotion_duration", "promo_units_cap"} <= passed


def test_a_99_percent_promotion_on_the_demo_headphones_is_a_hard_floor_block(tmp_path):
    root = tmp_path / "config"
    shutil.copytree(EXAMPLE, root)
    with (root / "promotions.yaml").open("a", encoding="utf-8") as out:
        out.write(
            promotion(
                "OOPS-99",
                "{percent: 99}",
                skus="[HP-*]",
                kind="percent_off",
                start="2026-12-02T00:00:00Z",
                end="2026-12-03T00:00:00Z",
            )
        )
    config = load_config(root)
    when = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    desired = render(config, when)
    report = evaluate(diff(desired.resources, dict(desired.resources)), config, desired, now=when)
    floor = found(report, "price_floor")
    us_headphones = [a for a in desired.resources if a.startswith('listing.US["HP-')]
    assert {v.address for v in floor} == set(us_headphones)
    assert all((v.level, v.outcome) == ("hard-mandatory", "block") for v in floor)
    # AUDIO10 (10 %) overlaps: both stack on the listing's price.
    assert any("AUDIO10-2026-12" in v.message and "OOPS-99" in v.message for v in floor)
    assert report.blocked


# -- approvals pin what they approve ------------------------------------------------------

US_TYPO_FIX = live_price(HP_US, "1999.00")  # the plan puts 59.99 back: -97 %
NEXT_CUT = live_price(HP_US, "99.99")  # 99.99 -> 59.99 later: -40 %, a change of its own


@pytest.mark.parametrize(
    ("approves", "outcome"),
    [
        ('{value: "59.99"}', "approved"),
        ('{value: "59.990"}', "approved"),  # the same amount
        ('{value: "19.99"}', "block"),
        ('{min: "50", max: "60"}', "approved"),
        ('{min: "60"}', "block"),
        ('{max: "59.99"}', "approved"),
        ('{fingerprint: "000000000000"}', "block"),
    ],
)
def test_an_approval_covers_the_value_or_range_it_names(make_config, approves, outcome):
    config = make_config(files(approvals=(approval("price_change_size", approves=approves),)))
    verdicts = found(check(config, US_TYPO_FIX), "price_change_size")
    assert {v.outcome for v in verdicts} == {outcome}


def test_an_approval_by_fingerprint_covers_that_finding_and_not_the_next_change(make_config):
    """The issue's example: an approval reviewed for one correction must not approve the
    next change on the same listing."""
    [printed] = found(check(make_config(), US_TYPO_FIX), "price_change_size")
    assert printed.fingerprint is not None and len(printed.fingerprint) == 12
    pinned = approval("price_change_size", approves=f'{{fingerprint: "{printed.fingerprint}"}}')
    config = make_config(files(approvals=(pinned,)))
    [verdict] = found(check(config, US_TYPO_FIX), "price_change_size")
    assert verdict.outcome == "approved"
    assert verdict.approval is not None
    assert verdict.approval.approves == f"fingerprint {printed.fingerprint}"
    [later] = found(check(config, NEXT_CUT), "price_change_size")
    assert later.outcome == "block"
    assert "stale approval by maria.keller" in later.message
    assert later.message.endswith(
        f"approvals.yaml:2) approves fingerprint {printed.fingerprint}; this finding is about "
        "59.99)"
    )


def test_the_same_value_from_another_price_is_another_finding(make_config):
    value = approval("price_change_size", approves='{value: "59.99"}')
    config = make_config(files(approvals=(value,)))
    # A value pins what is written: both corrections write 59.99, so both are covered...
    assert {v.outcome for v in found(check(config, NEXT_CUT), "price_change_size")} == {"approved"}
    # ...and their fingerprints differ, so a fingerprint tells them apart.
    first = found(check(make_config(), US_TYPO_FIX), "price_change_size")[0].fingerprint
    second = found(check(make_config(), NEXT_CUT), "price_change_size")[0].fingerprint
    assert first != second


def test_approvals_that_match_nothing_are_reported_for_cleanup(make_config):
    config = make_config(
        files(
            approvals=(
                approval("price_change_size", approves='{value: "59.99"}'),
                approval("max_discount", scope="{marketplaces: [DE]}"),
                approval("blast_radius", expires="2026-11-01T00:00:00Z"),
            )
        )
    )
    report = check(config, US_TYPO_FIX)
    reported = {(v.rule, v.outcome): v.message for v in unused_approvals(report)}
    assert set(reported) == {("max_discount", "warn"), ("blast_radius", "warn")}
    assert reported[("max_discount", "warn")].endswith(
        "for range 0..1000000 matches no finding in this plan; remove it from approvals.yaml "
        "once it has served"
    )
    assert "expired at 2026-11-01T00:00Z" in reported[("blast_radius", "warn")]
    assert not report.blocked
    # A plan of other marketplaces does not report an approval scoped to DE.
    desired = render(config, NOW)
    us_only = evaluate(diff(desired.resources, {}), config, desired, now=NOW, marketplaces=["US"])
    assert "max_discount" not in {v.rule for v in unused_approvals(us_only)}


def test_an_expired_approval_says_when_it_expired_on_the_block(make_config):
    short = approval(
        "price_change_size", approves='{value: "59.99"}', expires="2026-11-23T00:00:00Z"
    )
    config = make_config(files(approvals=(short,)))
    assert {v.outcome for v in found(check(config, US_TYPO_FIX), "price_change_size")} == {
        "approved"
    }
    later = NOW + timedelta(days=1, microseconds=841387)
    [verdict] = found(check(config, US_TYPO_FIX, now=later), "price_change_size")
    assert verdict.outcome == "block"
    assert verdict.message.endswith("(approval by maria.keller expired at 2026-11-23T00:00Z)")


def test_timestamps_in_messages_stop_at_the_minute(make_config):
    """A plan made at 12:00:23.841387 says 12:00 (the issue's microseconds)."""
    config = make_config(
        files(promotions=(promotion("OOPS-99", "{percent: 99}", start="2026-11-20T00:00:00Z"),))
    )
    odd = NOW.replace(second=23, microsecond=841387)
    [verdict] = found(check(config, now=odd), "price_floor")
    assert "from 2026-11-22T12:00Z (coupon OOPS-99 (99% off))" in verdict.message
    assert ".841387" not in verdict.message and ":23" not in verdict.message
