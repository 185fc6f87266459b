"""Render the desired state: one Resource per (marketplace, SKU) from a loaded Config.

Pure: no I/O and no clock reads. `now` decides which sales are over; live quantities
(what each MFN listing holds today) and the units reserved for unshipped orders drive stock
allocation and are passed in too.

The same code renders a whole catalog and explains one listing: `render_listing` takes an
optional `Trace` that records, for every field, the value and the config lines it came
from. Rendering without a trace records nothing and pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.config.model import (
    BUILTIN_DEFAULTS,
    Config,
    Layer,
    MarketplaceConfig,
    Origin,
    Override,
    Product,
    Sale,
)
from engine.core.gcpause import gc_paused
from engine.core.money import to_decimal
from engine.core.resource import Resource, address, build_resource
from engine.core.sale import SalePrice
from engine.core.slots import constructor
from engine.desired.exposure import (
    Cap,
    ExposureRule,
    RefillHold,
    SalesHistory,
    exposure_cap,
    exposure_rule,
    listing_rule,
)
from engine.desired.pricing import (
    Floor,
    FloorRule,
    PriceRule,
    convert,
    final_price,
    price_rule,
    sale_price_from_discount,
    target_price,
)
from engine.desired.stock import (
    Replenishment,
    Reservation,
    SiteStock,
    allocated_quantities,
    recommend_fba,
)

LiveQuantities = Mapping[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class NeedsReview:
    marketplace: str
    sku: str
    reason: str

    @property
    def address(self) -> str:
        return address(self.marketplace, self.sku)


@dataclass(frozen=True, slots=True)
class DesiredState:
    resources: dict[str, Resource]  # by address; marketplaces in project order, SKUs in file order
    needs_review: tuple[NeedsReview, ...]
    replenishment: tuple[Replenishment, ...]  # empty when render(replenishment=False)
    rendered_at: datetime

    def for_marketplaces(self, codes: Iterable[str]) -> DesiredState:
        wanted = set(codes)
        return DesiredState(
            resources={a: r for a, r in self.resources.items() if r.marketplace in wanted},
            needs_review=tuple(n for n in self.needs_review if n.marketplace in wanted),
            replenishment=tuple(r for r in self.replenishment if r.marketplace in wanted),
            rendered_at=self.rendered_at,
        )


@dataclass(frozen=True, slots=True)
class TracedField:
    name: str
    value: Any
    origins: tuple[Origin, ...]
    note: str = ""


@dataclass
class Trace:
    """Collects every rendered field of one listing with the config lines behind it."""

    fields: list[TracedField] = field(default_factory=list)
    settings: dict[str, tuple[Any, Origin | None]] = field(default_factory=dict)

    def add(self, name: str, value: Any, *origins: Origin | None, note: str = "") -> None:
        self.fields.append(TracedField(name, value, tuple(o for o in origins if o), note))

    def annotate(self, name: str, note: str) -> None:
        """Add `note` to the field `name`: for what only the caller knows, such as the units
        `explain` saw reserved, without widening render_listing for every listing."""
        for index, traced in enumerate(self.fields):
            if traced.name == name:
                joined = f"{traced.note}; {note}" if traced.note else note
                self.fields[index] = TracedField(traced.name, traced.value, traced.origins, joined)


def render(
    config: Config,
    now: datetime,
    live_quantities: LiveQuantities | None = None,
    *,
    reservation: Reservation | None = None,
    replenishment: bool = True,
    allocate: bool = True,
    history: SalesHistory | None = None,
) -> DesiredState:
    """Every listing the config describes. Without live quantities every MFN site starts
    from 0, so the allocation shows what a fresh account would get. Without a reservation
    (orders never pulled) no unit on hand is taken as sold. Without a sales `history` every
    exposure cap sits at its floor and no refill is held (engine.desired.exposure).
    `replenishment=False` leaves out the FBA shipment recommendations (a plan does not use
    them, and at 1M listings they were 200,000 recommendations worked out and dropped).
    `allocate=False` leaves every MFN quantity None (and recommends nothing): a plan renders
    before it reads live, and allocates with `allocate_stock` once the live quantities are
    known."""
    if now.tzinfo is None:
        raise ValueError("render needs a timezone-aware `now`")
    with gc_paused():
        return _render(
            config,
            now,
            live_quantities or {},
            reservation,
            replenishment and allocate,
            allocate,
            history,
        )


def allocate_stock(
    config: Config,
    desired: DesiredState,
    live_quantities: LiveQuantities | None = None,
    *,
    reservation: Reservation | None = None,
    history: SalesHistory | None = None,
) -> DesiredState:
    """`desired` (rendered with `allocate=False`, possibly narrowed to some marketplaces)
    with every MFN quantity allocated from central stock, the live quantities, the units
    reserved for unshipped orders and the exposure caps and refill holds of `history`: the
    quantities `render` would have given with the same inputs. Allocation spreads each SKU
    over every enabled marketplace that lists it, so a narrowed state gets the same
    quantities as the whole one."""
    context = _Context(config, desired.rendered_at, history)
    live = live_quantities or {}
    reserved = {} if reservation is None else reservation.units
    resources = dict(desired.resources)
    markets = list(config.marketplaces.values())
    for sku, product in config.products.items():
        if product.fulfillment != "MFN":
            continue
        sites = [(mkt, mkt.overrides.get(sku)) for mkt in markets if mkt.lists(sku)]
        quantities, _ = _allocate(context, live, reserved, product, sites, recommend=False)
        for (mkt, _override), quantity in zip(sites, quantities, strict=True):
            key = address(mkt.code, sku)
            resource = resources.get(key)
            if resource is not None:
                resources[key] = resource.with_quantity(quantity)
    return DesiredState(resources, desired.needs_review, desired.replenishment, desired.rendered_at)


def _render(
    config: Config,
    now: datetime,
    live: LiveQuantities,
    reservation: Reservation | None,
    replenishment: bool,
    allocate: bool = True,
    history: SalesHistory | None = None,
) -> DesiredState:
    """Product by product (a product's data is read for all its marketplaces while it is
    at hand: at 1M listings, sweeping the whole catalog once per marketplace made rendering
    memory-bound), then gathered marketplace by marketplace."""
    context = _Context(config, now, history)
    reserved = {} if reservation is None else reservation.units
    rendered: dict[str, list[Resource]] = {code: [] for code in config.marketplaces}
    held: dict[str, list[NeedsReview]] = {code: [] for code in config.marketplaces}
    recommendations: list[Replenishment] = []
    markets = list(config.marketplaces.values())
    for sku, product in config.products.items():
        sites = [(mkt, mkt.overrides.get(sku)) for mkt in markets if mkt.lists(sku)]
        if allocate:
            quantities, recommended = _allocate(
                context, live, reserved, product, sites, recommend=replenishment
            )
        else:
            quantities, recommended = [None] * len(sites), []
        recommendations.extend(recommended)
        for (mkt, override), quantity in zip(sites, quantities, strict=True):
            if not _has_texts(mkt, product, override):
                held[mkt.code].append(
                    NeedsReview(
                        mkt.code,
                        sku,
                        f"no '{mkt.info.language}' translation (missing_translation: "
                        "needs_review); not rendered",
                    )
                )
                continue
            rendered[mkt.code].append(render_listing(context, mkt, product, override, quantity))
    resources = {address(code, r.sku): r for code, listings in rendered.items() for r in listings}
    needs_review = tuple(n for items in held.values() for n in items)
    return DesiredState(resources, needs_review, tuple(recommendations), now)


def explain(
    config: Config,
    now: datetime,
    marketplace: str,
    sku: str,
    live_quantities: LiveQuantities | None = None,
    *,
    reservation: Reservation | None = None,
    history: SalesHistory | None = None,
) -> Trace:
    """Trace of one listing's fields. Raises KeyError when the listing is not rendered.
    An MFN quantity's note says what was on hand, how many units were reserved, and the
    listing's exposure cap and refill hold, if any."""
    mkt = config.marketplaces[marketplace]
    product = config.products[sku]
    context = _Context(config, now, history)
    if not mkt.lists(sku):
        raise KeyError(f"{sku} is not listed in {marketplace} (listings include/exclude)")
    override = mkt.overrides.get(sku)
    if not _has_texts(mkt, product, override):
        raise KeyError(f"{sku} has no '{mkt.info.language}' texts and is held for review")
    sites = [(m, m.overrides.get(sku)) for m in config.marketplaces.values() if m.lists(sku)]
    reserved = {} if reservation is None else reservation.units
    quantities, _ = _allocate(context, live_quantities or {}, reserved, product, sites)
    quantity = quantities[[m.code for m, _ in sites].index(marketplace)]
    trace = Trace()
    render_listing(context, mkt, product, override, quantity, trace)
    if product.fulfillment == "MFN":
        trace.annotate("quantity", _stock_note(config.central_stock.get(sku), sku, reservation))
    rule = exposure_rule(context.settings(mkt, product, override))
    if rule is not None and product.fulfillment == "FBA":
        trace.annotate(
            "quantity", "exposure: not capped, FBA stock is Amazon's (the breaker guards it)"
        )
    elif rule is not None:
        cap, hold = context.exposure(marketplace, sku, rule)
        trace.annotate("quantity", cap.describe())
        if hold is not None:
            trace.annotate("quantity", f"{hold.line()}; the live quantity is kept, never raised")
    return trace


