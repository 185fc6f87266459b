"""marketplaces/<CODE>.yaml: per-marketplace listings, settings and overrides.

An enabled marketplace without a file gets one made of defaults. A file must be named for
the marketplace it describes, and describe an enabled one.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config.builders.context import BuildContext
from engine.config.model import (
    MarketplaceConfig,
    Origin,
    Override,
    Product,
    Project,
    SkuSelector,
    flatten_settings,
)
from engine.config.yamlsafe import SourceFile
from engine.core.marketplaces import MARKETPLACES, Marketplace
from engine.core.money import CURRENCIES, Currency


def build_marketplaces(
    ctx: BuildContext, srcs: list[SourceFile], project: Project, products: dict[str, Product]
) -> dict[str, MarketplaceConfig]:
    """Every enabled marketplace, in project.yaml order, from its file or its defaults."""
    by_code: dict[str, MarketplaceConfig] = {}
    for src in srcs:
        data = src.data
        code = data["marketplace"]
        stem = Path(src.name).stem
        if code not in MARKETPLACES:
            ctx.unknown_marketplace(src, ("marketplace",), code)
            ctx.unbuilt_marketplaces.add(stem)
            continue
        if stem != code:
            ctx.errors.append(
                src.error(
                    ("marketplace",),
                    f"file is named {stem}.yaml but describes {code}; name it {code}.yaml",
                )
            )
            ctx.unbuilt_marketplaces.add(stem)
            continue
        if code not in project.marketplaces:
            ctx.errors.append(
                src.error(
                    ("marketplace",),
                    f"{code} is not enabled in project.yaml marketplaces; enable it or delete "
                    "this file",
                )
            )
            continue
        info = MARKETPLACES[code]
        if "currency" in data and data["currency"] != info.currency:
            ctx.errors.append(
                src.error(
                    ("currency",),
                    f"{data['currency']} does not match marketplace {code}, which sells in "
                    f"{info.currency}",
                )
            )
        by_code[code] = _marketplace(ctx, src, info, products)
    result: dict[str, MarketplaceConfig] = {}
    for code in project.marketplaces:
        result[code] = by_code.get(code) or MarketplaceConfig(
            code=code,
            info=MARKETPLACES[code],
            include=None,
            exclude=SkuSelector.of(()),
            settings={},
            overrides={},
            source=None,
            prune=SkuSelector.of(()),
            elsewhere=_listed_elsewhere(code, products),
        )
    return result


def _marketplace(
    ctx: BuildContext, src: SourceFile, info: Marketplace, products: dict[str, Product]
) -> MarketplaceConfig:
    data = src.data
    cur = CURRENCIES[info.currency]
    listings = data.get("listings", {})
    include = SkuSelector.of(listings["include"]) if "include" in listings else None
    exclude = SkuSelector.of(listings.get("exclude", ()))
    for key in ("include", "exclude"):
        for i, pattern in enumerate(listings.get(key, ())):
            if not ctx.names_a_sku(pattern, products):
                ctx.errors.append(
                    src.error(("listings", key, i), f"pattern {pattern!r} matches no product SKU")
                )
    overrides: dict[str, Override] = {}
    for sku, values in data.get("overrides", {}).items():
        origin = Origin(src, ("overrides", sku))
        if sku not in products:
            if not ctx.names_a_sku(sku, products):
                ctx.errors.append(origin.error(f"override for unknown SKU {sku!r}", at_key=True))
            continue
        overrides[sku] = Override(
            sku=sku,
            our_price=_opt_price(ctx, values, "our_price", origin, cur),
            list_price=_opt_price(ctx, values, "list_price", origin, cur),
            title=values.get("title"),
            bullet_points=tuple(values["bullet_points"]) if "bullet_points" in values else None,
            description=values.get("description"),
            settings=flatten_settings(values, src, origin.path),
            origin=origin,
        )
    return MarketplaceConfig(
        code=info.code,
        info=info,
        include=include,
        exclude=exclude,
        settings=flatten_settings(data, src, ()),
        overrides=overrides,
        source=src,
        prune=SkuSelector.of(data.get("prune", ())),
        elsewhere=_listed_elsewhere(info.code, products),
    )


def _opt_price(
    ctx: BuildContext, values: dict[str, Any], key: str, origin: Origin, cur: Currency
) -> Decimal | None:
    if key not in values:
        return None
    where = Origin(origin.source, (*origin.path, key))
    return ctx.decimal(values[key], where, positive=True, currency=cur)


def _listed_elsewhere(code: str, products: dict[str, Product]) -> frozenset[str]:
    """SKUs whose product limits itself to marketplaces other than `code`."""
    return frozenset(
        sku
        for sku, p in products.items()
        if p.marketplaces is not None and code not in p.marketplaces
    )
