"""Floor, discount, duration and unit-cap rules on the minimal config: HP-100 costs 20.00 USD
and renders at 59.99 USD, 57.99 EUR (DE) and 8980 JPY (JP); the floor is cost + 10 %."""

import pytest

from tests.guardrails.conftest import HP_DE, HP_JP, HP_US, check, files, found, promotion, sale

US_FILE = """\
    marketplace: US
    promotion_limits:
      max_units_at_promo_price: 5
    """


def test_a_99_percent_coupon_is_a_hard_block_on_the_floor(make_config):
    report = check(make_config(files(promotions=(promotion("OOPS", "{percent: 99}"),))))
    [verdict] = found(report, "price_floor")
    assert (verdict.address, verdict.level, verdict.outcome) == (HP_US, "hard-mandatory", "block")
    assert "0.60 USD" in verdict.message and "below the floor 22.00 USD" in verdict.message
    assert "coupon OOPS (99% off)" in verdict.message
    assert report.blocked


def test_the_plan_without_promotions_passes_the_floor(make_config):
    report = check(make_config())
    assert not found(report, "price_floor")
    assert [v.outcome for v in report.verdicts if v.rule == "price_floor"] == ["pass"]


@pytest.mark.parametrize(
    ("coupon", "blocked"),
    [("50", False), ("60", True)],  # 46.39 EUR sale less 50 % = 23.20; less 60 % = 18.56
)
def test_euro_floor_stacks_the_sale_and_an_overlapping_coupon(make_config, coupon, blocked):
    config = make_config(
        files(
            sales=(sale("bf", "discount_pct: 20", marketplaces="[DE]"),),
            promotions=(promotion("C", f"{{percent: {coupon}}}", marketplaces="[DE]"),),
        )
    )
    verdicts = found(check(config), "price_floor")
    assert [v.address for v in verdicts] == ([HP_DE] if blocked else [])
    if blocked:
        assert "18.56 EUR" in verdicts[0].message and "20.24 EUR" in verdicts[0].message


@pytest.mark.parametrize(("coupon", "blocked"), [("62", False), ("64", True)])
def test_yen_floor_in_whole_yen(make_config, coupon, blocked):
    # 8980 less 62 % = 3412 yen; less 64 % = 3233 yen; floor 20.00 x 150 x 1.1 = 3300 yen.
    config = make_config(
        files(promotions=(promotion("C", f"{{percent: {coupon}}}", marketplaces="[JP]"),))
    )
    verdicts = found(check(config), "price_floor")
    assert [v.address for v in verdicts] == ([HP_JP] if blocked else [])
    if blocked:
        assert "3233 JPY" in verdicts[0].message and "3300 JPY" in verdicts[0].message


def test_a_floor_amount_set_on_the_marketplace_wins(make_config):
    de = """\
        marketplace: DE
        currency: EUR
        pricing: {tax_delta: "3.00", min_price: "10.00", max_price: "500.00"}
        promotion_limits:
          floor: {amount: "30.00"}
        """
    coupon = promotion("C", "{percent: 40}", marketplaces="[DE, US]")
    report = check(make_config({"marketplaces/DE.yaml": de, **files(promotions=(coupon,))}))
    # DE: 57.99 less 40 % = 34.79 >= 30.00 passes; US 35.99 >= 22.00 passes too.
    assert not found(report, "price_floor")
    deeper = promotion("C", "{percent: 50}", marketplaces="[DE]")
    report = check(make_config({"marketplaces/DE.yaml": de, **files(promotions=(deeper,))}))
    [verdict] = found(report, "price_floor")
    assert "29.00 EUR" in verdict.message and "30.00 EUR (floor amount)" in verdict.message


@pytest.mark.parametrize(("coupon", "flagged"), [("35", False), ("40", False), ("45", True)])
def test_max_discount_against_our_price(make_config, coupon, flagged):
    config = make_config(files(promotions=(promotion("C", f"{{percent: {coupon}}}"),)))
    verdicts = found(check(config), "max_discount")
    assert [(v.address, v.outcome) for v in verdicts] == ([(HP_US, "block")] if flagged else [])
    if flagged:
        assert verdicts[0].message.startswith("45% off our price 59.99 USD")
        assert verdicts[0].message.endswith("the limit is 40%")