@dataclass(frozen=True, slots=True)
class HeldRefill:
    """A capped listing below its cap that a plan does not refill: the watchdog holds it."""

    address: str
    live: int
    cap: int
    hold: RefillHold

    def line(self) -> str:
        return (
            f"{self.address}: refill held back at {self.live} of its exposure cap of "
            f"{self.cap} ({self.hold.line()}); acknowledge an incident of the listing in "
            "incidents.yaml, or let the watchdog judge its orders, to refill it"
        )


def held_refills(
    config: Config,
    now: datetime,
    addresses: Iterable[str],
    live_quantities: LiveQuantities,
    history: SalesHistory,
) -> list[HeldRefill]:
    """The capped listings among `addresses` whose refill a hold keeps back: held, and
    holding less than their cap live. Only held listings are looked at (few)."""
    wanted = set(addresses)
    context = _Context(config, now, history)
    found = []
    for key in history.holds:
        code, sku = key
        rule = listing_rule(config, code, sku)
        if rule is None or address(code, sku) not in wanted:
            continue
        cap, hold = context.exposure(code, sku, rule)
        live = max(live_quantities.get(key, 0), 0)
        if hold is not None and live < cap.units:
            found.append(HeldRefill(address(code, sku), live, cap.units, hold))
    return found


def _stock_note(on_hand: int | None, sku: str, reservation: Reservation | None) -> str:
    """What the MFN quantity was allocated from: on hand, and the units reserved for
    unshipped orders with the orders and pulls behind them (or why none were)."""
    if on_hand is None:
        return "on hand unknown (not in the stock file): live quantity kept"
    if reservation is None:
        return (
            f"{on_hand} on hand; units in unshipped orders unknown (orders never pulled: "
            "`sync orders pull`), none reserved"
        )
    return f"{on_hand} on hand, {reservation.describe(sku)}"


