"""Exchange rates: the one number in fx.yaml that reprices, and re-floors, a whole currency.

A rate a tenth of its value lowers every price in that currency and, since floors given as
cost plus a margin convert through the same rate, every floor with it: the floor rule
cannot fire on a rate typo. So the rate itself is checked, against what it was (the rate
the last successful apply priced with, engine.guardrails.baseline) and against a band of
values it can plausibly take.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from engine.guardrails.rules.base import Finding, Inputs, Rule, percent_text
from engine.guardrails.stacking import HUNDRED

# Units of each currency per 1 USD that a correct rate stays within: several years of moves
# either side of the late-2025 rates (pegged currencies tightly). Cross pairs are derived
# from these, and each pair's band stays under a hundredfold wide, so that a slipped digit
# (×10, ÷10) of a rate in the middle of its band falls outside it.
PLAUSIBLE_PER_USD: dict[str, tuple[Decimal, Decimal]] = {
    code: (Decimal(low), Decimal(high))
    for code, low, high in (
        ("USD", "1", "1"),
        ("CAD", "0.9", "2.2"),
        ("MXN", "9", "35"),
        ("BRL", "2.5", "11"),
        ("GBP", "0.45", "1.2"),
        ("EUR", "0.55", "1.35"),
        ("SEK", "5.5", "17"),
        ("PLN", "2.2", "6.5"),
        ("TRY", "15", "120"),
        ("AED", "3.5", "3.85"),
        ("SAR", "3.6", "3.9"),
        ("EGP", "20", "120"),
        ("INR", "50", "140"),
        ("ZAR", "9", "30"),
        ("JPY", "75", "260"),
        ("AUD", "0.95", "2.3"),
        ("SGD", "1.0", "1.9"),
    )
}


def plausible_band(base: str, quote: str) -> tuple[Decimal, Decimal] | None:
    """The range of units of `quote` per one `base` a correct rate falls in; None for a
    currency without a band."""
    if base not in PLAUSIBLE_PER_USD or quote not in PLAUSIBLE_PER_USD:
        return None
    base_low, base_high = PLAUSIBLE_PER_USD[base]
    quote_low, quote_high = PLAUSIBLE_PER_USD[quote]
    return quote_low / base_high, quote_high / base_low


def check_fx_rate(inputs: Inputs) -> Iterator[Finding]:
    """Every fx.yaml rate a planned marketplace prices with lies in its plausible band
    (PLAUSIBLE_PER_USD, per currency pair), and has moved by at most
    `guardrails.fx_rate.max_change_pct` since the rate the last successful apply priced
    with. A finding per marketplace using the rate, as each marketplace's level applies."""
    fx = inputs.config.fx
    baseline = inputs.context.baseline
    by_currency: dict[str, list[str]] = {}
    for code in inputs.marketplaces:
        cur = inputs.config.marketplaces[code].info.currency
        if cur != fx.base_currency:
            by_currency.setdefault(cur, []).append(code)
    if baseline is None and by_currency:
        yield Finding(
            None,
            None,
            "fx rates not compared with the last applied ones: no successful apply has "
            "recorded them yet (the first one does)",
            unknown=True,
        )
    for cur, codes in by_currency.items():
        rate = fx.rate(cur)
        problems = []
        band = plausible_band(fx.base_currency, cur)
        if band is not None and not band[0] <= rate <= band[1]:
            problems.append(
                f"outside the plausible band {band[0]:.4g}-{band[1]:.4g} {cur} per "
                f"{fx.base_currency} (a slipped digit?)"
            )
        was = None if baseline is None else baseline.rate(fx.base_currency, cur)
        for code in codes:
            limit = inputs.settings.percent("guardrails.fx_rate.max_change_pct", code)
            moved = [] if was is None else _moved(was, rate, limit)
            found = problems + moved
            if found:
                yield Finding(
                    code,
                    None,
                    f"fx rate {cur} per {fx.base_currency} {_rate(rate)} is "
                    f"{' and '.join(found)}; it reprices and re-floors every {cur} listing",
                    value=rate,
                    subject=f"{cur} {'-' if was is None else _rate(was)} -> {_rate(rate)}",
                )


def _moved(was: Decimal, rate: Decimal, limit: Decimal) -> list[str]:
    if was <= 0 or rate == was:
        return []
    change = (rate - was) / was * HUNDRED
    if abs(change) <= limit:
        return []
    return [
        f"{percent_text(change, signed=True)} from {_rate(was)}, the rate the last apply "
        f"priced with (limit ±{percent_text(limit)})"
    ]


def _rate(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


RULES = (
    Rule(
        "fx_rate",
        "soft-mandatory",
        "every fx rate is plausible and near the rate the last apply priced with",
        check_fx_rate,
        needs_live=True,
    ),
)
