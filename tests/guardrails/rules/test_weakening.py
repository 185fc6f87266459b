"""A change may not weaken the guardrails that judge it: every kind of weakening, table and
generated, against the baseline the last apply recorded; approvals count only when applied
in an earlier change."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.guardrails.baseline import (
    GuardrailBaseline,
    Weakening,
    advance,
    snapshot,
    weakenings,
)
from engine.guardrails.rules import BUILTIN_RULES
from engine.guardrails.settings import Settings
from engine.guardrails.verdict import LEVELS
from tests.conftest import NOW
from tests.guardrails.conftest import (
    approval,
    baseline_of,
    check_change,
    files,
    found,
    promotion,
    unused_approvals,
)
from tests.minimal_config import MINIMAL_FILES, edited

PROJECT = "project.yaml"


def project_limits(extra: str) -> dict[str, str]:
    """project.yaml with `extra` in place of its maximum discount."""
    return edited(PROJECT, "    max_discount_pct: 40\n", f"    {extra}\n")


def us_file(text: str) -> dict[str, str]:
    return {"marketplaces/US.yaml": "marketplace: US\n" + text}


def de_file(text: str) -> dict[str, str]:
    base = textwrap.dedent(MINIMAL_FILES["marketplaces/DE.yaml"])
    return {"marketplaces/DE.yaml": base + text}


def hp_settings(text: str) -> dict[str, str]:
    """HP-100's product entry with settings of its own (`text` indented under it)."""
    return edited("products/audio.yaml", "fulfillment: MFN\n", f"fulfillment: MFN\n{text}")


EVERY = {("US", None), ("DE", None), ("JP", None)}

# (what the change does, the config files it edits, the (marketplace, sku, setting) flagged)
WEAKER = [
    (
        "a rule's level lowered in one marketplace",
        us_file("guardrails:\n  price_floor: {level: advisory}\n"),
        {("US", None, "guardrails.price_floor.level")},
    ),
    (
        "soft-mandatory lowered to advisory",
        us_file("guardrails:\n  max_discount: {level: advisory}\n"),
        {("US", None, "guardrails.max_discount.level")},
    ),
    (
        "the maximum discount raised for every marketplace",
        project_limits("max_discount_pct: 60"),
        {(m, s, "promotion_limits.max_discount_pct") for m, s in EVERY},
    ),
    (
        "the maximum duration raised",
        de_file("promotion_limits: {max_duration_days: 45}\n"),
        {("DE", None, "promotion_limits.max_duration_days")},
    ),
    (
        "the units cap raised",
        de_file("promotion_limits: {max_units_at_promo_price: 500}\n"),
        {("DE", None, "promotion_limits.max_units_at_promo_price")},
    ),
    (
        "the blast radius share raised",
        us_file("guardrails:\n  blast_radius: {max_price_change_share_pct: 90}\n"),
        {("US", None, "guardrails.blast_radius.max_price_change_share_pct")},
    ),
    (
        "more deletes allowed",
        us_file("guardrails:\n  blast_radius: {max_deletes: 10}\n"),
        {("US", None, "guardrails.blast_radius.max_deletes")},
    ),
    (
        "a larger price change allowed",
        us_file("guardrails:\n  price_change_size: {max_change_pct: 95}\n"),
        {("US", None, "guardrails.price_change_size.max_change_pct")},
    ),
    (
        "a larger fx move allowed",
        us_file("guardrails:\n  fx_rate: {max_change_pct: 50}\n"),
        {("US", None, "guardrails.fx_rate.max_change_pct")},
    ),
    (
        "the account-health gate opened later",
        us_file("guardrails:\n  account_health: {cancellation_rate_warning_pct: 5}\n"),
        {("US", None, "guardrails.account_health.cancellation_rate_warning_pct")},
    ),
    (
        "the floor removed (back to cost + 0 %)",
        edited(PROJECT, "    floor:\n      cost_plus_margin_pct: 10\n", ""),
        {(m, s, "promotion_limits.floor") for m, s in EVERY},
    ),
    (
        "the floor margin lowered",
        edited(PROJECT, "cost_plus_margin_pct: 10", "cost_plus_margin_pct: 2"),
        {(m, s, "promotion_limits.floor") for m, s in EVERY},
    ),
    (
        "the floor turned into a fixed amount",
        de_file('promotion_limits: {floor: {amount: "25.00"}}\n'),
        {("DE", None, "promotion_limits.floor")},
    ),
    (
        "one product's maximum discount raised",
        hp_settings("    promotion_limits: {max_discount_pct: 90}\n"),
        {(m, "HP-100", "promotion_limits.max_discount_pct") for m in ("US", "DE", "JP")},
    ),
    (
        "one listing's maximum discount raised in an override",
        de_file("overrides:\n  HP-100:\n    promotion_limits: {max_discount_pct: 70}\n"),
        {("DE", "HP-100", "promotion_limits.max_discount_pct")},
    ),
]

