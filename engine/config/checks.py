"""Checks across files, once project, products and marketplaces are built: a value is valid
only against the layers it combines with (a product naming a marketplace, a project default
reaching a JPY marketplace, an override price against bounds set in the marketplace file).

Each problem is reported where it is written; a value that is itself unusable was already
reported by its builder and is skipped here.
"""

from __future__ import annotations

from decimal import Decimal

from engine.config.builders.context import BuildContext
from engine.config.model import (
    MARKETPLACE_CURRENCY_SETTINGS,
    Layer,
    MarketplaceConfig,
    Product,
    Project,
    Setting,
    effective_setting,
)
from engine.core.money import CURRENCIES, MoneyError, PriceEnding, to_decimal


def check_product_marketplaces(
    ctx: BuildContext, products: dict[str, Product], marketplaces: dict[str, MarketplaceConfig]
) -> None:
    """A product's own `marketplaces` must be enabled ones."""
    for product in products.values():
        for i, code in enumerate(product.marketplaces or ()):
            where = product.at("marketplaces", i)
            ctx.is_enabled(where.source, where.path, code, marketplaces)


def check_settings(
    ctx: BuildContext,
    project: Project,
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> None:
    """Settings are checked where they are written, against every marketplace they reach."""
    for layer in [project.defaults, *(p.settings for p in products.values())]:
        for key in MARKETPLACE_CURRENCY_SETTINGS & layer.keys():
            ctx.errors.append(
                layer[key].origin.error(
                    f"{key.split('.')[-1]} is an amount in the marketplace currency; set it in "
                    "a marketplace file or its overrides",
                    at_key=True,
                )
            )
        floor = layer.get("promotion_limits.floor")
        if floor is not None and "amount" in floor.value:
            ctx.errors.append(
                floor.origin.error(
                    "floor.amount is in the marketplace currency; set it in a marketplace file "
                    "or use cost_plus_margin_pct here",
                )
            )
    currencies = {code: CURRENCIES[m.info.currency] for code, m in marketplaces.items()}
    for layer, reach in _layers_with_reach(ctx, project, products, marketplaces):
        ending = layer.get("pricing.ending")
        if ending is not None and ending.value is not None:
            for code in reach:
                try:
                    PriceEnding.parse(str(ending.value), currencies[code])
                except MoneyError as exc:
                    ctx.errors.append(ending.origin.error(f"{exc} (applies to {code})"))
                    break
    for code, mkt in marketplaces.items():
        cur = currencies[code]
        for layer in (mkt.settings, *(o.settings for o in mkt.overrides.values())):
            for key in MARKETPLACE_CURRENCY_SETTINGS & layer.keys():
                # tax_delta is added before rounding, so it may be finer than the currency.
                is_bound = key != "pricing.tax_delta"
                ctx.decimal(
                    layer[key].value,
                    layer[key].origin,
                    positive=is_bound,
                    currency=cur if is_bound else None,
                )
            floor = layer.get("promotion_limits.floor")
            if floor is not None and "amount" in floor.value:
                ctx.decimal(floor.value["amount"], floor.origin, positive=True, currency=cur)


def _layers_with_reach(
    ctx: BuildContext,
    project: Project,
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> list[tuple[Layer, list[str]]]:
    """Each settings layer with the marketplaces its price ending reaches: a project
    default ending is shadowed by a marketplace that sets its own (JPY needs "80", not
    ".99"); a product's ending reaches every marketplace listing the product."""
    checked = {c: m for c, m in marketplaces.items() if c not in ctx.unbuilt_marketplaces}
    shadowing = {c for c, m in checked.items() if "pricing.ending" in m.settings}
    out: list[tuple[Layer, list[str]]] = [
        (project.defaults, [c for c in checked if c not in shadowing])
    ]
    out += [
        (p.settings, [c for c, m in checked.items() if m.lists(p.sku)])
        for p in products.values()
        if p.settings
    ]
    for code, m in marketplaces.items():
        out.append((m.settings, [code]))
        out += [(o.settings, [code]) for o in m.overrides.values() if o.settings]
    return out


def check_translations(
    ctx: BuildContext,
    project: Project,
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> None:
    """Never publish English text to a Japanese listing silently."""
    for code, mkt in marketplaces.items():
        if code in ctx.unbuilt_marketplaces:
            continue  # its listings are unknown until its own error is fixed
        lang = mkt.info.language
        for sku, product in products.items():
            if lang in product.texts or not mkt.lists(sku):
                continue
            override = mkt.overrides.get(sku)
            if override is not None and override.title is not None:
                continue
            policy = effective_setting("missing_translation", project, mkt, product, override)
            if policy == "needs_review":
                continue
            ctx.errors.append(
                product.at("texts").error(
                    f"no '{lang}' texts for the {code} listing of {sku}; add texts.{lang}, "
                    f"exclude {sku} in marketplaces/{code}.yaml, or set "
                    "missing_translation: needs_review",
                )
            )


def check_bounds(
    ctx: BuildContext,
    project: Project,
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> None:
    """Amazon suppresses an offer priced outside its min/max allowed price, and no price
    fits min > max. Bounds are set in a marketplace file and overridden per SKU, so each
    layer is checked against the bounds in effect where it is written."""
    for mkt in marketplaces.values():
        _check_bound_order(ctx, mkt.settings, {})
        for override in mkt.overrides.values():
            _check_bound_order(ctx, override.settings, mkt.settings)
    for mkt in marketplaces.values():
        for sku, override in mkt.overrides.items():
            if override.our_price is None:
                continue
            args = (project, mkt, products[sku], override)
            try:
                low = effective_setting("pricing.min_price", *args)
                high = effective_setting("pricing.max_price", *args)
                low = None if low is None else to_decimal(low)
                high = None if high is None else to_decimal(high)
            except MoneyError:
                continue  # reported where the bound is written
            price = override.our_price
            if (low is not None and price < low) or (high is not None and price > high):
                ctx.errors.append(
                    override.at("our_price").error(
                        f"our_price {price} is outside the bounds "
                        f"[{_or_dash(low)}, {_or_dash(high)}]"
                        f" for {mkt.code}; Amazon would suppress the offer"
                    )
                )


def _check_bound_order(ctx: BuildContext, layer: Layer, below: Layer) -> None:
    """min_price not above max_price in `layer`, either bound possibly inherited from
    `below`; reported at the bound `layer` sets."""
    low_key, high_key = "pricing.min_price", "pricing.max_price"
    low = layer.get(low_key) or below.get(low_key)
    high = layer.get(high_key) or below.get(high_key)
    if low is None or high is None or not {low_key, high_key} & layer.keys():
        return
    try:
        low_amount, high_amount = to_decimal(low.value), to_decimal(high.value)
    except MoneyError:
        return  # reported where the bound is written
    if low_amount <= high_amount:
        return
    if low_key in layer:
        here, other, other_key = low, high, high_key
        message = f"min_price {low_amount} is above max_price {high_amount}"
    else:
        here, other, other_key = high, low, low_key
        message = f"max_price {high_amount} is below min_price {low_amount}"
    if other_key not in layer:
        message += f" set at {other.origin.describe().split(' ')[0]}"
    ctx.errors.append(here.origin.error(message))


def _or_dash(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def check_exposure(
    ctx: BuildContext,
    project: Project,
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> None:
    """An exposure `floor` above its `ceiling` leaves no cap a listing could advertise
    (engine.desired.exposure would silently let the ceiling win). Each layer is checked
    alone, then every merchant-fulfilled listing with its layers combined (defaults →
    marketplace → product → override); a pair is reported once, at the bound written in
    the higher layer, naming where the other one is."""
    reported: set[tuple[int, int]] = set()
    layers = [project.defaults, *(p.settings for p in products.values())]
    for mkt in marketplaces.values():
        layers += [mkt.settings, *(o.settings for o in mkt.overrides.values())]
    for layer in layers:
        _check_exposure_order(ctx, [layer], reported)
    # A listing whose product and override set no exposure bound has its marketplace's
    # combined bounds, checked once per marketplace: at 50k listings, stacking every
    # listing's layers made this check a third of building the config (bench/plan_bench.py).
    mfn = [sku for sku, p in products.items() if p.fulfillment == "MFN"]
    bounded = {sku for sku in mfn if _exposed(products[sku].settings)}
    for code, mkt in marketplaces.items():
        if code in ctx.unbuilt_marketplaces or not any(mkt.lists(sku) for sku in mfn):
            continue  # caps apply to merchant-fulfilled listings only
        _check_exposure_order(
            ctx, [project.defaults, mkt.settings], reported, listing=f"{code} listings"
        )
        overridden = {
            sku
            for sku, o in mkt.overrides.items()
            if sku in products and products[sku].fulfillment == "MFN" and _exposed(o.settings)
        }
        for sku in (s for s in products if s in bounded or s in overridden):
            product = products[sku]
            if not mkt.lists(sku):
                continue
            override = mkt.overrides.get(sku)
            stack = [project.defaults, mkt.settings, product.settings]
            if override is not None:
                stack.append(override.settings)
            _check_exposure_order(ctx, stack, reported, listing=f"{code} listing of {sku}")


def _exposed(layer: Layer) -> bool:
    return "exposure.floor" in layer or "exposure.ceiling" in layer


def _check_exposure_order(
    ctx: BuildContext,
    stack: list[Layer],
    reported: set[tuple[int, int]],
    listing: str | None = None,
) -> None:
    """floor not above ceiling in the layers of `stack` (lowest first)."""
    found: dict[str, tuple[int, Setting]] = {}
    for rank, layer in enumerate(stack):
        for key in ("exposure.floor", "exposure.ceiling"):
            if key in layer:
                found[key] = (rank, layer[key])
    if len(found) < 2:
        return
    (floor_rank, floor), (ceiling_rank, ceiling) = (
        found["exposure.floor"],
        found["exposure.ceiling"],
    )
    units = (floor.value, ceiling.value)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in units):
        return  # reported by the schema where it is written
    if floor.value <= ceiling.value or (id(floor), id(ceiling)) in reported:
        return
    reported.add((id(floor), id(ceiling)))
    if floor_rank >= ceiling_rank:
        here, other = floor, ceiling
        message = f"exposure floor {floor.value} is above ceiling {ceiling.value}"
    else:
        here, other = ceiling, floor
        message = f"exposure ceiling {ceiling.value} is below floor {floor.value}"
    if floor_rank != ceiling_rank:
        message += f" set at {other.origin.describe()}"
    if listing is not None:
        message += f" for the {listing}"
    ctx.errors.append(here.origin.error(message))
