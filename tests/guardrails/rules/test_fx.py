"""fx rates: checked against the rate the last apply priced with and a plausible band per
currency pair, over every pair and generated rate edits."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.guardrails.rules.fx import PLAUSIBLE_PER_USD, plausible_band
from tests.guardrails.conftest import HP_DE, check_change, found
from tests.minimal_config import edited

PAIRS = list(itertools.permutations(PLAUSIBLE_PER_USD, 2))


def _middle(base: str, quote: str) -> Decimal:
    low, high = plausible_band(base, quote)  # type: ignore[misc]
    return (low * high).sqrt()


@pytest.mark.parametrize(("base", "quote"), PAIRS, ids=[f"{b}-{q}" for b, q in PAIRS])
def test_a_slipped_digit_leaves_every_pairs_band(base, quote):
    low, high = plausible_band(base, quote)  # type: ignore[misc]
    middle = _middle(base, quote)
    assert low <= middle <= high
    assert middle * 10 > high and middle / 10 < low


def test_todays_rates_of_the_demo_and_the_tests_are_plausible():
    for quote, rate in {
        "CAD": "1.4041",
        "MXN": "18.4328",
        "GBP": "0.7619",
        "EUR": "0.8649",
        "JPY": "154.2986",
    }.items():
        low, high = plausible_band("USD", quote)  # type: ignore[misc]
        assert low <= Decimal(rate) <= high, quote


def fx_rates(eur: str, jpy: str = "150.00") -> dict[str, str]:
    return edited("fx.yaml", 'EUR: "0.9200"\n  JPY: "150.00"', f'EUR: "{eur}"\n  JPY: "{jpy}"')


def test_the_issue_example_a_rate_a_tenth_of_its_value(configs):
    """EUR 0.92 typed 0.092: the rate itself is flagged, the price check measures against
    the rate the last apply priced with (and says the price is too low, not too high), and
    the floor the listing had still guards the price."""
    report = check_change(configs(), configs(fx_rates("0.0920")))
    [rate] = found(report, "fx_rate")
    assert (rate.marketplace, rate.outcome, rate.value) == ("DE", "block", "0.0920")
    assert "outside the plausible band 0.55-1.35 EUR per USD" in rate.message
    assert "-90% from 0.9200, the rate the last apply priced with (limit ±10%)" in rate.message
    prices = {v.message for v in found(report, "price_change_size") if v.address == HP_DE}
    assert any(
        m.startswith(
            "our price 10.00 EUR is -82.8% from the base price 59.99 USD × 0.9200 "
            "(rate the last apply priced with) + 3.00 = 58.19 EUR"
        )
        for m in prices
    ), prices
    [floor] = [v for v in found(report, "price_floor") if v.address == HP_DE]
    assert "below the floor it had, 20.24 EUR: this same change lowers its floor to 2.02 EUR" in (
        floor.message
    )
    assert (floor.level, floor.outcome) == ("hard-mandatory", "block")


def test_without_a_recorded_rate_only_the_band_is_checked_and_the_plan_says_so(configs):
    report = check_change(configs(), configs(fx_rates("0.8500")), baseline=None)
    [unknown] = found(report, "fx_rate")
    assert (unknown.outcome, unknown.scope) == ("warn", "plan")
    assert "fx rates not compared with the last applied ones" in unknown.message
    report = check_change(configs(), configs(fx_rates("9.2000")), baseline=None)
    assert {v.marketplace for v in found(report, "fx_rate") if v.outcome == "block"} == {"DE"}


factors = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("20"), places=3).filter(
    lambda f: f > 0
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(eur_factor=factors, jpy_factor=factors)
def test_generated_rate_edits_are_flagged_exactly_when_implausible_or_moved_too_far(
    configs, eur_factor, jpy_factor
):
    eur = (Decimal("0.9200") * eur_factor).quantize(Decimal("0.0001"))
    jpy = (Decimal("150.00") * jpy_factor).quantize(Decimal("0.01"))
    report = check_change(configs(), configs(fx_rates(f"{eur:f}", f"{jpy:f}")))
    flagged = {v.marketplace for v in found(report, "fx_rate")}

    def wrong(rate: Decimal, was: Decimal, quote: str) -> bool:
        low, high = plausible_band("USD", quote)  # type: ignore[misc]
        return not low <= rate <= high or abs(rate - was) / was * 100 > 10

    expected = {"DE"} if wrong(eur, Decimal("0.92"), "EUR") else set()
    expected |= {"JP"} if wrong(jpy, Decimal("150"), "JPY") else set()
    assert flagged == expected