NOT_WEAKER = [
    (
        "a level raised",
        us_file("guardrails:\n  allowed_price_bounds: {level: hard-mandatory}\n"),
    ),
    ("the maximum discount lowered", project_limits("max_discount_pct: 25")),
    (
        "the floor margin raised",
        edited(PROJECT, "cost_plus_margin_pct: 10", "cost_plus_margin_pct: 20"),
    ),
    (
        "the share rule applied from fewer changes on",
        us_file("guardrails:\n  blast_radius: {min_price_changes: 2}\n"),
    ),
    (
        "a product's own, stricter discount limit",
        hp_settings("    promotion_limits: {max_discount_pct: 10}\n"),
    ),
    (
        "the same settings, written again",
        us_file("guardrails:\n  price_floor: {level: hard-mandatory}\n"),
    ),
]


def flagged(report) -> set[tuple[str | None, str | None, str]]:
    return {
        (v.marketplace, None if v.address is None else v.address.split('"')[1], _setting(v))
        for v in found(report, "guardrail_weakening")
    }


def _setting(verdict) -> str:
    return verdict.message.split(":", 1)[0]


@pytest.mark.parametrize(("what", "changes", "expected"), WEAKER, ids=[w[0] for w in WEAKER])
def test_every_kind_of_weakening_is_a_hard_block(configs, what, changes, expected):
    before = configs()
    after = configs(changes)
    report = check_change(before, after)
    assert flagged(report) == expected, what
    assert all(
        (v.level, v.outcome) == ("hard-mandatory", "block")
        for v in found(report, "guardrail_weakening")
    )
    assert report.blocked


@pytest.mark.parametrize(("what", "changes"), NOT_WEAKER, ids=[w[0] for w in NOT_WEAKER])
def test_tightening_or_repeating_a_guardrail_is_no_finding(configs, what, changes):
    report = check_change(configs(), configs(changes))
    assert not found(report, "guardrail_weakening"), what


def test_a_listing_that_loses_a_stricter_limit_of_its_own_is_weakened(configs):
    strict = configs(hp_settings("    promotion_limits: {max_discount_pct: 10}\n"))
    report = check_change(strict, configs())  # HP-100 now inherits 40 %
    assert flagged(report) == {
        (m, "HP-100", "promotion_limits.max_discount_pct") for m in ("US", "DE", "JP")
    }


def test_the_issue_example_a_99_percent_code_with_its_guardrails_switched_off(configs):
    """The pull request that declares a 99 % code and sets price_floor and max_discount to
    advisory in the same change: two warnings before, a hard block now."""
    oops = promotion("OOPS-99", "{percent: 99}")
    switched_off = us_file(
        "guardrails:\n  price_floor: {level: advisory}\n  max_discount: {level: advisory}\n"
    )
    report = check_change(configs(), configs({**switched_off, **files(promotions=(oops,))}))
    assert [v.outcome for v in found(report, "price_floor")] == ["warn"]
    assert flagged(report) == {
        ("US", None, "guardrails.price_floor.level"),
        ("US", None, "guardrails.max_discount.level"),
    }
    assert report.blocked


WEAKEN_US_FLOOR = us_file("guardrails:\n  price_floor: {level: advisory}\n")
FLOOR_APPROVAL = approval(
    "guardrail_weakening",
    scope="{marketplaces: [US]}",
    approves="{value: advisory}",
)


def test_an_approval_in_the_same_change_does_not_count(configs):
    after = configs({**WEAKEN_US_FLOOR, **files(approvals=(FLOOR_APPROVAL,))})
    [verdict] = found(check_change(configs(), after), "guardrail_weakening")
    assert verdict.outcome == "block"
    assert "does not count: it was not applied before this change" in verdict.message


def test_an_approval_applied_in_an_earlier_change_covers_the_weakening(configs):
    earlier = configs(files(approvals=(FLOOR_APPROVAL,)))  # applied on its own first
    report = check_change(configs(), earlier, baseline=baseline_of(configs()))
    # Waiting for its change: reported, never a block.
    [waiting] = unused_approvals(report)
    assert "matches no finding yet; it counts once applied" in waiting.message
    after = configs({**WEAKEN_US_FLOOR, **files(approvals=(FLOOR_APPROVAL,))})
    report = check_change(earlier, after)
    [verdict] = found(report, "guardrail_weakening")
    assert (verdict.level, verdict.outcome) == ("hard-mandatory", "approved")
    assert verdict.approval is not None and verdict.approval.approves == "value advisory"
    assert not report.blocked


def test_an_earlier_approval_that_expired_says_so(configs):
    short = approval(
        "guardrail_weakening",
        scope="{marketplaces: [US]}",
        approves="{value: advisory}",
        expires="2026-11-23T00:00:00Z",
    )
    earlier = configs(files(approvals=(short,)))
    after = configs({**WEAKEN_US_FLOOR, **files(approvals=(short,))})
    later = NOW + timedelta(days=2)
    [verdict] = found(check_change(earlier, after, now=later), "guardrail_weakening")
    assert verdict.outcome == "block"
    assert verdict.message.endswith("(approval by maria.keller expired at 2026-11-23T00:00Z)")


