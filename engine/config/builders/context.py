"""What every builder shares while one config is built: where problems go, and what the
files that failed to load would have defined.

Builders report into `errors` and go on, so that one run lists every problem; the helpers
here check the values several file kinds hold (amounts, marketplace codes, SKU patterns,
ids, time windows) the same way everywhere.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config.errors import ConfigError
from engine.config.model import MarketplaceConfig, Origin, Product, SkuSelector
from engine.config.yamlsafe import SourceFile
from engine.core.marketplaces import MARKETPLACES, did_you_mean
from engine.core.money import CURRENCIES, Currency, MoneyError, quantize, to_decimal


@dataclass
class BuildContext:
    """The state of building one config from its (schema-valid) sources."""

    root: Path
    errors: list[ConfigError] = field(default_factory=list)
    # What files that failed to load would have defined. References into these holes are
    # not reported: the error to fix is in the file itself, and a cascade of "unknown SKU"
    # errors elsewhere would only hide it.
    unbuilt_skus: set[str] = field(default_factory=set)
    catalog_unknown: bool = False  # a products file could not be read at all
    unbuilt_marketplaces: set[str] = field(default_factory=set)

    def note_unbuilt_products(self, source: SourceFile | None) -> None:
        """Remember the SKUs of a products file that failed to load, if they can be told."""
        data = source.data if source is not None else None
        items = data.get("products") if isinstance(data, dict) else None
        skus = [i.get("sku") if isinstance(i, dict) else None for i in items or ()]
        if isinstance(items, list) and all(isinstance(sku, str) for sku in skus):
            self.unbuilt_skus.update(skus)
        else:
            self.catalog_unknown = True

    def names_a_sku(self, pattern: str, products: dict[str, Product]) -> bool:
        """Whether a SKU or pattern matches a product, or might match one that failed to load."""
        if self.catalog_unknown:
            return True
        selector = SkuSelector.of([pattern])
        return any(selector.matches(s) for s in itertools.chain(products, self.unbuilt_skus))

    def decimal(
        self,
        value: Any,
        origin: Origin,
        *,
        positive: bool = False,
        non_negative: bool = False,
        currency: Currency | None = None,
    ) -> Decimal | None:
        """The amount at `origin`, or None after reporting why it is unusable. With a
        `currency`, an amount it cannot express (8980.50 JPY, 44.999 EUR) is an error
        rather than something rendering would silently round."""
        try:
            amount = to_decimal(value)
        except MoneyError as exc:
            self.errors.append(origin.error(str(exc)))
            return None
        if currency is not None and amount != quantize(amount, currency):
            self.errors.append(
                origin.error(
                    f"{amount} is not a valid {currency.code} amount: {currency.code} has "
                    f"{currency.minor_unit} decimal place(s)"
                )
            )
            return None
        if positive and amount <= 0:
            self.errors.append(origin.error(f"must be greater than zero (got {amount})"))
            return None
        if non_negative and amount < 0:
            self.errors.append(origin.error(f"must not be negative (got {amount})"))
            return None
        return amount

    def unknown_marketplace(self, src: SourceFile, path: tuple, code: str) -> None:
        known = ", ".join(MARKETPLACES)
        hint = did_you_mean(code)
        self.errors.append(src.error(path, f"unknown marketplace {code!r}{hint}; known: {known}"))

    def is_enabled(
        self, src: SourceFile, path: tuple, code: str, marketplaces: dict[str, MarketplaceConfig]
    ) -> bool:
        """Whether `code` is an enabled marketplace; if not, reported at `path`."""
        if code not in MARKETPLACES:
            self.unknown_marketplace(src, path, code)
        elif code not in marketplaces:
            self.errors.append(
                src.error(path, f"marketplace {code} is not enabled in project.yaml")
            )
        else:
            return True
        return False

    def enabled(
        self,
        src: SourceFile,
        path: tuple,
        codes: list[str],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> tuple[str, ...]:
        """`codes`, each one not enabled reported."""
        for i, code in enumerate(codes):
            self.is_enabled(src, (*path, i), code, marketplaces)
        return tuple(codes)

    def selector(
        self, src: SourceFile, path: tuple, patterns: list[str], products: dict[str, Product]
    ) -> SkuSelector:
        """The selector of `patterns`, each one matching no product reported."""
        selector = SkuSelector.of(patterns)
        for i, pattern in enumerate(patterns):
            if not self.names_a_sku(pattern, products):
                self.errors.append(src.error((*path, i), f"{pattern!r} matches no product SKU"))
        return selector

    def single_currency(self, codes: tuple[str, ...], origin: Origin, what: str) -> Currency | None:
        """The one currency an amount for `codes` is in; None (reported) when they differ."""
        currencies = sorted({MARKETPLACES[c].currency for c in codes if c in MARKETPLACES})
        if len(currencies) > 1:
            self.errors.append(
                origin.error(
                    f"{what} is an amount, but the marketplaces sell in {', '.join(currencies)}; "
                    "split it per currency or use a percentage"
                )
            )
        return CURRENCIES[currencies[0]] if len(currencies) == 1 else None

    def unique_id(self, ident: str, origin: Origin, seen: dict[str, Origin], what: str) -> bool:
        """Whether `ident` is new to `seen` (and now in it); a repeat is reported."""
        if ident in seen:
            self.errors.append(
                sub(origin, "id").error(
                    f"{what} id {ident!r} is already used at {seen[ident].describe().split(' ')[0]}"
                )
            )
            return False
        seen[ident] = sub(origin, "id")
        return True

    def timestamp(self, text: str, origin: Origin) -> datetime | None:
        """An ISO date-time with its timezone, in UTC; None (reported) otherwise."""
        try:
            value = datetime.fromisoformat(str(text).strip().replace(" ", "T", 1))
        except ValueError as exc:
            self.errors.append(origin.error(f"invalid date-time {text!r}: {exc}"))
            return None
        if value.tzinfo is None:
            self.errors.append(origin.error(f"{text!r} has no timezone; add Z for UTC"))
            return None
        return value.astimezone(UTC)

    def calendar_date(self, text: str, origin: Origin) -> date:
        """An ISO date; date.min (reported) when it is not one."""
        try:
            return date.fromisoformat(str(text))
        except ValueError as exc:
            self.errors.append(origin.error(f"invalid date {text!r}: {exc}"))
            return date.min

    def window(self, item: dict[str, Any], origin: Origin) -> tuple[datetime, datetime] | None:
        """The `start` and `end` of a sale or promotion; None (reported) unless end > start."""
        start = self.timestamp(item["start"], sub(origin, "start"))
        end = self.timestamp(item["end"], sub(origin, "end"))
        if start is None or end is None:
            return None
        if end <= start:
            self.errors.append(
                sub(origin, "end").error(f"end {item['end']} is not after start {item['start']}")
            )
            return None
        return start, end


def sub(origin: Origin, *path: str | int) -> Origin:
    """The origin of a value inside the one at `origin`."""
    return Origin(origin.source, (*origin.path, *path))
