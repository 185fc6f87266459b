from dataclasses import replace
from decimal import Decimal

from engine.guardrails.verdict import Verdict
from engine.plan.diff import diff
from engine.plan.text import render_text
from tests.guardrails.conftest import APPROVED, BLOCK, WARN


def test_text_plan_reads_like_terraform(make_config_cached):
    desired = make_config_cached
    live = dict(desired)
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    del live['listing.JP["SPK-1"]']
    stray = replace(desired['listing.US["HP-100"]'], sku="OLD-1")
    live[stray.address] = stray
    text = render_text(diff(desired, live, prune=lambda m, s: s == "OLD-1"))
    lines = text.splitlines()
    assert '  # listing.DE["HP-100"] will be updated in-place' in lines
    assert "      ~ our_price = 59.99 EUR -> 57.99 EUR" in lines
    assert '  # listing.JP["SPK-1"] will be created' in lines
    assert '  # listing.US["OLD-1"] will be DELETED' in lines
    # The delete is listed before anything else.
    assert text.index("OLD-1") < text.index('listing.DE["HP-100"]')
    assert lines[-1] == "Plan: 1 to add, 1 to change, 1 to delete."


def test_no_changes_says_so(make_config_cached):
    text = render_text(diff(make_config_cached, dict(make_config_cached)))
    assert text == "No changes. Live listings match the configuration."


def test_verdicts_come_first_blocks_before_warnings_with_the_approval(make_config_cached):
    desired = make_config_cached
    live = dict(desired)
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    pass_ = Verdict("max_discount", "soft-mandatory", "pass", "no stacked discount too deep")
    text = render_text(diff(desired, live), verdicts=(WARN, pass_, APPROVED, BLOCK))
    lines = text.splitlines()
    assert lines[0] == (
        "Guardrails: 1 blocked, 1 approved, 1 warnings, 1 passed. sync apply will refuse this "
        "plan until every block is fixed or approved."
    )
    assert text.index("BLOCK") < text.index("APPROVED") < text.index("WARN")
    assert text.index("WARN") < text.index("sellersync will perform the following actions")
    assert '  BLOCK    price_floor (hard-mandatory) listing.US["HP-100"]' in lines
    assert (
        "           approved (value 59.99) by maria.keller until 2026-11-24T12:00Z: Launch price"
        in lines
    )
    assert "  PASS     max_discount" in lines


def test_many_warnings_of_one_rule_are_counted_not_listed(make_config_cached):
    warnings = [
        Verdict("allowed_price_bounds", "advisory", "warn", f"no minimum {i}", "US")
        for i in range(25)
    ]
    text = render_text(diff(make_config_cached, dict(make_config_cached)), verdicts=warnings)
    assert text.count("WARN") == 10
    assert "  ... and 15 more allowed_price_bounds warning(s); the plan file lists them all" in text
    assert text.endswith("No changes. Live listings match the configuration.")


SOFT_BLOCK = Verdict(
    "price_change_size",
    "soft-mandatory",
    "block",
    "our price 1999.00 -> 19.99 USD (-99%) in one apply",
    "US",
    'listing.US["ACC-CASE-HP"]',
    fingerprint="3f9c2a1b7e04",
    value="19.99",
)


def test_an_approvable_block_says_what_an_approval_must_pin(make_config_cached):
    text = render_text(diff(make_config_cached, dict(make_config_cached)), verdicts=(SOFT_BLOCK,))
    assert (
        '           to approve exactly this: approves: {fingerprint: "3f9c2a1b7e04"} or '
        '{value: "19.99"}'
    ) in text.splitlines()
    # A hard-mandatory block takes no approval, so no hint.
    assert "to approve" not in render_text(
        diff(make_config_cached, dict(make_config_cached)),
        verdicts=(replace(BLOCK, fingerprint="0123456789ab"),),
    )


def test_a_blocked_declared_promotion_is_not_left_at_no_changes(make_config_cached):
    """Declaring a promotion changes no listing: the plan must not read as "nothing to do"
    but tell the seller not to create the promotion in Seller Central as declared."""
    floor = replace(BLOCK, promotions=("OOPS-99",), fingerprint="0123456789ab")
    text = render_text(diff(make_config_cached, dict(make_config_cached)), verdicts=(floor,))
    lines = text.splitlines()
    assert "No changes. Live listings match the configuration." not in lines
    assert lines[-2] == "No listing changes. Live listings match the configuration."
    assert lines[-1].startswith(
        "Do not create promotion OOPS-99 in Seller Central as declared: the guardrails block it"
    )
    assert "sellersync cannot create or stop a Seller Central promotion" in lines[-1]
    # An approved or warned promotion needs no such line.
    fine = replace(floor, outcome="warn", level="advisory")
    text = render_text(diff(make_config_cached, dict(make_config_cached)), verdicts=(fine,))
    assert text.endswith("No changes. Live listings match the configuration.")
