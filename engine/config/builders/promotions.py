"""promotions.yaml or promotions/*.yaml: coupons, promo codes and the like, each a
percentage or an amount off (an amount is in one currency, so its marketplaces must share it).
"""

from __future__ import annotations

from engine.config.builders.context import BuildContext, sub
from engine.config.model import MarketplaceConfig, Origin, Product, Promotion
from engine.config.yamlsafe import SourceFile
from engine.core.money import to_decimal


def build_promotions(
    ctx: BuildContext,
    srcs: list[SourceFile],
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> list[Promotion]:
    """The promotions of `srcs`, ids unique across them."""
    promotions: list[Promotion] = []
    seen: dict[str, Origin] = {}
    for src in srcs:
        for i, item in enumerate(src.data["promotions"]):
            origin = Origin(src, ("promotions", i))
            if not ctx.unique_id(item["id"], origin, seen, "promotion"):
                continue
            codes = ctx.enabled(
                src, (*origin.path, "marketplaces"), item["marketplaces"], marketplaces
            )
            skus = ctx.selector(src, (*origin.path, "skus"), item["skus"], products)
            window = ctx.window(item, origin)
            if item["kind"] == "promo_code" and not item.get("code"):
                ctx.errors.append(origin.error("a promo_code promotion needs its code"))
            discount = item["discount"]
            percent = amount = None
            if "percent" in discount:
                percent = to_decimal(discount["percent"])
                if percent <= 0:
                    ctx.errors.append(
                        sub(origin, "discount", "percent").error(
                            "discount percent must be greater than zero"
                        )
                    )
            else:
                where = sub(origin, "discount", "amount")
                cur = ctx.single_currency(codes, where, "discount amount")
                amount = ctx.decimal(discount["amount"], where, positive=True, currency=cur)
            if window is None:
                continue
            promotions.append(
                Promotion(
                    id=item["id"],
                    kind=item["kind"],
                    code=item.get("code"),
                    percent=percent,
                    amount=amount,
                    marketplaces=codes,
                    skus=skus,
                    start=window[0],
                    end=window[1],
                    max_redemptions=item.get("max_redemptions"),
                    origin=origin,
                )
            )
    return promotions
