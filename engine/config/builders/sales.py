"""sales.yaml or sales/*.yaml: time-boxed sale prices (Amazon's discounted_price).

A sale gives a price or a percentage off, never both. Amazon holds one sale price per offer,
so two sales on one listing at the same time are an error.
"""

from __future__ import annotations

import itertools

from engine.config.builders.context import BuildContext, sub
from engine.config.model import MarketplaceConfig, Origin, Product, Sale
from engine.config.yamlsafe import SourceFile
from engine.core.money import to_decimal


def build_sales(
    ctx: BuildContext,
    srcs: list[SourceFile],
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> list[Sale]:
    """The sales of `srcs`, ids unique across them, overlaps reported."""
    sales: list[Sale] = []
    seen: dict[str, Origin] = {}
    for src in srcs:
        for i, item in enumerate(src.data["sales"]):
            origin = Origin(src, ("sales", i))
            if not ctx.unique_id(item["id"], origin, seen, "sale"):
                continue
            codes = ctx.enabled(
                src, (*origin.path, "marketplaces"), item["marketplaces"], marketplaces
            )
            skus = ctx.selector(src, (*origin.path, "skus"), item["skus"], products)
            window = ctx.window(item, origin)
            has_price, has_pct = "price" in item, "discount_pct" in item
            if has_price == has_pct:
                ctx.errors.append(origin.error("give exactly one of price or discount_pct"))
                continue
            price = pct = None
            if has_price:
                where = sub(origin, "price")
                cur = ctx.single_currency(codes, where, "price")
                price = ctx.decimal(item["price"], where, positive=True, currency=cur)
            else:
                pct = to_decimal(item["discount_pct"])
                if not 0 < pct < 100:
                    ctx.errors.append(
                        sub(origin, "discount_pct").error(
                            f"discount_pct must be between 0 and 100, exclusive (got {pct})"
                        )
                    )
            if window is None or (has_price and price is None):
                continue
            sales.append(Sale(item["id"], codes, skus, price, pct, *window, origin))
    _check_sale_overlaps(ctx, sales, products)
    return sales


def _check_sale_overlaps(
    ctx: BuildContext, sales: list[Sale], products: dict[str, Product]
) -> None:
    """Amazon holds one discounted_price per offer: two sales on one listing at once clash."""
    by_listing: dict[tuple[str, str], list[Sale]] = {}
    for sale in sales:
        for sku in products:
            if sale.skus.matches(sku):
                for code in sale.marketplaces:
                    by_listing.setdefault((code, sku), []).append(sale)
    reported: set[tuple[str, str]] = set()
    for (code, sku), group in by_listing.items():
        group.sort(key=lambda s: s.start)
        for earlier, later in itertools.pairwise(group):
            if later.start < earlier.end and (earlier.id, later.id) not in reported:
                reported.add((earlier.id, later.id))
                ctx.errors.append(
                    later.origin.error(
                        f"sale {later.id!r} overlaps sale {earlier.id!r} on "
                        f"{code} {sku} (a listing has one sale price at a time)"
                    )
                )
