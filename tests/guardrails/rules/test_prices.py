"""Price change size and allowed price bounds, over the changes a plan writes."""

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.core.resource import Resource
from engine.desired.render import render
from engine.guardrails.evaluate import evaluate
from engine.plan.diff import diff
from tests.conftest import NOW
from tests.guardrails.conftest import HP_DE, HP_JP, HP_US, check, found, live_price

US_OVERRIDE = """\
    marketplace: US
    overrides:
      HP-100: {our_price: "1.99"}
    """
JP_OVERRIDE = """\
    marketplace: JP
    pricing: {ending: "80", tax_delta: "0"}
    overrides:
      HP-100: {our_price: "60"}
    """
DE_BOUNDS = """\
    marketplace: DE
    pricing: {tax_delta: "3.00", min_price: "%s", max_price: "500.00"}
    """


def empty_live(live: dict[str, Resource]) -> None:
    live.clear()


@pytest.mark.parametrize(("live", "flagged"), [("62.00", False), ("45.00", True)])
def test_a_price_change_beyond_the_limit_needs_approval(make_config, live, flagged):
    # 62.00 -> 59.99 is -3.2 %; 45.00 -> 59.99 is +33.3 %, beyond the default 30 %.
    verdicts = found(check(make_config(), live_price(HP_US, live)), "price_change_size")
    assert [(v.address, v.outcome) for v in verdicts] == ([(HP_US, "block")] if flagged else [])
    if flagged:
        assert "our price 45.00 -> 59.99 USD (+33.3%) in one apply" in verdicts[0].message


def test_a_decimal_slip_trips_both_checks(make_config):
    config = make_config({"marketplaces/US.yaml": US_OVERRIDE})
    verdicts = found(check(config, live_price(HP_US, "199.00")), "price_change_size")
    messages = [v.message for v in verdicts]
    assert len(messages) == 2 and {v.address for v in verdicts} == {HP_US}
    assert "our price 199.00 -> 1.99 USD (-99%) in one apply" in messages[0]
    assert (
        "is -96.7% from the base price 59.99 USD × 1 (fx.yaml rate) + 0 = 59.99 USD" in messages[1]
    )


def test_a_dollar_price_in_the_yen_marketplace_is_caught_on_create(make_config):
    verdicts = found(
        check(make_config({"marketplaces/JP.yaml": JP_OVERRIDE}), empty_live), "price_change_size"
    )
    [verdict] = verdicts
    assert verdict.address == HP_JP
    assert (
        "our price 60 JPY is -99.3% from the base price 59.99 USD × 150.00 (fx.yaml rate) + 0 "
        "= 8999 JPY" in verdict.message
    )


def test_prices_near_the_converted_base_price_pass(make_config):
    assert not found(check(make_config(), empty_live), "price_change_size")


def test_offers_without_a_maximum_are_flagged(make_config):
    report = check(make_config(), empty_live)
    verdicts = found(report, "allowed_price_bounds")
    by_address = {v.address: v for v in verdicts if "HP-100" in (v.address or "")}
    # Rendering derives every minimum from the floor; US and JP set no max_price.
    assert set(by_address) == {HP_US, HP_JP}
    assert all(v.level == "advisory" and v.outcome == "warn" for v in by_address.values())
    assert by_address[HP_US].message.startswith(
        "no maximum_seller_allowed_price: Amazon cannot suppress a wrong price"
    )
    assert not report.blocked


def test_a_minimum_under_the_floor_is_flagged(make_config):
    # Rendering never writes one (it takes the higher of min_price and the floor), but a
    # plan file is data: the rule still checks what a change would write.
    config = make_config()
    desired = render(config, NOW)
    lowered = replace(desired.resources[HP_DE], minimum_seller_allowed_price=Decimal("10.00"))
    live = dict(desired.resources)
    wanted = {**desired.resources, HP_DE: lowered}
    report = evaluate(diff(wanted, live), config, desired, now=NOW)
    [verdict] = found(report, "allowed_price_bounds")
    assert verdict.address == HP_DE
    assert "minimum seller allowed price 10.00 EUR is below the floor 20.24 EUR" in (
        verdict.message
    )


def test_only_written_offers_are_checked(make_config):
    report = check(make_config(), live_price(HP_US, "57.00"))
    assert [v.address for v in found(report, "allowed_price_bounds")] == [HP_US]
    assert not found(check(make_config()), "allowed_price_bounds")


def test_a_minimum_at_the_floor_passes(make_config):
    config = make_config({"marketplaces/DE.yaml": DE_BOUNDS % "20.24"})
    assert not found(check(config, live_price(HP_DE, "57.00")), "allowed_price_bounds")
