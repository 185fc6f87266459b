"""Decimal money: currencies, minor units, rounding and price endings.

Money never touches float. Amounts are `decimal.Decimal` quantized to the currency's
ISO 4217 minor unit (JPY has none). Price endings ("charm" pricing such as .99, or JPY
prices ending in 80) are applied in minor units so the same code serves every currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

RoundingMode = Literal["nearest", "up", "down"]


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    minor_unit: int  # number of decimal places (ISO 4217 exponent)
    quantum: Decimal = field(init=False, compare=False, repr=False)  # 0.01, or 1 for JPY

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantum", Decimal(1).scaleb(-self.minor_unit))


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("USD", 2),
        Currency("CAD", 2),
        Currency("MXN", 2),
        Currency("BRL", 2),
        Currency("GBP", 2),
        Currency("EUR", 2),
        Currency("SEK", 2),
        Currency("PLN", 2),
        Currency("TRY", 2),
        Currency("AED", 2),
        Currency("SAR", 2),
        Currency("EGP", 2),
        Currency("INR", 2),
        Currency("ZAR", 2),
        Currency("JPY", 0),
        Currency("AUD", 2),
        Currency("SGD", 2),
    )
}


class MoneyError(ValueError):
    """An amount or price ending that cannot be used for a currency."""


def currency(code: str) -> Currency:
    try:
        return CURRENCIES[code]
    except KeyError:
        raise MoneyError(f"unknown currency {code!r}") from None


def to_decimal(value: object) -> Decimal:
    """Convert a config value (Decimal, int or numeric string) to Decimal; never from float."""
    if isinstance(value, bool | float):
        raise MoneyError(f"{value!r} is not an exact amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not an amount") from None
    else:
        raise MoneyError(f"{value!r} is not an amount")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    return result


def quantize(amount: Decimal, cur: Currency) -> Decimal:
    """Round half-up to the currency's minor unit."""
    return amount.quantize(cur.quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class PriceEnding:
    """The last digits a price must end in, expressed in minor units.

    ".99" in EUR means minor units ≡ 99 (mod 100); "9.99" means ≡ 999 (mod 1000);
    "80" in JPY means yen ≡ 80 (mod 100); "0" in JPY means a multiple of 10.
    """

    text: str
    residue: int
    modulus: int

    @classmethod
    def parse(cls, text: str, cur: Currency) -> PriceEnding:
        whole, _, fraction = text.partition(".")
        if not (whole.isdigit() or whole == "") or not (fraction.isdigit() or fraction == ""):
            raise MoneyError(f"price ending {text!r} must be digits such as '.99' or '80'")
        if "." in text and len(fraction) != cur.minor_unit:
            raise MoneyError(
                f"price ending {text!r} needs exactly {cur.minor_unit} decimal place(s) "
                f"for {cur.code}"
            )
        if "." not in text and cur.minor_unit:
            # "99" for a 2-decimal currency is ambiguous (99 cents or 99 units): ask for ".99".
            raise MoneyError(
                f"price ending {text!r} for {cur.code} must include the decimal point, e.g. '.99'"
            )
        digits = whole + fraction
        if not digits:
            raise MoneyError("price ending is empty")
        return cls(text=text, residue=int(digits), modulus=10 ** len(digits))


def apply_ending(
    amount: Decimal, cur: Currency, ending: PriceEnding, mode: RoundingMode = "nearest"
) -> Decimal:
    """Move a price to a nearby value with the given ending.

    nearest: the closer of the candidates below and above (ties go up);
    up: the smallest at or above; down: the largest at or below.
    A result is never zero or negative: a price below the first candidate goes up.
    Idempotent: a price that already has the ending is returned unchanged.
    """
    minor = int(quantize(amount, cur).scaleb(cur.minor_unit))
    below = minor - ((minor - ending.residue) % ending.modulus)
    above = below if below == minor else below + ending.modulus
    if mode == "up":
        chosen = above
    elif mode == "down":
        chosen = below
    else:
        chosen = below if (minor - below) < (above - minor) else above
    if chosen <= 0:
        chosen = above if above > 0 else above + ending.modulus
    return Decimal(chosen).scaleb(-cur.minor_unit)


def format_amount(amount: Decimal, cur: Currency) -> str:
    return f"{quantize(amount, cur):f}"
