"""Everything that lowers the lowest reachable price is guarded like a price: cost, fx rate,
tax delta, ending and floor edits are judged by their effect on the fields that bound what
a buyer pays, and a floor never falls in the same change as the price it protects."""

from __future__ import annotations

import textwrap
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.money import currency, quantize
from engine.desired.render import render
from tests.conftest import NOW
from tests.guardrails.conftest import HP_DE, HP_JP, HP_US, check_change, files, found, promotion
from tests.minimal_config import MINIMAL_FILES, edited

FIELDS = {
    "our price": "our_price",
    "minimum seller allowed price": "minimum_seller_allowed_price",
    "maximum seller allowed price": "maximum_seller_allowed_price",
}


def cost(amount: str) -> dict[str, str]:
    return edited("products/audio.yaml", 'amount: "20.00"', f'amount: "{amount}"')


def size_findings(report) -> set[tuple[str, str]]:
    """(address, field) of the change-size findings (not the fx-deviation ones)."""
    out = set()
    for verdict in found(report, "price_change_size"):
        head = verdict.message.split(" -> ", 1)[0]
        name = head.rsplit(" ", 1)[0]
        if " -> " in verdict.message and name in FIELDS:
            out.add((verdict.address, FIELDS[name]))
    return out


def test_the_issue_example_a_cost_typo_lowers_every_floor_of_the_product(configs):
    """18.50 typed 1.85 passed with no finding: it lowered the floor and the minimum seller
    allowed price in every marketplace. Now each minimum that falls is a price change."""
    report = check_change(configs(), configs(cost("2.00")))
    assert size_findings(report) == {
        (HP_US, "minimum_seller_allowed_price"),
        (HP_DE, "minimum_seller_allowed_price"),
        (HP_JP, "minimum_seller_allowed_price"),
    }
    messages = {v.address: v.message for v in found(report, "price_change_size")}
    assert messages[HP_US].startswith(
        "minimum seller allowed price 22.00 -> 2.20 USD (-90%) in one apply"
    )
    # DE clamps at its min_price: the fall is the size of its effect, not of the typo.
    assert messages[HP_DE].startswith("minimum seller allowed price 20.24 -> 10.00 EUR (-50.6%)")
    assert report.blocked


def test_blast_radius_counts_a_falling_minimum_as_a_price_change(configs):
    us = "marketplace: US\nguardrails:\n  blast_radius: {min_price_changes: 1}\n"
    before = configs({"marketplaces/US.yaml": us})
    report = check_change(before, configs({"marketplaces/US.yaml": us, **cost("2.00")}))
    [verdict] = found(report, "blast_radius")
    assert verdict.marketplace == "US"
    assert verdict.message.startswith("1 of 2 live listings change a price or price bound (50%)")


def test_a_rising_bound_is_not_a_fall(configs):
    report = check_change(configs(), configs(cost("25.00")))  # floors rise by 25 %
    assert not size_findings(report)
    de = textwrap.dedent(MINIMAL_FILES["marketplaces/DE.yaml"])
    higher_max = {"marketplaces/DE.yaml": de.replace('"500.00"', '"5000.00"')}
    assert not size_findings(check_change(configs(), configs(higher_max)))
    lower_max = {"marketplaces/DE.yaml": de.replace('"500.00"', '"100.00"')}
    assert size_findings(check_change(configs(), configs(lower_max))) == {
        (HP_DE, "maximum_seller_allowed_price"),
        ('listing.DE["SPK-1"]', "maximum_seller_allowed_price"),
    }


# -- generated edits: cost, fx rate, tax delta and ending, judged by their rendered effect --

edits = st.fixed_dictionaries(
    {
        "cost": st.sampled_from(["20.00", "18.50", "1.85", "2.00", "12.00", "30.00", "55.00"]),
        "eur": st.sampled_from(["0.9200", "0.9000", "0.6400", "0.0920", "1.2000"]),
        "tax": st.sampled_from(["3.00", "0.00", "-20.00", "9.00"]),
        "ending": st.sampled_from(['".99"', '".49"', '"9.99"', '".00"']),
    }
)


def _edited(edit: dict[str, str]) -> dict[str, str]:
    de = textwrap.dedent(MINIMAL_FILES["marketplaces/DE.yaml"])
    return {
        **cost(edit["cost"]),
        **edited("fx.yaml", 'EUR: "0.9200"', f'EUR: "{edit["eur"]}"'),
        "marketplaces/DE.yaml": de.replace('tax_delta: "3.00"', f'tax_delta: "{edit["tax"]}"'),
        **edited("project.yaml", 'ending: ".99"', f"ending: {edit['ending']}"),
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(edit=edits)
def test_generated_edits_are_judged_by_their_effect_on_each_price_field(configs, edit):
    """Oracle from the two renders alone: a field is flagged exactly when our price moves,
    or a minimum or maximum seller allowed price falls, by more than 30 %."""
    before, after = configs(), configs(_edited(edit))
    old, new = render(before, NOW).resources, render(after, NOW).resources
    expected = set()
    for address, resource in new.items():
        for name in FIELDS.values():
            was, now = getattr(old[address], name), getattr(resource, name)
            if was is None or now is None or was == now:
                continue
            change = (now - was) / was * 100
            falls_far = change < -30
            if falls_far or (name == "our_price" and change > 30):
                expected.add((address, name))
    assert size_findings(check_change(before, after)) == expected


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    cost_cents=st.integers(min_value=100, max_value=4000),
    percent=st.integers(min_value=1, max_value=95),
)
def test_a_floor_never_falls_in_the_same_change_as_the_price_it_protects(
    configs, cost_cents, percent
):
    """A coupon on US HP-100 (59.99) and a cost edit in one change: the floor that guards
    the coupon's price is the higher of the floor before (22.00, cost 20.00 + 10 %) and
    after. Checked against the lowered floor alone, a cost typo would let any coupon by."""
    new_cost = Decimal(cost_cents).scaleb(-2)
    coupon = promotion("SAVE", f"{{percent: {percent}}}")
    report = check_change(
        configs(), configs({**cost(f"{new_cost:f}"), **files(promotions=(coupon,))})
    )
    usd = currency("USD")
    lowest = quantize(Decimal("59.99") * (100 - percent) / 100, usd)
    floor_now = quantize(new_cost * Decimal("1.1"), usd)
    guard = max(floor_now, Decimal("22.00"))
    flagged = HP_US in {v.address for v in found(report, "price_floor")}
    assert flagged == (lowest < guard)
    if flagged and floor_now < Decimal("22.00") and lowest >= floor_now:
        [verdict] = [v for v in found(report, "price_floor") if v.address == HP_US]
        assert "below the floor it had, 22.00 USD: this same change lowers its floor" in (
            verdict.message
        )
        assert verdict.promotions == ("SAVE",)