def _has_texts(mkt: MarketplaceConfig, product: Product, override: Override | None) -> bool:
    return mkt.info.language in product.texts or (override is not None and bool(override.title))


@dataclass(frozen=True, slots=True)
class _Rules:
    """The price and floor rules of one settings layer."""

    price: PriceRule
    floor: FloorRule | None


@dataclass(frozen=True, slots=True)
class _Priced:
    """A product's prices under one marketplace's rules (see `_Context.priced`)."""

    our_price: Decimal
    list_price: Decimal | None
    minimum: Decimal | None


class _Context:
    """Per-render caches: merged settings and their rules per marketplace, sales per listing."""

    def __init__(self, config: Config, now: datetime, history: SalesHistory | None = None):
        self.config = config
        self.now = now
        self.history = SalesHistory() if history is None else history
        self.base_layers: dict[str, Layer] = {
            code: {**config.project.defaults, **mkt.settings}
            for code, mkt in config.marketplaces.items()
        }
        self.exposure_rules = {
            code: exposure_rule(layer) for code, layer in self.base_layers.items()
        }
        self.sales = _upcoming_sales(config, now)
        self.base_rules: dict[str, _Rules] = {}
        self.thresholds = {code: _thresholds(layer) for code, layer in self.base_layers.items()}
        self._equal_rules: dict[_Rules, _Rules] = {}
        self._priced_product: Product | None = None
        self._priced: dict[int, _Priced] = {}
        self._prices: dict[str, dict[Decimal, Decimal]] = {}  # by currency code

    def rules(self, mkt: MarketplaceConfig, layer: Layer) -> _Rules:
        """The rules for a listing; shared by every listing that only inherits, and by
        marketplaces whose rules are equal (same currency and price settings)."""
        if layer is self.base_layers[mkt.code]:
            rules = self.base_rules.get(mkt.code)
            if rules is None:
                rules = _rules_for(mkt.info.currency, layer)
                rules = self.base_rules[mkt.code] = self._equal_rules.setdefault(rules, rules)
            return rules
        return _rules_for(mkt.info.currency, layer)

    def priced(self, product: Product, rules: _Rules) -> _Priced:
        """`product`'s price by the rule, converted list price and minimum allowed price
        under a marketplace's own `rules` (from `rules()` for a listing that only
        inherits). Marketplaces sharing a currency and settings, as the euro ones usually
        do, share one computation and one Decimal per amount. Rendering goes product by
        product, so only the product at hand is remembered."""
        if product is not self._priced_product:
            self._priced_product = product
            self._priced = {}
        # By identity: `rules()` keeps these objects for the whole render.
        found = self._priced.get(id(rules))
        if found is None:
            rule = rules.price
            rate = self.config.fx.rate(rule.currency.code)
            list_price = product.list_price
            our_price = final_price(product.base_price, rate, rule)
            # Prices cluster on their endings (a few thousand distinct ones in a catalog of
            # 100k): one Decimal each saved 60 MiB at 1M listings. Per currency, since
            # 1980 (JPY) equals 1980.00 (USD) as a Decimal but must not print as one.
            prices = self._prices.get(rule.currency.code)
            if prices is None:
                prices = self._prices[rule.currency.code] = {}
            our_price = prices.setdefault(our_price, our_price)
            found = self._priced[id(rules)] = _Priced(
                our_price,
                None if list_price is None else convert(list_price, rate, rule),
                _minimum_price(rules, product, self.config),
            )
        return found

    def exposure(
        self, marketplace: str, sku: str, rule: ExposureRule
    ) -> tuple[Cap, RefillHold | None]:
        """A capped listing's cap from the sales history, and the hold on its refills."""
        key = (marketplace, sku)
        cap = exposure_cap(rule, self.history.units.get(key, 0), self.history.days)
        return cap, self.history.hold(key, self.config.incidents)

    def settings(
        self, mkt: MarketplaceConfig, product: Product, override: Override | None
    ) -> Layer:
        layer = self.base_layers[mkt.code]
        if product.settings:
            layer = {**layer, **product.settings}
        if override is not None and override.settings:
            layer = {**layer, **override.settings}
        return layer


