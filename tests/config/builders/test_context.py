"""The checks every builder shares: amounts, SKU references (and the holes a file that failed
to load leaves), marketplace codes, ids and time windows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.config.builders.context import BuildContext, sub
from engine.config.model import Origin
from engine.config.yamlsafe import parse_source
from engine.core.money import CURRENCIES
from tests.config.built import build

SOURCE = parse_source(
    b'price: "8980.50"\nitems:\n  - id: A\n    start: 2026-11-27T00:00:00Z\n  - id: A\n',
    "sales.yaml",
)
AT_PRICE = Origin(SOURCE, ("price",))


def messages(ctx: BuildContext) -> list[str]:
    return [str(e) for e in ctx.errors]


@pytest.mark.parametrize(
    ("value", "kwargs", "expected", "message"),
    [
        ("8980", {"currency": CURRENCIES["JPY"]}, Decimal(8980), None),
        (
            "8980.50",
            {"currency": CURRENCIES["JPY"]},
            None,
            "8980.50 is not a valid JPY amount: JPY has 0 decimal place(s)",
        ),
        ("0", {"positive": True}, None, "must be greater than zero (got 0)"),
        ("0", {"non_negative": True}, Decimal(0), None),
        ("-0.01", {"non_negative": True}, None, "must not be negative (got -0.01)"),
        ("-0.01", {}, Decimal("-0.01"), None),
    ],
)
def test_decimal_reports_an_unusable_amount_at_its_origin(value, kwargs, expected, message):
    ctx = BuildContext(Path("."))
    assert ctx.decimal(value, AT_PRICE, **kwargs) == expected
    assert messages(ctx) == ([f"sales.yaml:1:8: price: {message}"] if message else [])


def test_a_reference_into_a_products_file_that_failed_to_load_is_not_reported():
    ctx = BuildContext(Path("."))
    assert not ctx.names_a_sku("HP-*", {})
    broken = parse_source(b"products:\n  - sku: HP-100\n  - sku: SPK-1\n", "products/a.yaml")
    ctx.note_unbuilt_products(broken)
    assert ctx.unbuilt_skus == {"HP-100", "SPK-1"} and not ctx.catalog_unknown
    assert ctx.names_a_sku("HP-*", {}) and not ctx.names_a_sku("CBL-*", {})


@pytest.mark.parametrize(
    "text", [None, b"products: {sku: HP-100}\n", b"products:\n  - sku: [HP-100]\n"]
)
def test_a_products_file_whose_skus_cannot_be_told_makes_any_sku_possible(text):
    ctx = BuildContext(Path("."))
    ctx.note_unbuilt_products(None if text is None else parse_source(text, "products/a.yaml"))
    assert ctx.catalog_unknown and ctx.names_a_sku("ANYTHING", {})


def test_selector_reports_each_pattern_matching_no_product(tmp_path):
    built = build(tmp_path)
    ctx = BuildContext(built.root)
    selector = ctx.selector(SOURCE, ("items",), ["HP-*", "NOPE-*"], built.products)
    assert selector.matches("HP-100") and not selector.matches("SPK-1")
    assert messages(ctx) == ["sales.yaml:5:5: items[1]: 'NOPE-*' matches no product SKU"]


def test_marketplace_codes_must_be_known_and_enabled(tmp_path):
    built = build(tmp_path)
    ctx = BuildContext(built.root)
    assert ctx.enabled(SOURCE, ("items",), ["DE", "FR", "XX"], built.marketplaces) == (
        "DE",
        "FR",
        "XX",
    )
    assert ctx.is_enabled(SOURCE, ("items", 0), "JP", built.marketplaces)
    first, second = ctx.errors
    assert str(first) == "sales.yaml:5:5: items[1]: marketplace FR is not enabled in project.yaml"
    assert second.message.startswith("unknown marketplace 'XX'; known: US, CA,")


def test_single_currency_is_none_and_reported_when_marketplaces_differ():
    ctx = BuildContext(Path("."))
    assert ctx.single_currency(("DE", "FR"), AT_PRICE, "price") == CURRENCIES["EUR"]
    assert ctx.single_currency((), AT_PRICE, "price") is None and ctx.errors == []
    assert ctx.single_currency(("DE", "JP", "XX"), AT_PRICE, "price") is None
    assert messages(ctx) == [
        "sales.yaml:1:8: price: price is an amount, but the marketplaces sell in EUR, JPY; "
        "split it per currency or use a percentage"
    ]


def test_a_repeated_id_is_reported_at_the_repeat_naming_the_first():
    ctx, seen = BuildContext(Path(".")), {}
    assert ctx.unique_id("A", Origin(SOURCE, ("items", 0)), seen, "sale")
    assert not ctx.unique_id("A", Origin(SOURCE, ("items", 1)), seen, "sale")
    assert messages(ctx) == [
        "sales.yaml:5:9: items[1].id: sale id 'A' is already used at sales.yaml:3"
    ]


@pytest.mark.parametrize(
    ("text", "expected", "message"),
    [
        ("2026-11-27T01:00:00+01:00", datetime(2026, 11, 27, tzinfo=UTC), None),
        ("2026-11-27 00:00:00Z", datetime(2026, 11, 27, tzinfo=UTC), None),
        ("2026-11-27T00:00:00", None, "'2026-11-27T00:00:00' has no timezone; add Z for UTC"),
        ("Black Friday", None, "invalid date-time 'Black Friday': "),
    ],
)
def test_timestamps_need_a_timezone_and_come_back_in_utc(text, expected, message):
    ctx = BuildContext(Path("."))
    assert ctx.timestamp(text, AT_PRICE) == expected
    assert [e.message[: len(message)] for e in ctx.errors] == ([message] if message else [])


def test_a_calendar_date_that_is_not_one_is_reported_as_date_min():
    ctx = BuildContext(Path("."))
    assert ctx.calendar_date("2026-11-20", AT_PRICE) == date(2026, 11, 20)
    assert ctx.calendar_date("20.11.2026", AT_PRICE) == date.min
    assert [e.message.split(":")[0] for e in ctx.errors] == ["invalid date '20.11.2026'"]


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z", True),
        ("2026-11-27T00:00:00Z", "2026-11-27T00:00:00Z", False),
        ("2026-11-28T00:00:00Z", "2026-11-27T00:00:00Z", False),
    ],
)
def test_a_window_ends_after_it_starts(start, end, ok):
    ctx = BuildContext(Path("."))
    window = ctx.window({"start": start, "end": end}, Origin(SOURCE, ("items", 0)))
    if ok:
        assert window is not None and window[0] < window[1] and ctx.errors == []
    else:
        assert window is None
        assert messages(ctx) == [
            f"sales.yaml:3:5: items[0].end: end {end} is not after start {start}"
        ]


def test_sub_extends_an_origin():
    assert sub(AT_PRICE, "a", 0) == Origin(SOURCE, ("price", "a", 0))
