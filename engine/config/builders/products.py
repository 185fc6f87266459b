"""products.yaml or products/*.yaml: the catalog.

Each SKU is checked against what Amazon accepts, and each cost against the base price
(converted with fx.yaml): a product whose cost is above its price would lose money on every
sale. A SKU defined twice, in one file or two, is an error at the second definition.
"""

from __future__ import annotations

import re
from typing import Any

from engine.config.builders.context import BuildContext
from engine.config.model import FxTable, Money, Origin, Product, Project, Texts, flatten_settings
from engine.config.yamlsafe import SourceFile
from engine.core.money import CURRENCIES

MAX_SKU_LENGTH = 40
SKU_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def build_products(
    ctx: BuildContext, srcs: list[SourceFile], project: Project, fx: FxTable
) -> dict[str, Product]:
    """The products of `srcs` by SKU. Each file's parsed data is dropped once built."""
    products: dict[str, Product] = {}
    for src in srcs:
        for i, item in enumerate(src.data["products"]):
            origin = Origin(src, ("products", i))
            product = _product(ctx, item, origin, project, fx)
            if product is None:
                ctx.unbuilt_skus.add(item["sku"])
                continue
            first = products.get(product.sku)
            if first is not None:
                ctx.errors.append(
                    Origin(src, ("products", i, "sku")).error(
                        f"SKU {product.sku!r} is already defined at "
                        f"{first.at('sku').describe().split(' ')[0]}"
                    )
                )
                continue
            products[product.sku] = product
        # The model holds everything the parsed tree did, and positions are recomposed
        # from the text; keeping the tree of a 100k-SKU catalog alive cost 195 MiB.
        src.data = None
    return products


def _product(
    ctx: BuildContext, item: dict[str, Any], origin: Origin, project: Project, fx: FxTable
) -> Product | None:
    def at(*path: str | int) -> Origin:
        return Origin(origin.source, (*origin.path, *path))

    sku = item["sku"]
    ok = _check_sku(ctx, sku, at("sku"))
    base_price = ctx.decimal(item["base_price"], at("base_price"), positive=True)
    list_price = None
    if "list_price" in item:
        list_price = ctx.decimal(item["list_price"], at("list_price"), positive=True)
    cost_amount = ctx.decimal(item["cost"]["amount"], at("cost", "amount"), non_negative=True)
    cost_currency = item["cost"]["currency"]
    if cost_currency not in CURRENCIES:
        ctx.errors.append(at("cost", "currency").error(f"unknown currency {cost_currency!r}"))
        return None
    if base_price is None or cost_amount is None or not ok:
        return None
    if cost_currency != fx.base_currency and cost_currency not in fx.rates:
        ctx.errors.append(
            at("cost", "currency").error(
                f"no exchange rate for {cost_currency} in fx.yaml, so the cost cannot be "
                "compared with prices"
            )
        )
    else:
        cost_in_base = cost_amount / fx.rate(cost_currency)
        if cost_in_base > base_price:
            ctx.errors.append(
                at("cost", "amount").error(
                    f"cost {cost_amount} {cost_currency} is above the base price "
                    f"{base_price} {project.base_currency}: every sale would lose money"
                )
            )
    texts = {
        lang: Texts(
            title=t["title"],
            bullet_points=tuple(t.get("bullet_points", ())),
            description=t.get("description", ""),
        )
        for lang, t in item["texts"].items()
    }
    settings = flatten_settings(item, origin.source, origin.path)
    return Product(
        sku=sku,
        product_type=item["product_type"],
        brand=item["brand"],
        cost=Money(cost_amount, cost_currency),
        base_price=base_price,
        list_price=list_price,
        fulfillment=item["fulfillment"],
        identifiers=tuple(sorted(item.get("identifiers", {}).items())),
        texts=texts,
        settings=settings,
        origin=origin,
        marketplaces=tuple(item["marketplaces"]) if "marketplaces" in item else None,
    )


def _check_sku(ctx: BuildContext, sku: str, origin: Origin) -> bool:
    if len(sku) > MAX_SKU_LENGTH:
        ctx.errors.append(
            origin.error(
                f"SKU {sku!r} is {len(sku)} characters; Amazon allows at most {MAX_SKU_LENGTH}"
            )
        )
        return False
    if not SKU_CHARS.match(sku):
        ctx.errors.append(
            origin.error(
                f"SKU {sku!r} has characters Amazon rejects or that break SP-API paths; "
                "use letters, digits, '-', '_' and '.', starting with a letter or digit"
            )
        )
        return False
    return True