def _upcoming_sales(config: Config, now: datetime) -> dict[tuple[str, str], Sale]:
    """For each listing, the sale running now or, failing that, the next one to start.
    Sales that have ended are dropped. (Amazon holds one discounted_price per offer; the
    loader rejects overlapping sales.)"""
    chosen: dict[tuple[str, str], Sale] = {}
    for sale in sorted(config.sales, key=lambda s: s.start):
        if sale.end <= now:
            continue
        for sku in config.products:
            if sale.skus.matches(sku):
                for code in sale.marketplaces:
                    chosen.setdefault((code, sku), sale)
    return chosen


def _value(layer: Layer, key: str) -> Any:
    setting = layer.get(key)
    return BUILTIN_DEFAULTS.get(key) if setting is None else setting.value


def _amount(layer: Layer, key: str) -> Decimal | None:
    setting = layer.get(key)
    return None if setting is None else to_decimal(setting.value)


def rule_for(currency_code: str, layer: Layer) -> PriceRule:
    ending = _value(layer, "pricing.ending")
    return price_rule(
        currency_code,
        _amount(layer, "pricing.tax_delta"),
        None if ending is None else str(ending),
        _value(layer, "pricing.rounding"),
        _amount(layer, "pricing.min_price"),
        _amount(layer, "pricing.max_price"),
    )


def _rules_for(currency_code: str, layer: Layer) -> _Rules:
    floor = layer.get("promotion_limits.floor")
    return _Rules(
        rule_for(currency_code, layer), None if floor is None else FloorRule.parse(floor.value)
    )


