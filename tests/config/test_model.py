"""effective_setting: a setting's value after layering defaults, marketplace, product and
override (the order every renderer and guardrail relies on)."""

from __future__ import annotations

from engine.config.model import BUILTIN_DEFAULTS, effective_setting
from tests.config.built import build
from tests.minimal_config import edited

DE_OVERRIDE = edited(
    "marketplaces/DE.yaml",
    "currency: EUR\n",
    "currency: EUR\noverrides:\n  HP-100: {pricing: {rounding: down}}\n",
)
PRODUCT_ROUNDING = edited(
    "products/audio.yaml",
    "    fulfillment: MFN\n",
    "    fulfillment: MFN\n    pricing: {rounding: up}\n",
)


def test_each_layer_shadows_the_ones_below(tmp_path):
    built = build(tmp_path, DE_OVERRIDE | PRODUCT_ROUNDING)
    project, hp, spk = built.project, built.products["HP-100"], built.products["SPK-1"]
    de, us, jp = (built.marketplaces[c] for c in ("DE", "US", "JP"))
    # override > product > marketplace > project defaults > built-in defaults
    assert effective_setting("pricing.rounding", project, de, hp, de.overrides["HP-100"]) == "down"
    assert effective_setting("pricing.rounding", project, de, hp, None) == "up"
    assert effective_setting("pricing.ending", project, jp, spk, None) == "80"
    assert effective_setting("pricing.ending", project, us, spk, None) == ".99"
    assert effective_setting("pricing.rounding", project, us, spk, None) == "nearest"
    assert effective_setting("missing_translation", project, us, spk, None) == "error"
    assert BUILTIN_DEFAULTS["missing_translation"] == "error"
    assert effective_setting("stock.lead_time_days", project, us, spk, None) is None


def test_a_setting_a_layer_does_not_set_falls_through_it(tmp_path):
    built = build(tmp_path, DE_OVERRIDE)
    de, hp = built.marketplaces["DE"], built.products["HP-100"]
    override = de.overrides["HP-100"]
    assert effective_setting("pricing.min_price", built.project, de, hp, override) == "10.00"
    assert effective_setting("stock.alert_level", built.project, de, hp, override) == 5
