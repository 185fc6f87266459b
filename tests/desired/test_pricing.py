from decimal import Decimal

from engine.core.money import currency
from engine.desired.pricing import price_rule, sale_price_from_discount, target_price


def test_usd_to_eur_with_tax_delta_and_charm_ending():
    rule = price_rule("EUR", Decimal("3.00"), ".99", "nearest", None, None)
    steps = target_price(Decimal("59.99"), Decimal("0.9200"), rule)
    # 59.99 × 0.92 = 55.1908; + 3.00 = 58.1908 → 58.19 → nearest .99 is 57.99
    assert steps.converted == Decimal("58.190800")
    assert steps.rounded == Decimal("58.19")
    assert steps.final == Decimal("57.99")


def test_jpy_has_no_minor_unit_and_ends_in_80():
    rule = price_rule("JPY", Decimal("0"), "80", "nearest", None, None)
    steps = target_price(Decimal("59.99"), Decimal("150.00"), rule)
    assert steps.rounded == Decimal("8999")
    assert steps.final == Decimal("8980")
    assert steps.final.as_tuple().exponent == 0


def test_jpy_ending_zero_rounds_to_tens():
    rule = price_rule("JPY", None, "0", "up", None, None)
    assert target_price(Decimal("10.01"), Decimal("150.1"), rule).final == Decimal("1510")


def test_bounds_clamp_after_the_ending():
    rule = price_rule("EUR", None, ".99", "nearest", Decimal("20"), Decimal("50"))
    assert target_price(Decimal("10.00"), Decimal("1"), rule).final == Decimal("20.00")
    assert target_price(Decimal("80.00"), Decimal("1"), rule).final == Decimal("50.00")
    assert target_price(Decimal("30.00"), Decimal("1"), rule).final == Decimal("29.99")


def test_no_ending_keeps_the_rounded_price():
    rule = price_rule("GBP", Decimal("1.50"), None, "nearest", None, None)
    assert target_price(Decimal("10.005"), Decimal("1"), rule).final == Decimal("11.51")


def test_sale_price_from_percentage_rounds_half_up():
    assert sale_price_from_discount(Decimal("57.99"), Decimal("20"), currency("EUR")) == Decimal(
        "46.39"
    )
    assert sale_price_from_discount(Decimal("8980"), Decimal("15"), currency("JPY")) == Decimal(
        "7633"
    )