def render_listing(
    context: _Context,
    mkt: MarketplaceConfig,
    product: Product,
    override: Override | None,
    quantity: int | None,
    trace: Trace | None = None,
) -> Resource:
    config = context.config
    layer = context.settings(mkt, product, override)
    cur_code = mkt.info.currency
    rules = context.rules(mkt, layer)
    rule = rules.price
    rate = config.fx.rate(cur_code)
    lang = mkt.info.language
    texts = product.texts.get(lang)

    # Without a trace, a listing that only inherits takes its prices from `priced`.
    priced = (
        context.priced(product, rules)
        if trace is None and layer is context.base_layers[mkt.code]
        else None
    )

    # Price: the override wins; otherwise the rule.
    if override is not None and override.our_price is not None:
        our_price = override.our_price.quantize(rule.currency.quantum)
        if trace is not None:
            trace.add("our_price", our_price, override.at("our_price"), note="override")
    elif priced is not None:
        our_price = priced.our_price
    elif trace is None:
        our_price = final_price(product.base_price, rate, rule)
    else:
        steps = target_price(product.base_price, rate, rule)
        our_price = steps.final
        trace.add(
            "our_price",
            our_price,
            product.at("base_price"),
            _fx_origin(config, cur_code),
            *_origins(
                layer,
                "pricing.tax_delta",
                "pricing.ending",
                "pricing.rounding",
                "pricing.min_price",
                "pricing.max_price",
            ),
            note=f"{product.base_price} {config.fx.base_currency} × {rate} "
            f"+ {rule.tax_delta}: {steps.describe(rule)}",
        )

    list_price = None
    if override is not None and override.list_price is not None:
        list_price = override.list_price.quantize(rule.currency.quantum)
        if trace is not None:
            trace.add("list_price", list_price, override.at("list_price"), note="override")
    elif product.list_price is not None:
        list_price = (
            priced.list_price if priced is not None else convert(product.list_price, rate, rule)
        )
        if trace is not None:
            trace.add(
                "list_price",
                list_price,
                product.at("list_price"),
                _fx_origin(config, cur_code),
                *_origins(layer, "pricing.tax_delta"),
                note=f"{product.list_price} × {rate} + {rule.tax_delta}",
            )
    elif trace is not None:
        trace.add("list_price", None, note="not set")

    sale = None
    running = context.sales.get((mkt.code, product.sku))
    if running is not None:
        if running.price is not None:
            price = running.price.quantize(rule.currency.quantum)
            how = "fixed sale price"
        else:
            assert running.discount_pct is not None
            price = sale_price_from_discount(our_price, running.discount_pct, rule.currency)
            how = f"{running.discount_pct}% off {our_price}"
        sale = SalePrice(price, running.start, running.end)
        if trace is not None:
            trace.add("sale", sale.to_dict(), running.origin, note=f"sale {running.id}: {how}")
    elif trace is not None:
        trace.add("sale", None, note="no current or upcoming sale")

    title = override.title if override is not None and override.title else None
    bullets = override.bullet_points if override is not None else None
    description = override.description if override is not None else None
    # Every field, positional, in field order: a million listings are built per plan;
    # keywords made each construction a third slower, and `Resource(...)` costs twice what
    # `build_resource` does.
    resource = build_resource(
        mkt.code,
        product.sku,
        product.product_type,
        cur_code,
        lang,
        product.fulfillment,
        our_price,
        title or (texts.title if texts else ""),
        product.brand,
        bullets if bullets is not None else (texts.bullet_points if texts else ()),
        description if description is not None else (texts.description if texts else ""),
        list_price,
        sale,
        priced.minimum
        if priced is not None
        else _minimum_allowed(rules, layer, product, config, trace),
        rule.max_price,
        quantity if product.fulfillment == "MFN" else None,
        product.identifiers,
    )
    if trace is not None:
        _trace_rest(trace, resource, product, override, layer, lang)
    return resource


def _trace_rest(
    trace: Trace, r: Resource, product: Product, override: Override | None, layer: Layer, lang: str
) -> None:
    def text_origin(name: str) -> Origin:
        if override is not None and getattr(override, name) is not None:
            return override.at(name)
        return product.at("texts", lang, name)

    trace.add("title", r.title, text_origin("title"))
    trace.add("bullet_points", list(r.bullet_points), text_origin("bullet_points"))
    trace.add("description", r.description, text_origin("description"))
    trace.add("brand", r.brand, product.at("brand"))
    trace.add("product_type", r.product_type, product.at("product_type"))
    trace.add("fulfillment_channel", r.fulfillment_channel, product.at("fulfillment"))
    trace.add(
        "maximum_seller_allowed_price",
        r.maximum_seller_allowed_price,
        *_origins(layer, "pricing.max_price"),
    )
    if r.fulfillment_channel == "MFN":
        trace.add(
            "quantity",
            r.quantity,
            *_origins(
                layer,
                "stock.alert_level",
                "stock.max_per_site",
                "stock.safety_buffer",
                "exposure.refill_every",
                "exposure.floor",
                "exposure.ceiling",
            ),
            note="allocated from central stock (see docs/config.md, stock allocation)",
        )
    else:
        trace.add("quantity", None, product.at("fulfillment"), note="FBA: Amazon owns quantity")
    for key in sorted(set(layer) | set(BUILTIN_DEFAULTS)):
        setting = layer.get(key)
        if setting is None:
            trace.settings[key] = (BUILTIN_DEFAULTS[key], None)
        else:
            trace.settings[key] = (setting.value, setting.origin)


