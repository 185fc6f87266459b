from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from engine.config.model import Money
from engine.core.money import currency
from engine.guardrails.stacking import Discount, floor_price, lowest_price
from tests.conftest import NOW

USD, EUR, JPY = currency("USD"), currency("EUR"), currency("JPY")


def window(days_from_now: int, days: int) -> tuple[datetime, datetime]:
    start = NOW + timedelta(days=days_from_now)
    return start, start + timedelta(days=days)


def sale(price: str, days_from_now: int = 1, days: int = 5) -> Discount:
    return Discount("sale", "s", *window(days_from_now, days), sale_price=Decimal(price))


def percent(value: str, days_from_now: int = 1, days: int = 5) -> Discount:
    return Discount("coupon", f"c{value}", *window(days_from_now, days), percent=Decimal(value))


def amount(value: str, days_from_now: int = 1, days: int = 5) -> Discount:
    return Discount("promo_code", "p", *window(days_from_now, days), amount=Decimal(value))


def test_without_discounts_the_lowest_price_is_our_price_now():
    low = lowest_price(Decimal("59.99"), USD, (), NOW)
    assert (low.price, low.at, low.stacked) == (Decimal("59.99"), NOW, ())


def test_promotions_stack_on_the_sale_price_and_percentages_add_up():
    # 47.99 x (1 - 0.10 - 0.05) - 5.00 = 35.7915: the sum, not (0.9 x 0.95) = 36.02.
    stack = (sale("47.99"), percent("10"), percent("5"), amount("5.00"))
    low = lowest_price(Decimal("59.99"), USD, stack, NOW)
    assert low.price == Decimal("35.79")
    assert low.at == NOW + timedelta(days=1)
    assert set(low.stacked) == set(stack)


def test_only_overlapping_windows_stack():
    # The sale ends before the coupon starts: each is reached alone, the deeper one wins.
    stack = (sale("50.00", 1, 2), percent("30", 5, 2))
    low = lowest_price(Decimal("60.00"), USD, stack, NOW)
    assert low.price == Decimal("42.00")  # 60.00 - 30 %, not 50.00 - 30 % = 35.00
    assert [d.kind for d in low.stacked] == ["coupon"]


def test_running_and_ended_windows_count_from_now_only():
    running = Discount(
        "coupon", "now", NOW - timedelta(days=1), NOW + timedelta(hours=1), percent=Decimal("20")
    )
    low = lowest_price(Decimal("100.00"), USD, (running,), NOW)
    assert (low.price, low.at) == (Decimal("80.00"), NOW)


def test_a_stack_beyond_the_price_reaches_zero_not_below():
    low = lowest_price(Decimal("10.00"), USD, (percent("80"), amount("5.00")), NOW)
    assert low.price == Decimal("0.00")


@pytest.mark.parametrize(
    ("cur", "price", "pct", "expected"),
    [
        (EUR, "46.39", "60", Decimal("18.56")),  # 18.556, half-up to cents
        (JPY, "8980", "67", Decimal("2963")),  # 2963.4, whole yen
        (JPY, "8980", "67.5", Decimal("2919")),  # 2918.5 rounds half-up
    ],
)
def test_results_round_to_the_currency_minor_unit(cur, price, pct, expected):
    low = lowest_price(Decimal(price), cur, (percent(pct),), NOW)
    assert low.price == expected
    assert low.price.as_tuple().exponent == -cur.minor_unit


@pytest.mark.parametrize(
    ("code", "expected"),
    [("USD", Decimal("22.00")), ("EUR", Decimal("20.24")), ("JPY", Decimal("3300"))],
)
def test_cost_plus_margin_floor_converts_the_usd_cost(make_config, code, expected):
    config = make_config()
    floor = floor_price(
        {"cost_plus_margin_pct": 10}, config.products["HP-100"], config.fx, currency(code)
    )
    assert floor.price == expected  # 20.00 USD x rate x 1.10
    assert floor.basis == "cost 20.00 USD + 10%"


def test_a_cost_in_euro_goes_through_the_base_currency(make_config):
    config = make_config()
    product = config.products["HP-100"]
    product = replace(product, cost=Money(Decimal("18.40"), "EUR"))  # 20.00 USD at 0.92
    floor = floor_price({"cost_plus_margin_pct": 10}, product, config.fx, JPY)
    assert floor.price == Decimal("3300")


def test_an_amount_floor_is_taken_as_written_in_the_marketplace_currency(make_config):
    config = make_config()
    floor = floor_price({"amount": "25.5"}, config.products["HP-100"], config.fx, EUR)
    assert (floor.price, floor.basis) == (Decimal("25.50"), "floor amount")