def test_an_earlier_approval_for_another_value_is_stale(configs):
    soft = approval(
        "guardrail_weakening", scope="{marketplaces: [US]}", approves="{value: soft-mandatory}"
    )
    earlier = configs(files(approvals=(soft,)))
    after = configs({**WEAKEN_US_FLOOR, **files(approvals=(soft,))})
    [verdict] = found(check_change(earlier, after), "guardrail_weakening")
    assert verdict.outcome == "block"
    assert "(stale approval by maria.keller (" in verdict.message
    assert verdict.message.endswith("approvals.yaml:2) approves value soft-mandatory)")


def test_without_a_baseline_it_says_nothing_was_compared(configs):
    report = check_change(configs(), configs(WEAKEN_US_FLOOR), baseline=None)
    [verdict] = found(report, "guardrail_weakening")
    assert (verdict.outcome, verdict.scope) == ("warn", "plan")
    assert "no successful apply has recorded them yet" in verdict.message


def test_a_new_marketplace_is_compared_with_the_recorded_project_defaults(configs):
    two = edited(PROJECT, "marketplaces: [US, DE, JP]", "marketplaces: [US, DE]")
    before = configs({**two, "marketplaces/JP.yaml": None})
    jp_loose = {
        "marketplaces/JP.yaml": textwrap.dedent(MINIMAL_FILES["marketplaces/JP.yaml"])
        + "guardrails:\n  promo_units_cap: {level: advisory}\n"
    }
    report = check_change(before, configs(jp_loose))
    assert flagged(report) == {("JP", None, "guardrails.promo_units_cap.level")}


def test_baselines_survive_json_and_an_apply_of_some_marketplaces_keeps_the_others(configs):
    config = configs()
    rules = Settings(config, {rule.id: rule.default_level for rule in BUILTIN_RULES})
    full = baseline_of(config)
    assert GuardrailBaseline.from_json(full.to_json()) == full
    loose = configs(us_file("guardrails:\n  price_floor: {level: advisory}\n"))
    loose_rules = Settings(loose, {rule.id: rule.default_level for rule in BUILTIN_RULES})
    de_only = advance(full, loose, loose_rules, ("DE",), NOW)
    # The US weakening was not judged by an apply of DE: US keeps its recorded level.
    assert de_only.settings["US:guardrails.price_floor.level"] == "hard-mandatory"
    assert snapshot(config, rules, ("US",))["US:guardrails.price_floor.level"] == "hard-mandatory"
    assert de_only.rate("USD", "EUR") == Decimal("0.9200")


# -- generated: any mix of level and limit edits, flagged exactly where one got weaker ----

RULE_IDS = [r.id for r in BUILTIN_RULES if r.id != "guardrail_weakening"]
LIMITS = {
    "guardrails.price_change_size.max_change_pct": (0, 200),
    "guardrails.blast_radius.max_deletes": (0, 50),
    "promotion_limits.max_discount_pct": (0, 100),
    "promotion_limits.max_duration_days": (1, 120),
}
snapshots = st.fixed_dictionaries(
    {
        **{
            f"{m}:guardrails.{r}.level": st.sampled_from(LEVELS)
            for m in ("US", "DE")
            for r in RULE_IDS
        },
        **{
            f"{m}:{key}": st.integers(*bounds).map(str)
            for m in ("US", "DE")
            for key, bounds in LIMITS.items()
        },
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=snapshots, after=snapshots)
def test_generated_setting_edits_are_flagged_exactly_where_they_weaken(before, after):
    baseline = GuardrailBaseline(before, "USD", {}, (), NOW, ("US", "DE"))
    found_now = {
        (w.marketplace, w.setting)
        for w in weakenings(baseline, after, ("US", "DE"), lambda code, sku: True)
    }

    def weaker(key: str) -> bool:
        was, now = before[key], after[key]
        if key.endswith(".level"):
            return LEVELS.index(now) < LEVELS.index(was)
        return int(now) > int(was)

    expected = {tuple(k.split(":", 1)) for k in after if weaker(k)}
    assert found_now == expected
    for item in weakenings(baseline, after, ("US", "DE"), lambda code, sku: True):
        assert isinstance(item, Weakening) and item.why


def test_an_approval_pins_the_weakened_value_it_was_reviewed_for(configs):
    sixty = approval("guardrail_weakening", approves='{value: "60"}')
    earlier = configs(files(approvals=(sixty,)))
    ninety = configs({**project_limits("max_discount_pct: 90"), **files(approvals=(sixty,))})
    verdicts = found(check_change(earlier, ninety), "guardrail_weakening")
    assert verdicts and all(v.outcome == "block" for v in verdicts)
    sixty_now = configs({**project_limits("max_discount_pct: 60"), **files(approvals=(sixty,))})
    verdicts = found(check_change(earlier, sixty_now), "guardrail_weakening")
    assert verdicts and all(v.outcome == "approved" for v in verdicts)
