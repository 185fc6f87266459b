"""The checks across files, each run alone on project, products and marketplaces the
builders made from the minimal config (tests/config/built.py)."""

from __future__ import annotations

import pytest

from engine.config.builders.context import BuildContext
from engine.config.checks import (
    check_bounds,
    check_exposure,
    check_product_marketplaces,
    check_settings,
    check_translations,
)
from tests.config.built import Built, build
from tests.minimal_config import edited

PRODUCTS = "products/audio.yaml"
NO_JA_SPK = edited(PRODUCTS, "      ja: {title: Sonora SPK-1 スピーカー}\n", "")
TRANSLATION_HINT = (
    "add texts.ja, exclude SPK-1 in marketplaces/JP.yaml, or set missing_translation: needs_review"
)


def reported(ctx: BuildContext, built: Built) -> list[str]:
    """The errors as `sync validate` prints them, with paths relative to the config."""
    return [str(e).replace(f"{built.root}/", "") for e in ctx.errors]


def run(check, built: Built, **context) -> list[str]:
    ctx = built.context(**context)
    if check is check_product_marketplaces:
        check(ctx, built.products, built.marketplaces)
    else:
        check(ctx, built.project, built.products, built.marketplaces)
    return reported(ctx, built)


@pytest.mark.parametrize(
    "check",
    [check_product_marketplaces, check_settings, check_translations, check_bounds, check_exposure],
)
def test_the_minimal_config_passes_every_check(tmp_path, check):
    assert run(check, build(tmp_path)) == []


def test_a_product_may_only_name_enabled_marketplaces(tmp_path):
    built = build(
        tmp_path,
        edited(
            PRODUCTS, "    fulfillment: FBA\n", "    fulfillment: FBA\n    marketplaces: [DE, FR]\n"
        ),
    )
    assert run(check_product_marketplaces, built) == [
        "products/audio.yaml:20:24: products[1].marketplaces[1]: "
        "marketplace FR is not enabled in project.yaml"
    ]


def test_amounts_in_a_marketplace_currency_are_refused_where_currencies_mix(tmp_path):
    project = edited(
        "project.yaml", '    ending: ".99"\n', '    ending: ".99"\n    min_price: "1"\n'
    )
    product = edited(
        PRODUCTS, "    fulfillment: FBA\n", '    fulfillment: FBA\n    pricing: {tax_delta: "2"}\n'
    )
    built = build(tmp_path, project | product)
    assert run(check_settings, built) == [
        "project.yaml:16:5: defaults.pricing.min_price: min_price is an amount in the "
        "marketplace currency; set it in a marketplace file or its overrides",
        "products/audio.yaml:20:15: products[1].pricing.tax_delta: tax_delta is an amount in the "
        "marketplace currency; set it in a marketplace file or its overrides",
    ]


def test_a_default_price_ending_is_checked_where_no_marketplace_shadows_it(tmp_path):
    """JP sets its own "80", so the project's ".99" never reaches a yen price; without it,
    it does, once, at the default."""
    assert run(check_settings, build(tmp_path)) == []
    unshadowed = build(tmp_path, edited("marketplaces/JP.yaml", '  ending: "80"\n', ""))
    assert run(check_settings, unshadowed) == [
        "project.yaml:15:13: defaults.pricing.ending: price ending '.99' needs exactly "
        "0 decimal place(s) for JPY (applies to JP)"
    ]


def test_a_marketplace_that_failed_to_load_is_not_reached_by_a_default_ending(tmp_path):
    unshadowed = build(tmp_path, edited("marketplaces/JP.yaml", '  ending: "80"\n', ""))
    assert run(check_settings, unshadowed, unbuilt_marketplaces={"JP"}) == []


def test_marketplace_bounds_must_be_amounts_of_its_currency(tmp_path):
    built = build(
        tmp_path, edited("marketplaces/DE.yaml", 'max_price: "500.00"', 'max_price: "5.001"')
    )
    assert run(check_settings, built) == [
        "marketplaces/DE.yaml:6:14: pricing.max_price: 5.001 is not a valid EUR amount: "
        "EUR has 2 decimal place(s)"
    ]


