"""The bad-input corpus: broken configs and the exact error each one must produce.

Every case is one small edit of the minimal config (tests/minimal_config.py), run through
`sync validate` the way a seller runs it. Each must exit 1, print every error as
`file:line:column: field.path: message` (paths below are relative to the config
directory), print no traceback, and write nothing. Read a case as: "this edit gives
exactly these errors".
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.cli.main import main
from tests.minimal_config import MINIMAL_FILES, WAREHOUSES, edited, write_config

NOW = "2026-11-22T12:00:00Z"
KNOWN_MARKETPLACES = (
    "US, CA, MX, BR, UK, IE, DE, FR, IT, ES, NL, BE, SE, PL, TR, AE, SA, EG, IN, ZA, JP, AU, SG"
)
PRODUCTS = "products/audio.yaml"
MARGIN = "      cost_plus_margin_pct: 10\n"  # the last line of project.yaml

# Valid files the minimal config does not have; cases break them one edit at a time.
SALE = """\
sales:
  - id: black-friday
    marketplaces: [DE]
    skus: [HP-100]
    price: "44.99"
    start: 2026-11-27T00:00:00Z
    end: 2026-12-01T00:00:00Z
"""
PROMOTION = """\
promotions:
  - id: PROMO-1
    kind: promo_code
    code: SAVE10
    discount: {percent: 10}
    marketplaces: [US]
    skus: [HP-*]
    start: 2026-11-27T00:00:00Z
    end: 2026-12-01T00:00:00Z
"""
APPROVAL = """\
approvals:
  - rule: price_change_size
    scope: {marketplaces: [DE], skus: [HP-*]}
    approves: {value: "54.99"}
    reason: Black Friday pricing agreed with finance
    approver: ops@example.com
    expires: 2026-12-01T00:00:00Z
"""
INCIDENT = """\
incidents:
  - id: INC-1
    marketplace: DE
    sku: HP-100
    acknowledged_by: ops@example.com
    acknowledged_at: 2026-11-20T10:00:00Z
    resolution: promotion code fixed, orders cancelled
