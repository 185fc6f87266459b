from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.money import (
    CURRENCIES,
    MoneyError,
    PriceEnding,
    apply_ending,
    currency,
    quantize,
    to_decimal,
)

EUR, JPY = currency("EUR"), currency("JPY")


def test_minor_units_follow_iso_4217():
    assert EUR.quantum == Decimal("0.01")
    assert JPY.quantum == Decimal("1")


@pytest.mark.parametrize("value", [1.5, True, "nan", "inf", "abc", None])
def test_to_decimal_rejects_inexact_or_non_numbers(value):
    with pytest.raises(MoneyError):
        to_decimal(value)


def test_to_decimal_reads_text_exactly():
    assert to_decimal("0.1") + to_decimal("0.2") == Decimal("0.3")


def test_quantize_rounds_half_up():
    assert quantize(Decimal("2.345"), EUR) == Decimal("2.35")
    assert quantize(Decimal("8998.5"), JPY) == Decimal("8999")


@pytest.mark.parametrize(
    ("amount", "ending", "mode", "expected"),
    [
        ("58.19", ".99", "nearest", "57.99"),
        ("58.50", ".99", "nearest", "58.99"),  # tie (49 cents each way) goes up
        ("58.19", ".99", "up", "58.99"),
        ("58.19", ".99", "down", "57.99"),
        ("57.99", ".99", "down", "57.99"),  # already ends in .99
        ("0.20", ".99", "nearest", "0.99"),  # never zero or negative
        ("12.34", ".95", "nearest", "11.95"),
    ],
)
def test_charm_endings_in_two_decimal_currencies(amount, ending, mode, expected):
    assert apply_ending(Decimal(amount), EUR, PriceEnding.parse(ending, EUR), mode) == Decimal(
        expected
    )


@pytest.mark.parametrize(
    ("amount", "ending", "expected"),
    [("8999", "80", "8980"), ("9031", "80", "9080"), ("9030", "80", "9080"), ("1234", "0", "1230")],
)
def test_yen_endings_are_whole_yen(amount, ending, expected):
    assert apply_ending(Decimal(amount), JPY, PriceEnding.parse(ending, JPY)) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (".99", "JPY", "0 decimal place"),
        ("99", "EUR", "must include the decimal point"),
        (".9", "EUR", "exactly 2 decimal place"),
        ("x9", "EUR", "must be digits"),
    ],
)
def test_invalid_endings_say_why(text, code, message):
    with pytest.raises(MoneyError, match=message):
        PriceEnding.parse(text, currency(code))


two_decimal_amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2, allow_nan=False
)


@given(
    two_decimal_amounts,
    st.sampled_from([".99", ".95", ".00", "9.99"]),
    st.sampled_from(["nearest", "up", "down"]),
)
def test_ending_is_idempotent_and_positive(amount, ending_text, mode):
    ending = PriceEnding.parse(ending_text, EUR)
    once = apply_ending(amount, EUR, ending, mode)
    assert apply_ending(once, EUR, ending, mode) == once
    assert once > 0
    assert int(once * 100) % ending.modulus == ending.residue


@given(
    st.decimals(min_value=1, max_value=10**7, places=0, allow_nan=False),
    st.sampled_from(["80", "0", "800"]),
)
def test_yen_ending_is_idempotent(amount, ending_text):
    ending = PriceEnding.parse(ending_text, JPY)
    once = apply_ending(amount, JPY, ending)
    assert apply_ending(once, JPY, ending) == once
    assert once == once.to_integral_value()


@given(
    st.decimals(
        min_value=Decimal("-1000"),
        max_value=Decimal("1000"),
        allow_nan=False,
        allow_infinity=False,
        places=6,
    ),
    st.sampled_from(sorted(CURRENCIES)),
)
def test_quantize_is_idempotent(amount, code):
    cur = currency(code)
    assert quantize(quantize(amount, cur), cur) == quantize(amount, cur)