def test_a_listing_without_texts_in_its_language_is_an_error(tmp_path):
    assert run(check_translations, build(tmp_path, NO_JA_SPK)) == [
        f"products/audio.yaml:21:7: products[1].texts: no 'ja' texts for the JP listing of "
        f"SPK-1; {TRANSLATION_HINT}"
    ]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            edited(
                "marketplaces/JP.yaml",
                'tax_delta: "0"\n',
                'tax_delta: "0"\noverrides:\n  SPK-1: {title: スピーカー}\n',
            ),
            id="override-title",
        ),
        pytest.param(
            edited(
                "marketplaces/JP.yaml",
                'tax_delta: "0"\n',
                'tax_delta: "0"\nlistings:\n  exclude: [SPK-1]\n',
            ),
            id="excluded",
        ),
        pytest.param(
            edited(
                "marketplaces/JP.yaml",
                'tax_delta: "0"\n',
                'tax_delta: "0"\nmissing_translation: needs_review\n',
            ),
            id="needs-review",
        ),
    ],
)
def test_a_missing_translation_is_fine_when_covered(tmp_path, changes):
    product = edited(PRODUCTS, "      ja: {title: Sonora SPK-1 スピーカー}\n", "")
    assert run(check_translations, build(tmp_path, product | changes)) == []


def test_the_listings_of_a_marketplace_that_failed_to_load_are_not_checked(tmp_path):
    built = build(tmp_path, NO_JA_SPK)
    assert run(check_translations, built, unbuilt_marketplaces={"JP"}) == []


def test_an_override_price_outside_the_marketplace_bounds_is_an_error(tmp_path):
    built = build(
        tmp_path,
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\noverrides:\n"
            '  HP-100: {our_price: "9.99"}\n  SPK-1: {our_price: "10.00"}\n',
        ),
    )
    assert run(check_bounds, built) == [
        "marketplaces/DE.yaml:4:23: overrides.HP-100.our_price: our_price 9.99 is outside the "
        "bounds [10.00, 500.00] for DE; Amazon would suppress the offer"
    ]


def test_an_override_bound_is_checked_against_the_marketplace_bound_it_combines_with(tmp_path):
    built = build(
        tmp_path,
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            'currency: EUR\noverrides:\n  HP-100: {pricing: {max_price: "5.00"}}\n',
        ),
    )
    assert run(check_bounds, built) == [
        "marketplaces/DE.yaml:4:33: overrides.HP-100.pricing.max_price: max_price 5.00 is "
        "below min_price 10.00 set at marketplaces/DE.yaml:7"
    ]


def test_bounds_in_one_layer_are_reported_at_the_minimum(tmp_path):
    built = build(
        tmp_path, edited("marketplaces/DE.yaml", 'min_price: "10.00"', 'min_price: "600.00"')
    )
    assert run(check_bounds, built) == [
        "marketplaces/DE.yaml:5:14: pricing.min_price: min_price 600.00 is above max_price 500.00"
    ]


def test_an_exposure_floor_above_its_ceiling_is_an_error(tmp_path):
    built = build(
        tmp_path,
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\nexposure: {refill_every: 4h, floor: 12, ceiling: 5}\n",
        ),
    )
    assert run(check_exposure, built) == [
        "marketplaces/DE.yaml:3:37: exposure.floor: exposure floor 12 is above ceiling 5"
    ]


def test_an_exposure_bound_is_checked_against_the_layers_it_combines_with(tmp_path):
    project = edited(
        "project.yaml",
        "  stock:\n",
        "  exposure: {refill_every: 4h, ceiling: 6}\n  stock:\n",
    )
    products = edited(
        PRODUCTS, "    fulfillment: MFN\n", "    fulfillment: MFN\n    exposure: {floor: 8}\n"
    )
    built = build(tmp_path, {**project, **products})
    assert run(check_exposure, built) == [
        "products/audio.yaml:9:23: products[0].exposure.floor: exposure floor 8 is above "
        "ceiling 6 set at project.yaml:17 (defaults.exposure.ceiling) for the US listing of HP-100"
    ]


def test_a_marketplace_exposure_bound_is_checked_against_the_defaults(tmp_path):
    """Listings that set no bound of their own share their marketplace's combined bounds:
    checked once per marketplace, not once per listing."""
    project = edited(
        "project.yaml",
        "  stock:\n",
        "  exposure: {refill_every: 4h, ceiling: 6}\n  stock:\n",
    )
    market = edited(
        "marketplaces/DE.yaml", "currency: EUR\n", "currency: EUR\nexposure: {floor: 8}\n"
    )
    built = build(tmp_path, {**project, **market})
    assert run(check_exposure, built) == [
        "marketplaces/DE.yaml:3:19: exposure.floor: exposure floor 8 is above ceiling 6 set at "
        "project.yaml:17 (defaults.exposure.ceiling) for the DE listings"
    ]


def test_an_exposure_floor_below_or_at_its_ceiling_passes(tmp_path):
    built = build(
        tmp_path,
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\nexposure: {refill_every: 4h, floor: 5, ceiling: 5}\n",
        ),
    )
    assert run(check_exposure, built) == []