def test_max_discount_counts_the_stack_not_each_part(make_config):
    # 30 % sale then a 15 % coupon on the sale price: 45 % off our price in all.
    config = make_config(
        files(
            sales=(sale("s", "discount_pct: 30"),),
            promotions=(promotion("C", "{percent: 15}"),),
        )
    )
    [verdict] = found(check(config), "max_discount")
    assert "sale s" in verdict.message and "coupon C" in verdict.message


@pytest.mark.parametrize(
    ("end", "flagged"),
    [
        ("2026-12-26T00:00:00Z", False),
        ("2027-01-05T00:00:00Z", True),
        ("2099-01-01T00:00:00Z", True),
    ],
)
def test_promotions_must_end_within_the_maximum_duration(make_config, end, flagged):
    # Starts 2026-11-25; the default maximum is 31 days.
    config = make_config(files(promotions=(promotion("LONG", "{percent: 5}", end=end),)))
    verdicts = found(check(config), "promotion_duration")
    assert [v.address for v in verdicts] == ([HP_US] if flagged else [])
    if flagged:
        assert "coupon LONG" in verdicts[0].message and "31-day maximum" in verdicts[0].message


def test_sales_are_held_to_the_duration_too_and_ended_ones_are_not(make_config):
    long_sale = sale("forever", 'price: "49.99"', end="2027-06-01T00:00:00Z")
    over = sale(
        "over",
        'price: "39.99"',
        start="2026-01-01T00:00:00Z",
        end="2026-11-01T00:00:00Z",
        marketplaces="[DE]",
    )
    verdicts = found(check(make_config(files(sales=(long_sale, over)))), "promotion_duration")
    assert [v.address for v in verdicts] == [HP_US]
    assert "sale forever (sale price 49.99) runs 188 days" in verdicts[0].message


def test_mfn_quantity_is_capped_while_a_promotion_is_upcoming(make_config):
    coupon = promotion("C", "{percent: 10}", marketplaces="[US, DE]", skus="[HP-100, SPK-1]")
    report = check(make_config({"marketplaces/US.yaml": US_FILE, **files(promotions=(coupon,))}))
    # US caps at 5 (its file) and holds 10; DE keeps the default cap of 50; SPK-1 is FBA.
    [verdict] = found(report, "promo_units_cap")
    assert verdict.address == HP_US
    assert verdict.message.startswith("MFN quantity 10 while coupon C (10% off) runs from")
    assert verdict.message.endswith("at most 5 units may be offered at a promotional price")


def test_no_cap_without_a_promotion(make_config):
    assert not found(check(make_config({"marketplaces/US.yaml": US_FILE})), "promo_units_cap")


def test_listing_limits_of_its_own_are_not_shared_with_the_marketplace(make_config):
    # Both products get the same 45 % coupon in DE. HP-100's override allows 50 % and sets a
    # 20.00 EUR floor amount; SPK-1 inherits DE's limits (40 %, cost + 10 %). Limits looked up
    # once per marketplace must not leak between the two, in either order.
    de = """\
        marketplace: DE
        currency: EUR
        pricing: {tax_delta: "3.00", min_price: "10.00", max_price: "500.00"}
        overrides:
          HP-100:
            promotion_limits: {max_discount_pct: 50, floor: {amount: "20.00"}}
        """
    coupon = promotion("C", "{percent: 45}", marketplaces="[DE]", skus="[HP-100, SPK-1]")
    report = check(make_config({"marketplaces/DE.yaml": de, **files(promotions=(coupon,))}))
    spk_de = 'listing.DE["SPK-1"]'
    assert [v.address for v in found(report, "max_discount")] == [spk_de]
    # HP-100: 57.99 EUR less 45 % = 31.89, above its own 20.00 floor and under no other.
    assert [v.address for v in found(report, "price_floor")] == []
    deeper = promotion("C", "{percent: 70}", marketplaces="[DE]", skus="[HP-100, SPK-1]")
    report = check(make_config({"marketplaces/DE.yaml": de, **files(promotions=(deeper,))}))
    floors = {v.address: v.message for v in found(report, "price_floor")}
    # 57.99 less 70 % = 17.40 < 20.00 (floor amount); SPK-1: 94.99 less 70 % = 28.50, under
    # cost 30.00 USD x 0.92 + 10 % = 30.36 EUR.
    assert "20.00 EUR (floor amount)" in floors[HP_DE]
    assert "30.36 EUR (cost 30.00 USD + 10%)" in floors[spk_de]