"""
EXTRA = {"sales.yaml": SALE, "promotions.yaml": PROMOTION, "warehouses.yaml": WAREHOUSES}


def billion_laughs() -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def latin_1_title() -> bytes:
    """The products file with one German title saved as Latin-1 (an editor's old default)."""
    text = textwrap.dedent(MINIMAL_FILES[PRODUCTS]).encode("utf-8")
    return text.replace("Kopfhörer".encode(), "Kopfhörer".encode("latin-1"))


CASES = [
    # ---- exposure caps -----------------------------------------------------------------------
    pytest.param(
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\nexposure:\n  refill_every: 4h\n  floor: 12\n  ceiling: 5\n",
        ),
        ["marketplaces/DE.yaml:5:10: exposure.floor: exposure floor 12 is above ceiling 5"],
        id="exposure-floor-above-ceiling",
    ),
    # ---- YAML itself -------------------------------------------------------------------------
    pytest.param(
        edited("project.yaml", "  name: Test Audio\n", "  name: Test Audio\n  name: Other\n"),
        [
            "project.yaml:4:3: seller.name: duplicate key 'name' (first defined on line 3); "
            "YAML would silently keep only the last one"
        ],
        id="duplicate-key",
    ),
    pytest.param(
        {"sales.yaml": billion_laughs()},
        [
            "sales.yaml:4:45: l3[7]: aliases expand to more than 10000 values "
            "(a 'billion laughs' file?); refusing to load it"
        ],
        id="billion-laughs",
    ),
    pytest.param(
        {PRODUCTS: latin_1_title()},
        ["products/audio.yaml:12:38: file is not valid UTF-8 (byte 0xf6); save it as UTF-8"],
        id="latin-1-file",
    ),
    pytest.param(
        edited(PRODUCTS, "[Light, Foldable]", "[Light, Foldable"),
        [
            "products/audio.yaml:11:76: invalid YAML: did not find expected ',' or ']' "
            "while parsing a flow sequence"
        ],
        id="yaml-syntax",
    ),
    pytest.param(
        edited(
            PRODUCTS,
            '    brand: Sonora\n    cost: {amount: "20.00"',
            '\tbrand: Sonora\n    cost: {amount: "20.00"',
        ),
        [
            "products/audio.yaml:4:1: a tab character indents this line: YAML does not "
            "allow tabs for indentation; indent with spaces"
        ],
        id="tab-indent",
    ),
    pytest.param(
        edited(
            PRODUCTS,
            '    brand: Sonora\n    cost: {amount: "20.00"',
            '    brand: Sonora\n  \tcost: {amount: "20.00"',
        ),
        [
            "products/audio.yaml:5:3: a tab character indents this line: YAML does not "
            "allow tabs for indentation; indent with spaces"
        ],
        id="tab-after-spaces",
    ),
    pytest.param(
        edited(
            PRODUCTS,
            'brand: Sonora\n    cost: {amount: "20.00"',
            'brand: !!python/object:os.system x\n    cost: {amount: "20.00"',
        ),
        [
            "products/audio.yaml:4:12: products[0].brand: "
            "unsupported tag tag:yaml.org,2002:python/object:os.system"
        ],
        id="python-tag",
    ),
    pytest.param(
        edited("fx.yaml", "source: ECB reference rates\n", "source: ECB reference rates\n---\n"),
        ["fx.yaml:4:1: a config file holds one YAML document; remove the extra '---'"],
        id="two-documents",
    ),
    pytest.param({"sales.yaml": ""}, ["sales.yaml: file is empty"], id="empty-file"),
    pytest.param(
        {"products/audio.yaml": "- HP-100\n- SPK-1\n"},
        ["products/audio.yaml:1:1: expected object (got a list)"],
        id="list-instead-of-mapping",
    ),
    # ---- files and schema --------------------------------------------------------------------
    pytest.param({"fx.yaml": None}, ["fx.yaml: required file is missing"], id="missing-fx"),
    pytest.param(
        {"notes.yaml": "todo: more SKUs\n"},
        [
            "notes.yaml: unknown config file; expected project.yaml, fx.yaml, products/*.yaml, "
            "marketplaces/<CODE>.yaml, sales, promotions, approvals or incidents "
            "(.yaml or folder)"
        ],
        id="unknown-file",
    ),
    pytest.param(
        edited(PRODUCTS, '    base_price: "59.99"\n', "    base_price: .nan\n"),
        [
            'products/audio.yaml:6:17: products[0].base_price: expected an amount such as "49.99" '
            "(got '.nan')"
        ],
        id="nan-price",
    ),
    pytest.param(
        edited(PRODUCTS, '    base_price: "59.99"\n', "    base_price: -.inf\n"),
        [
            'products/audio.yaml:6:17: products[0].base_price: expected an amount such as "49.99" '
            "(got '-.inf')"
        ],
        id="infinite-price",
    ),
    pytest.param(
        edited(PRODUCTS, '    base_price: "59.99"\n', "    base_price: yes\n"),
        [
            'products/audio.yaml:6:17: products[0].base_price: expected an amount such as "49.99" '
            "(got true)"
        ],
        id="boolean-price",
    ),
    pytest.param(
        edited(PRODUCTS, '    base_price: "59.99"\n', "    base_price: 2026-01-01\n"),
        [
            'products/audio.yaml:6:17: products[0].base_price: expected an amount such as "49.99" '
            "(got '2026-01-01')"
        ],
        id="date-price",
    ),
    pytest.param(
        edited(
            PRODUCTS, '    brand: Sonora\n    cost: {amount: "20.00"', '    cost: {amount: "20.00"'
        ),
        ["products/audio.yaml:2:5: products[0]: missing required field 'brand'"],
        id="missing-required-field",
    ),
    pytest.param(
        edited(PRODUCTS, 'base_price: "59.99"', 'base_prize: "59.99"'),
        [
            "products/audio.yaml:2:5: products[0]: missing required field 'base_price'",
            "products/audio.yaml:6:5: products[0].base_prize: unknown field 'base_prize' "
            "(did you mean 'base_price'?); allowed: base_price, brand, cost, exposure, "
            "fulfillment, identifiers, list_price, marketplaces, missing_translation, pricing, "
            "product_type, promotion_limits, sku, stock, texts",
        ],
        id="misspelt-field",
    ),
    pytest.param(
        edited(PRODUCTS, 'ean: "4006381333931"', "ean: 4006381333931"),
        [
            "products/audio.yaml:9:24: products[0].identifiers.ean: expected string "
            "(got the number 4006381333931; put the value in quotes)"
        ],
        id="unquoted-ean",
    ),
    pytest.param(
        edited(PRODUCTS, "fulfillment: MFN", "fulfillment: SELLER"),
        [
            "products/audio.yaml:8:18: products[0].fulfillment: expected one of: MFN, FBA "
            "(got 'SELLER')"
        ],
        id="bad-enum",
    ),
    pytest.param(
        edited("project.yaml", "id: A1TESTSELLER", "id: a1"),
        [
            "project.yaml:2:7: seller.id: expected an Amazon seller id "
            "(8-20 upper-case letters and digits) (got 'a1')"
        ],
        id="bad-seller-id",
    ),
    pytest.param(
        edited("fx.yaml", 'EUR: "0.9200"', 'EUR: "-0.92"'),
        [
            'fx.yaml:5:8: rates.EUR: expected a positive decimal rate such as "0.9210" '
            "(got '-0.92')"
        ],
        id="negative-fx-rate",
    ),
    pytest.param(
        edited("fx.yaml", 'as_of: "2026-11-20"', 'as_of: "2026-13-01"'),
        ["fx.yaml:2:8: as_of: invalid date '2026-13-01': month must be in 1..12"],
        id="impossible-fx-date",
    ),
    pytest.param(
        edited("project.yaml", "alert_level: 5", "alert_level: 2.5"),
        [
            "project.yaml:18:18: defaults.stock.alert_level: expected a whole number of units "
            "(0 or more) (got 2.5)"
        ],
        id="fractional-stock-level",
    ),
    pytest.param(
        edited(PRODUCTS, "title: Sonora SPK-1 speaker", "title: " + "x" * 201),
        [
            "products/audio.yaml:21:19: products[1].texts.en.title: must be at most 200 characters "
            "(has 201)"
        ],
        id="title-too-long",
    ),
    # ---- marketplaces and currencies ---------------------------------------------------------
    pytest.param(
        edited("project.yaml", "[US, DE, JP]", "[US, DE, JP, XX]"),
        [
            "project.yaml:7:28: marketplaces[3]: unknown marketplace 'XX'; "
            f"known: {KNOWN_MARKETPLACES}"
        ],
        id="unknown-marketplace",
    ),
    pytest.param(
        edited("project.yaml", "[US, DE, JP]", "[US, DE, JP, GB]"),
        [
            "project.yaml:7:28: marketplaces[3]: unknown marketplace 'GB' (did you mean UK? "
            "UK is the marketplace code; GB is the ISO country code warehouses.yaml uses); "
            f"known: {KNOWN_MARKETPLACES}"
        ],
        id="gb-for-uk",
    ),
    pytest.param(
        edited("marketplaces/DE.yaml", "currency: EUR", "currency: USD"),
        [
            "marketplaces/DE.yaml:2:11: currency: USD does not match marketplace DE, "
            "which sells in EUR"
        ],
        id="currency-does-not-match-marketplace",
    ),
    pytest.param(
        edited("marketplaces/DE.yaml", "marketplace: DE", "marketplace: FR"),
        [
            "marketplaces/DE.yaml:1:14: marketplace: file is named DE.yaml but describes FR; "
            "name it FR.yaml"
        ],
        id="marketplace-file-misnamed",
    ),
    pytest.param(
        {"marketplaces/FR.yaml": "marketplace: FR\n"},
        [
            "marketplaces/FR.yaml:1:14: marketplace: FR is not enabled in project.yaml "
            "marketplaces; enable it or delete this file"
        ],
        id="marketplace-not-enabled",
    ),
    pytest.param(
        edited("fx.yaml", '  JPY: "150.00"\n', ""),
        ["fx.yaml:5:3: rates: no rate for JPY, which an enabled marketplace sells in"],
        id="missing-fx-rate",
    ),
    pytest.param(
        edited("marketplaces/JP.yaml", 'ending: "80"', 'ending: ".99"'),
        [
            "marketplaces/JP.yaml:4:11: pricing.ending: price ending '.99' needs exactly "
            "0 decimal place(s) for JPY (applies to JP)"
        ],
        id="cents-ending-for-yen",
    ),
    pytest.param(
        edited("marketplaces/JP.yaml", 'ending: "80"', "ending: 80"),
        [
            'marketplaces/JP.yaml:4:11: pricing.ending: expected a price ending such as ".99" or '
            '"80" (got the number 80; put the value in quotes)'
        ],
        id="unquoted-yen-ending",
    ),
    pytest.param(
        edited("marketplaces/DE.yaml", 'tax_delta: "3.00"', 'tax_delta: "3.00"\n  ending: "99"'),
        [
            "marketplaces/DE.yaml:5:11: pricing.ending: price ending '99' for EUR must include "
            "the decimal point, e.g. '.99' (applies to DE)"
        ],
        id="ambiguous-euro-ending",
    ),
    pytest.param(
        edited("marketplaces/DE.yaml", 'min_price: "10.00"', 'min_price: "600.00"'),
        [
            "marketplaces/DE.yaml:5:14: pricing.min_price: min_price 600.00 is above "
            "max_price 500.00"
        ],
        id="min-above-max",
    ),
    pytest.param(
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            'currency: EUR\noverrides:\n  HP-100: {pricing: {max_price: "5.00"}}\n',
        ),
        [
            "marketplaces/DE.yaml:4:33: overrides.HP-100.pricing.max_price: max_price 5.00 is "
            "below min_price 10.00 set at marketplaces/DE.yaml:7"
        ],
        id="override-max-below-marketplace-min",
    ),
    pytest.param(
        edited(
            "marketplaces/JP.yaml",
            'tax_delta: "0"\n',
            'tax_delta: "0"\noverrides:\n  HP-100: {our_price: "8980.50"}\n',
        ),
        [
            "marketplaces/JP.yaml:7:23: overrides.HP-100.our_price: 8980.50 is not a valid JPY "
            "amount: JPY has 0 decimal place(s)"
        ],
        id="yen-price-with-sen",
    ),
    pytest.param(
        edited("project.yaml", '    ending: ".99"\n', '    ending: ".99"\n    tax_delta: "1.00"\n'),
        [
            "project.yaml:16:5: defaults.pricing.tax_delta: tax_delta is an amount in the "
            "marketplace currency; set it in a marketplace file or its overrides"
        ],
        id="tax-delta-in-defaults",
    ),
    # ---- products ----------------------------------------------------------------------------
    pytest.param(
        edited(PRODUCTS, "sku: HP-100", "sku: " + "H" * 41),
        [
            f"products/audio.yaml:2:10: products[0].sku: SKU '{'H' * 41}' is 41 characters; "
            "Amazon allows at most 40"
        ],
        id="sku-too-long",
    ),
    pytest.param(
        edited(PRODUCTS, "sku: HP-100", "sku: HP 100/B"),
        [
            "products/audio.yaml:2:10: products[0].sku: SKU 'HP 100/B' has characters Amazon "
            "rejects or that break SP-API paths; use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        ],
        id="sku-bad-characters",
    ),
    pytest.param(
        {"products/more.yaml": textwrap.dedent(MINIMAL_FILES[PRODUCTS]).split("  - sku: SPK-1")[0]},
        [
            "products/more.yaml:2:10: products[0].sku: SKU 'HP-100' is already defined at "
            "products/audio.yaml:2"
        ],
        id="sku-defined-twice-across-files",
    ),
    pytest.param(
        edited(PRODUCTS, 'base_price: "59.99"', 'base_price: "-5"'),
        ["products/audio.yaml:6:17: products[0].base_price: must be greater than zero (got -5)"],
        id="negative-price",
    ),
    pytest.param(
        edited(PRODUCTS, 'base_price: "99.00"', "base_price: 0"),
        ["products/audio.yaml:18:17: products[1].base_price: must be greater than zero (got 0)"],
        id="zero-price",
    ),
    pytest.param(
        edited(PRODUCTS, 'amount: "20.00"', 'amount: "70.00"'),
        [
            "products/audio.yaml:5:20: products[0].cost.amount: cost 70.00 USD is above the base "
            "price 59.99 USD: every sale would lose money"
        ],
        id="cost-above-price",
    ),
    pytest.param(
        edited(PRODUCTS, 'amount: "20.00", currency: USD', 'amount: "20.00", currency: GBP'),
        [
            "products/audio.yaml:5:39: products[0].cost.currency: no exchange rate for GBP in "
            "fx.yaml, so the cost cannot be compared with prices"
        ],
        id="cost-currency-without-rate",
    ),
    pytest.param(
        edited(PRODUCTS, "      ja: {title: Sonora SPK-1 スピーカー}\n", ""),
        [
            "products/audio.yaml:21:7: products[1].texts: no 'ja' texts for the JP listing of "
            "SPK-1; add texts.ja, exclude SPK-1 in marketplaces/JP.yaml, or set "
            "missing_translation: needs_review"
        ],
        id="missing-translation",
    ),
    pytest.param(
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            'currency: EUR\noverrides:\n  HP-999: {our_price: "49.99"}\n',
        ),
        ["marketplaces/DE.yaml:4:3: overrides.HP-999: override for unknown SKU 'HP-999'"],
        id="override-unknown-sku",
    ),
    pytest.param(
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            'currency: EUR\noverrides:\n  HP-100: {our_price: "5.00"}\n',
        ),
        [
            "marketplaces/DE.yaml:4:23: overrides.HP-100.our_price: our_price 5.00 is outside the "
            "bounds [10.00, 500.00] for DE; Amazon would suppress the offer"
        ],
        id="override-price-outside-bounds",
    ),
    pytest.param(
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\nlistings:\n  include: [CBL-*]\n",
        ),
        ["marketplaces/DE.yaml:4:13: listings.include[0]: pattern 'CBL-*' matches no product SKU"],
        id="include-pattern-matches-nothing",
    ),
    # ---- prune and product marketplaces ---------------------------------------------------
    pytest.param(
        edited(
            "project.yaml",
            "marketplaces: [US, DE, JP]\n",
            "marketplaces: [US, DE, JP]\nprune: LEGACY-*\n",
        ),
        ["project.yaml:8:8: prune: expected array (got 'LEGACY-*')"],
        id="prune-not-a-list",
    ),
    pytest.param(
        edited("marketplaces/DE.yaml", "currency: EUR\n", 'currency: EUR\nprune: [LEGACY-*, ""]\n'),
        ["marketplaces/DE.yaml:3:19: prune[1]: must be at least 1 character(s)"],
        id="prune-empty-pattern",
    ),
    pytest.param(
        edited("marketplaces/DE.yaml", "currency: EUR\n", "currency: EUR\nprune: [OLD-*, OLD-*]\n"),
        ["marketplaces/DE.yaml:3:8: prune: items must not repeat"],
        id="prune-duplicate-pattern",
    ),
    pytest.param(
        edited(
            PRODUCTS, "    fulfillment: MFN\n", "    fulfillment: MFN\n    marketplaces: [US, FR]\n"
        ),
        [
            "products/audio.yaml:9:24: products[0].marketplaces[1]: marketplace FR is not "
            "enabled in project.yaml"
        ],
        id="product-marketplace-not-enabled",
    ),
    pytest.param(
        edited(PRODUCTS, "    fulfillment: MFN\n", "    fulfillment: MFN\n    marketplaces: []\n"),
        ["products/audio.yaml:9:19: products[0].marketplaces: needs at least 1 item(s)"],
        id="product-marketplaces-empty",
    ),
    # ---- sales and promotions ----------------------------------------------------------------
    pytest.param(
        edited("sales.yaml", "    end: 2026-12-01T00:00:00Z\n", "", SALE),
        ["sales.yaml:2:5: sales[0]: missing required field 'end'"],
        id="sale-without-end",
    ),
    pytest.param(
        edited("sales.yaml", "end: 2026-12-01T00:00:00Z", "end: 2026-11-20T00:00:00Z", SALE),
        [
            "sales.yaml:7:10: sales[0].end: end 2026-11-20T00:00:00Z is not after start "
            "2026-11-27T00:00:00Z"
        ],
        id="sale-ends-before-it-starts",
    ),
    pytest.param(
        edited("sales.yaml", "start: 2026-11-27T00:00:00Z", "start: 2026-11-27T00:00:00", SALE),
        [
            "sales.yaml:6:12: sales[0].start: expected a date-time with timezone such as "
            "2026-11-27T00:00:00Z (got '2026-11-27T00:00:00')"
        ],
        id="sale-start-without-timezone",
    ),
    pytest.param(
        {
            "sales.yaml": SALE
            + SALE.removeprefix("sales:\n")
            .replace("black-friday", "cyber-monday")
            .replace("11-27", "11-30")
            .replace("12-01", "12-03")
        },
        [
            "sales.yaml:8:5: sales[1]: sale 'cyber-monday' overlaps sale 'black-friday' "
            "on DE HP-100 (a listing has one sale price at a time)"
        ],
        id="overlapping-sales",
    ),
    pytest.param(
        edited("sales.yaml", "[DE]", "[DE, JP]", SALE),
        [
            "sales.yaml:5:12: sales[0].price: price is an amount, but the marketplaces sell in "
            "EUR, JPY; split it per currency or use a percentage"
        ],
        id="sale-price-across-currencies",
    ),
    pytest.param(
        edited("sales.yaml", '    price: "44.99"\n', "", SALE),
        ["sales.yaml:2:5: sales[0]: give exactly one of price or discount_pct"],
        id="sale-without-price",
    ),
    pytest.param(
        edited("sales.yaml", 'price: "44.99"', 'price: "44.999"', SALE),
        [
            "sales.yaml:5:12: sales[0].price: 44.999 is not a valid EUR amount: "
            "EUR has 2 decimal place(s)"
        ],
        id="sale-price-finer-than-cents",
    ),
    pytest.param(
        edited("promotions.yaml", "[HP-*]", "[XX-*]", PROMOTION),
        ["promotions.yaml:7:12: promotions[0].skus[0]: 'XX-*' matches no product SKU"],
        id="promotion-unknown-sku",
    ),
    pytest.param(
        edited("promotions.yaml", "[US]", "[US, FR]", PROMOTION),
        [
            "promotions.yaml:6:24: promotions[0].marketplaces[1]: marketplace FR is not enabled "
            "in project.yaml"
        ],
        id="promotion-marketplace-not-enabled",
    ),
    pytest.param(
        edited("promotions.yaml", "    code: SAVE10\n", "", PROMOTION),
        ["promotions.yaml:2:5: promotions[0]: a promo_code promotion needs its code"],
        id="promo-code-without-code",
    ),
    pytest.param(
        edited("promotions.yaml", "{percent: 10}", '{percent: 10, amount: "5"}', PROMOTION),
        ["promotions.yaml:5:15: promotions[0].discount: expected exactly one of percent or amount"],
        id="promotion-percent-and-amount",
    ),
    # ---- approvals and incidents -------------------------------------------------------------
    pytest.param(
        edited("approvals.yaml", "rule: price_change_size", "rule: Price Change", APPROVAL),
        [
            "approvals.yaml:2:11: approvals[0].rule: expected one of: price_floor, "
            "max_discount, promotion_duration, promo_units_cap, price_change_size, "
            "blast_radius, allowed_price_bounds, open_orders, account_health, fx_rate, "
            "guardrail_weakening (got 'Price Change')"
        ],
        id="approval-bad-rule-name",
    ),
    pytest.param(
        edited("approvals.yaml", '    approves: {value: "54.99"}\n', "", APPROVAL),
        ["approvals.yaml:2:5: approvals[0]: missing required field 'approves'"],
        id="approval-from-before-approves-was-required",
    ),
    pytest.param(
        edited(
            "approvals.yaml",
            '{value: "54.99"}',
            '{value: "54.99", fingerprint: 0a1b2c3d4e5f}',
            APPROVAL,
        ),
        [
            "approvals.yaml:4:15: approvals[0].approves: give exactly one of value, fingerprint, "
            "or min and/or max (got fingerprint, value)"
        ],
        id="approval-pinning-two-things",
    ),
    pytest.param(
        edited("approvals.yaml", '{value: "54.99"}', '{min: "60", max: "50"}', APPROVAL),
        ["approvals.yaml:4:15: approvals[0].approves: min 60 is above max 50"],
        id="approval-range-upside-down",
    ),
    pytest.param(
        edited("approvals.yaml", '{value: "54.99"}', "{fingerprint: 3f9c}", APPROVAL),
        [
            "approvals.yaml:4:29: approvals[0].approves.fingerprint: expected the "
            "12-character fingerprint the plan prints, in quotes (got '3f9c')"
        ],
        id="approval-short-fingerprint",
    ),
    pytest.param(
        edited("approvals.yaml", "expires: 2026-12-01T00:00:00Z", "expires: 2026-12-01", APPROVAL),
        [
            "approvals.yaml:7:14: approvals[0].expires: expected a date-time with timezone such as "
            "2026-11-27T00:00:00Z (got '2026-12-01')"
        ],
        id="approval-expiry-without-time",
    ),
    pytest.param(
        edited("approvals.yaml", "[DE]", "[FR]", APPROVAL),
        [
            "approvals.yaml:3:28: approvals[0].scope.marketplaces[0]: marketplace FR is not "
            "enabled in project.yaml"
        ],
        id="approval-for-disabled-marketplace",
    ),
    pytest.param(
        edited("approvals.yaml", "[HP-*]", "[HB-*]", APPROVAL),
        ["approvals.yaml:3:40: approvals[0].scope.skus[0]: 'HB-*' matches no product SKU"],
        id="approval-pattern-matches-nothing",
    ),
    pytest.param(
        edited("incidents.yaml", "sku: HP-100", "sku: HP-10", INCIDENT),
        ["incidents.yaml:4:10: incidents[0].sku: no product with SKU 'HP-10'"],
        id="incident-unknown-sku",
    ),
    pytest.param(
        {"incidents.yaml": INCIDENT + INCIDENT.removeprefix("incidents:\n")},
        [
            "incidents.yaml:8:9: incidents[1].id: incident id 'INC-1' is already used at "
            "incidents.yaml:2"
        ],
        id="incident-acknowledged-twice",
    ),
    pytest.param(
        edited("incidents.yaml", "marketplace: DE", "marketplace: QQ", INCIDENT),
        [
            f"incidents.yaml:3:18: incidents[0].marketplace: unknown marketplace 'QQ'; "
            f"known: {KNOWN_MARKETPLACES}"
        ],
        id="incident-unknown-marketplace",
    ),
    # ---- warehouse stock CSV -----------------------------------------------------------------
    pytest.param(
        {"stock.csv": "sku,qty\nHP-100,3\n"},
        ["stock.csv:1:1: on_hand: column 'on_hand' not found; header has: sku, qty"],
        id="stock-csv-missing-column",
    ),
    pytest.param(
        {"stock.csv": "sku,on_hand\nHP-100,3.5\nSPK-1,12\n"},
        ["stock.csv:2:1: on_hand: '3.5' is not a whole number of units"],
        id="stock-csv-fractional-quantity",
    ),
    pytest.param(
        {"stock.csv": "sku,on_hand\nHP-100,3\nHP-100,4\n"},
        ["stock.csv:3:1: sku: SKU HP-100 already listed on line 2"],
        id="stock-csv-duplicate-sku",
    ),
    pytest.param(
        {"stock.csv": ""},
        [
            "stock.csv:1:1: file is empty; expected a header row naming the columns "
            "'sku' and 'on_hand'"
        ],
        id="stock-csv-empty",
    ),
    pytest.param(
        {"stock.csv": None},
        [
            "project.yaml:10:9: stock_source.path: stock file stock.csv cannot be read: "
            "No such file or directory"
        ],
        id="stock-csv-missing",
    ),
    # ---- account-health targets ---------------------------------------------------------------
    pytest.param(
        edited(
            "project.yaml",
            MARGIN,
            MARGIN + "health:\n  cancellation_rate: {target: 2.5, warn: 3}\n",
        ),
        [
            "project.yaml:26:42: health.cancellation_rate.warn: warning level 3 is above the "
            "target 2.5; the warning must come before the breach"
        ],
        id="health-warn-after-target",
    ),
    pytest.param(
        edited("project.yaml", MARGIN, MARGIN + "health:\n  valid_tracking_rate: {warn: 90}\n"),
        [
            "project.yaml:26:31: health.valid_tracking_rate.warn: warning level 90 is below the "
            "target 95; the warning must come before the breach"
        ],
        id="health-tracking-warn-below-target",
    ),
    pytest.param(
        edited("project.yaml", MARGIN, MARGIN + "health:\n  valid_tracking_rate: {target: 120}\n"),
        [
            "project.yaml:26:33: health.valid_tracking_rate.target: expected a percentage "
            "between 0 and 100 (got 120)"
        ],
        id="health-target-not-a-percentage",
    ),
    # ---- warehouses.yaml ------------------------------------------------------------------------
    pytest.param(
        edited(
            "warehouses.yaml",
            "stock: {path: stock.csv, quantity_column: on_hand}\n",
            "stock: {path: stock.csv, quantity_column: on_hand}\n"
            "  - id: eu-leipzig\n    location: {latitude: 40.42, longitude: -3.70}\n"
            "    countries: [ES]\n    stock: {path: stock.csv, quantity_column: on_hand}\n",
            WAREHOUSES,
        ),
        [
            "warehouses.yaml:6:9: warehouses[1].id: warehouse id 'eu-leipzig' is already used by "
            "warehouses.yaml:2 (warehouses[0])"
        ],
        id="warehouse-duplicate-id",
    ),
    pytest.param(
        edited("warehouses.yaml", "[DE, AT]", "[DE, XK]", WAREHOUSES),
        [
            "warehouses.yaml:4:21: warehouses[0].countries[1]: no centroid for country 'XK', so "
            "orders to it cannot be routed; known: AE, AT, AU, BE, BG, BR, CA, CH, CN, CY, CZ, "
            "DE, DK, EE, EG, ES, FI, FR, GB, GR, HR, HU, IE, IN, IT, JP, KR, LI, LT, LU, LV, MC, "
            "MT, MX, NL, NO, NZ, PL, PR, PT, RO, SA, SE, SG, SI, SK, SM, TR, US, VA, ZA"
        ],
        id="warehouse-country-without-centroid",
    ),
    pytest.param(
        edited("warehouses.yaml", "[DE, AT]", "[DE, UK]", WAREHOUSES),
        [
            "warehouses.yaml:4:21: warehouses[0].countries[1]: no centroid for country 'UK' "
            "(did you mean GB? countries are ISO 3166-1 codes; UK is the marketplace code), so "
            "orders to it cannot be routed; known: AE, AT, AU, BE, BG, BR, CA, CH, CN, CY, CZ, "
            "DE, DK, EE, EG, ES, FI, FR, GB, GR, HR, HU, IE, IN, IT, JP, KR, LI, LT, LU, LV, MC, "
            "MT, MX, NL, NO, NZ, PL, PR, PT, RO, SA, SE, SG, SI, SK, SM, TR, US, VA, ZA"
        ],
        id="uk-for-gb",
    ),
    pytest.param(
        edited("warehouses.yaml", "latitude: 51.34", "latitude: 151.34", WAREHOUSES),
        ["warehouses.yaml:3:26: warehouses[0].location.latitude: must be at most 90 (got 151.34)"],
        id="warehouse-latitude-out-of-range",
    ),
    pytest.param(
        edited("warehouses.yaml", "path: stock.csv", "path: leipzig.csv", WAREHOUSES),
        [
            "warehouses.yaml:5:19: warehouses[0].stock.path: stock file leipzig.csv cannot be "
            "read: No such file or directory"
        ],
        id="warehouse-stock-missing",
    ),
    pytest.param(
        {"warehouses.yaml": "fallback: ship-anyway\n" + WAREHOUSES},
        ["warehouses.yaml:1:11: fallback: expected one of: backorder, split (got 'ship-anyway')"],
        id="warehouse-unknown-fallback",
    ),
]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def validate(tmp_path: Path, changes: dict, capsys) -> tuple[int, list[str]]:
    """Run `sync validate` on the minimal config with `changes`; (exit code, stderr lines with
    the config directory stripped). Asserts nothing was written anywhere under tmp_path."""
    root = write_config(tmp_path / "config", changes)
    before = snapshot(tmp_path)
    code = main(["--config", str(root), "validate", "--now", NOW])
    out, err = capsys.readouterr()
    assert snapshot(tmp_path) == before, "validate wrote or changed a file"
    assert "Traceback" not in out + err
    return code, err.replace(f"{root}/", "").splitlines()