def _minimum_allowed(
    rules: _Rules, layer: Layer, product: Product, config: Config, trace: Trace | None
) -> Decimal | None:
    """The offer's minimum seller allowed price: the higher of `pricing.min_price` and the
    promotion floor. Amazon suppresses an offer priced under it, so a price typed wrong in
    Seller Central, or a sale under the floor, never sells (defence in depth)."""
    minimum = _minimum_price(rules, product, config)
    if trace is not None:
        cur = rules.price.currency
        floor = None if rules.floor is None else rules.floor.price(product, config.fx, cur)
        note = ""
        if rules.floor is not None and minimum == floor:
            note = f"promotion floor: {Floor(floor, rules.floor.basis(product)).describe(cur)}"
        trace.add(
            "minimum_seller_allowed_price",
            minimum,
            *_origins(layer, "pricing.min_price", "promotion_limits.floor"),
            note=note,
        )
    return minimum


def _minimum_price(rules: _Rules, product: Product, config: Config) -> Decimal | None:
    """The higher of `pricing.min_price` and the promotion floor (None: neither is set)."""
    minimum = rules.price.min_price or None
    if rules.floor is not None:
        floor = rules.floor.price(product, config.fx, rules.price.currency)
        if floor and (minimum is None or floor > minimum):
            minimum = floor
    return minimum


def _origins(layer: Layer, *keys: str) -> list[Origin]:
    return [layer[k].origin for k in keys if k in layer]


def _fx_origin(config: Config, currency_code: str) -> Origin | None:
    return config.fx.origins.get(currency_code)


def _allocate(
    context: _Context,
    live: LiveQuantities,
    reserved: Mapping[str, int],
    product: Product,
    sites: list[tuple[MarketplaceConfig, Override | None]],
    *,
    recommend: bool = True,
) -> tuple[list[int | None], list[Replenishment]]:
    """One product's MFN quantity per site (None for FBA, whose quantity Amazon owns), and
    (when `recommend`) its FBA replenishment recommendations. Units reserved by unshipped
    orders come off an MFN SKU's on hand; FBA orders ship from Amazon's stock, so FBA
    replenishment is left as it was."""
    sku = product.sku
    own_settings = bool(product.settings)
    mfn = product.fulfillment == "MFN"
    thresholds_of, rules_of = context.thresholds, context.exposure_rules
    stock = []
    for mkt, override in sites:
        code = mkt.code
        if own_settings or (override is not None and override.settings):
            layer = context.settings(mkt, product, override)
            alert, most, buffer = _thresholds(layer)
            rule = exposure_rule(layer)
        else:
            alert, most, buffer = thresholds_of[code]
            rule = rules_of[code]
        site = _site_stock(code, live.get((code, sku), 0), alert, most, buffer)
        if rule is not None and mfn:
            site = _capped(site, *context.exposure(code, sku, rule))
        stock.append(site)
    on_hand = context.config.central_stock.get(sku)  # None: not in the stock file, unknown
    if product.fulfillment == "MFN":
        return allocated_quantities(on_hand, stock, reserved.get(sku, 0)), []
    if not recommend:
        return [None] * len(sites), []
    return [None] * len(sites), recommend_fba(sku, on_hand or 0, stock)


# Each MFN SKU's stock per site is worked out per plan (engine.core.slots: half the cost).
_site_stock = constructor(SiteStock)


def _capped(site: SiteStock, cap: Cap, hold: RefillHold | None) -> SiteStock:
    """A capped listing as allocation sees it: holding at most its cap (a plan cuts what is
    above), topped up to the cap whenever below it, never above it; a held one is not
    topped up at all (it keeps what it has, or less)."""
    local = min(site.local, cap.units)
    if hold is not None:
        return replace(site, local=local, alert_level=0)
    return replace(
        site, local=local, alert_level=cap.units, max_per_site=min(site.max_per_site, cap.units)
    )


def _thresholds(layer: Layer) -> tuple[int, int, int]:
    """(alert_level, max_per_site, safety_buffer); unset means 0 (never replenish)."""
    return (
        _value(layer, "stock.alert_level") or 0,
        _value(layer, "stock.max_per_site") or 0,
        _value(layer, "stock.safety_buffer") or 0,
    )
