"""Guardrail settings with the same layering as rendering, and the built-in safe defaults.

Promotion limits layer per listing (project defaults → marketplace → product → override);
guardrail levels and plan-wide thresholds layer per marketplace (project defaults →
marketplace file). Anything nobody set takes the default below, chosen so that a config
without any guardrail settings is still protected.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.config.model import Config, Layer, effective_setting
from engine.core.money import to_decimal
from engine.guardrails.verdict import Level

DEFAULTS: dict[str, Any] = {
    "pricing.tax_delta": 0,  # as rendering assumes
    # Never sell below cost.
    "promotion_limits.floor": {"cost_plus_margin_pct": 0},
    "promotion_limits.max_discount_pct": 50,
    "promotion_limits.max_duration_days": 31,
    "promotion_limits.max_units_at_promo_price": 50,
    # 199 -> 1.99 is -99 %, a JPY price typed as USD is off by two orders of magnitude;
    # ordinary repricing stays well inside these.
    "guardrails.price_change_size.max_change_pct": 30,
    "guardrails.price_change_size.max_fx_deviation_pct": 25,
    # Exchange rates move a few percent in a month; a slipped digit moves them tenfold.
    "guardrails.fx_rate.max_change_pct": 10,
    "guardrails.blast_radius.max_price_change_share_pct": 20,
    "guardrails.blast_radius.min_price_changes": 5,
    "guardrails.blast_radius.max_deletes": 0,
    # Amazon's target is a cancellation rate under 2.5 % and an ODR under 1 %: close the
    # gate while there is still room.
    "guardrails.account_health.cancellation_rate_warning_pct": Decimal("2.0"),
    "guardrails.account_health.odr_block_pct": Decimal("0.8"),
}


_UNSET = object()


class Settings:
    """Looks up one config's guardrail settings, per listing or per marketplace."""

    def __init__(self, config: Config, default_levels: dict[str, Level]):
        self._config = config
        self._default_levels = default_levels
        self._marketplace_layers: dict[str, Layer] = {
            code: {**config.project.defaults, **mkt.settings}
            for code, mkt in config.marketplaces.items()
        }
        self._inherited: dict[tuple[str, str], Any] = {}

    @property
    def rules(self) -> tuple[str, ...]:
        """The ids of the rules whose levels these settings hold."""
        return tuple(self._default_levels)

    def inherits(self, marketplace: str, sku: str) -> bool:
        """Whether the listing has no settings of its own (on its product or in an
        override), so that every listing setting is its marketplace's."""
        mkt = self._config.marketplaces[marketplace]
        override = mkt.overrides.get(sku)
        return not self._config.products[sku].settings and (
            override is None or not override.settings
        )

    def listing(self, key: str, marketplace: str, sku: str) -> Any:
        """A setting after layering for one listing. Rules look up settings for every
        listing of a large catalog, nearly all of which only inherit: those are looked up
        once per marketplace."""
        if self.inherits(marketplace, sku):
            cached = self._inherited.get((key, marketplace), _UNSET)
            if cached is _UNSET:
                cached = self._inherited[(key, marketplace)] = self._layered(key, marketplace, sku)
            return cached
        return self._layered(key, marketplace, sku)

    def _layered(self, key: str, marketplace: str, sku: str) -> Any:
        config = self._config
        mkt = config.marketplaces[marketplace]
        value = effective_setting(
            key, config.project, mkt, config.products[sku], mkt.overrides.get(sku)
        )
        return DEFAULTS[key] if value is None else value

    def marketplace(self, key: str, marketplace: str | None) -> Any:
        """A setting for one marketplace; None: the project default."""
        setting = self._layer(marketplace).get(key)
        return DEFAULTS[key] if setting is None else setting.value

    def percent(self, key: str, marketplace: str, sku: str | None = None) -> Decimal:
        value = (
            self.marketplace(key, marketplace)
            if sku is None
            else self.listing(key, marketplace, sku)
        )
        return to_decimal(value)

    def level(self, rule: str, marketplace: str | None) -> Level:
        setting = self._layer(marketplace).get(f"guardrails.{rule}.level")
        return self._default_levels[rule] if setting is None else setting.value

    def _layer(self, marketplace: str | None) -> Layer:
        if marketplace is None:
            return self._config.project.defaults
        return self._marketplace_layers[marketplace]