@pytest.mark.parametrize(("changes", "expected"), CASES)
def test_bad_input_is_reported_with_file_line_column_and_field(tmp_path, capsys, changes, expected):
    code, lines = validate(tmp_path, {**changes}, capsys)
    assert code == 1
    assert lines == [f"Error: {e}" for e in expected] + [
        f"Error: {len(expected)} error(s); nothing was written."
    ]


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 35


def test_extra_files_used_by_the_corpus_are_valid(tmp_path, capsys):
    code, lines = validate(
        tmp_path, {**EXTRA, "approvals.yaml": APPROVAL, "incidents.yaml": INCIDENT}, capsys
    )
    assert (code, lines) == (0, [])


def test_errors_in_several_files_are_reported_together(tmp_path, capsys):
    changes = {
        **edited("marketplaces/DE.yaml", "currency: EUR", "currency: USD"),
        **edited(PRODUCTS, 'base_price: "99.00"', 'base_price: "-1"'),
        **edited("sales.yaml", "start: 2026-11-27T00:00:00Z", "start: tomorrow", SALE),
        **edited(
            "approvals.yaml",
            "reason: Black Friday pricing agreed with finance\n",
            "reason: a\n    reason: b\n",
            APPROVAL,
        ),
        "stock.csv": "sku,on_hand\nHP-100,many\nSPK-1,12\n",
    }
    code, lines = validate(tmp_path, changes, capsys)
    assert code == 1
    assert lines == [
        "Error: approvals.yaml:6:5: approvals[0].reason: duplicate key 'reason' "
        "(first defined on line 5); YAML would silently keep only the last one",
        "Error: marketplaces/DE.yaml:2:11: currency: USD does not match marketplace DE, "
        "which sells in EUR",
        "Error: products/audio.yaml:18:17: products[1].base_price: must be greater than zero "
        "(got -1)",
        "Error: sales.yaml:6:12: sales[0].start: expected a date-time with timezone such as "
        "2026-11-27T00:00:00Z (got 'tomorrow')",
        "Error: stock.csv:2:1: on_hand: 'many' is not a whole number of units",
        "Error: 5 error(s); nothing was written.",
    ]


def test_a_file_that_fails_to_load_causes_no_errors_elsewhere(tmp_path, capsys):
    """References into a broken file are not checked: the seller fixes the one real error
    instead of chasing "unknown SKU" and translation errors in files that are fine."""
    changes = {
        **edited(PRODUCTS, "fulfillment: FBA", "fulfillment: AMAZON"),
        **edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\nlistings: {exclude: [SPK-*]}\n",
        ),
        **edited("sales.yaml", "[HP-100]", "[SPK-1]", SALE),
        **edited("incidents.yaml", "sku: HP-100", "sku: SPK-1", INCIDENT),
        **edited("marketplaces/JP.yaml", 'ending: "80"', "ending: 80"),
    }
    code, lines = validate(tmp_path, changes, capsys)
    assert code == 1
    assert lines == [
        'Error: marketplaces/JP.yaml:4:11: pricing.ending: expected a price ending such as ".99" '
        'or "80" (got the number 80; put the value in quotes)',
        "Error: products/audio.yaml:19:18: products[1].fulfillment: expected one of: MFN, FBA "
        "(got 'AMAZON')",
        "Error: 2 error(s); nothing was written.",
    ]
