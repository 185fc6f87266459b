"""The typed config: what the loader builds once the YAML is known to be valid.

Every object keeps the file and path it came from (`Origin`) so that errors found later
and `sync explain` can name a line. Positions are resolved lazily (see yamlsafe).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from engine.config.errors import ConfigError, format_path
from engine.config.yamlsafe import SourceFile
from engine.core.marketplaces import Marketplace

Path_ = tuple[str | int, ...]
FulfillmentChannel = Literal["MFN", "FBA"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was written: a file and the path inside it."""

    source: SourceFile
    path: Path_

    def describe(self) -> str:
        pos = self.source.position(self.path)
        where = f"{self.source.name}:{pos.line}" if pos else self.source.name
        return f"{where} ({format_path(self.path)})"

    def error(self, message: str, *, at_key: bool = False) -> ConfigError:
        return self.source.error(self.path, message, at_key=at_key)


@dataclass(frozen=True, slots=True)
class Setting:
    """One layered setting value and where it was set."""

    value: Any
    origin: Origin


# A layer of settings, flattened to dotted keys ("pricing.ending", "stock.alert_level",
# "exposure.refill_every", "promotion_limits.floor", "guardrails.blast_radius.max_deletes",
# "missing_translation").
# Flat dicts merge with `{**a, **b}`.
Layer = dict[str, Setting]

SETTING_GROUPS = ("pricing", "stock", "exposure", "promotion_limits", "guardrails")
# Groups of per-rule blocks: flattened one level deeper, so a marketplace that sets one
# threshold of a rule keeps the level and other thresholds it inherits.
NESTED_SETTING_GROUPS = frozenset({"guardrails"})
# Settings written in the marketplace currency: they make no sense in a layer that spans
# currencies (project defaults, products), so only marketplace files and overrides set them.
MARKETPLACE_CURRENCY_SETTINGS = frozenset(
    {"pricing.tax_delta", "pricing.min_price", "pricing.max_price"}
)
# Documented defaults for settings nobody set.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "pricing.ending": None,
    "pricing.rounding": "nearest",
    "missing_translation": "error",
}


def flatten_settings(data: dict[str, Any], source: SourceFile, path: Path_) -> Layer:
    """Pick the layered settings out of a mapping (a product, a marketplace file, ...)."""
    layer: Layer = {}
    for group in SETTING_GROUPS:
        values = data.get(group)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if group in NESTED_SETTING_GROUPS and isinstance(value, dict):
                for sub, leaf in value.items():
                    origin = Origin(source, (*path, group, key, sub))
                    layer[f"{group}.{key}.{sub}"] = Setting(leaf, origin)
                continue
            layer[f"{group}.{key}"] = Setting(value, Origin(source, (*path, group, key)))
    if "missing_translation" in data:
        layer["missing_translation"] = Setting(
            data["missing_translation"], Origin(source, (*path, "missing_translation"))
        )
    return layer


@dataclass(frozen=True, slots=True)
class Texts:
    title: str
    bullet_points: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Backend:
    kind: Literal["sandbox", "spapi"] = "sandbox"
    credentials_file: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class StateStore:
    """Where sellersync's own state lives (see engine.state). The PostgreSQL URL is read from
    the environment variable `dsn_env` names, never from config: it carries a password."""

    backend: Literal["sqlite", "postgresql"] = "sqlite"
    dsn_env: str = "SELLERSYNC_STATE_DSN"
    # The application-wide SP-API quota shared through the store (engine.state.app_quota):
    # `auto` with PostgreSQL and Amazon, `state` with PostgreSQL whatever the backend, `off`.
    app_quota: Literal["auto", "state", "off"] = "auto"


_HTTP_URL = re.compile(r"^https?://\S+$")  # as the schema checks watch.webhook_url


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """`watch` in project.yaml: the order watchdog's re-read window, its velocity rule and
    the optional webhook. The defaults catch a runaway promotion within one 15-minute run
    while a normal day (a few units per SKU) never comes near them."""

    webhook_url: str | None = None
    webhook_url_env: str | None = None  # the variable holding the URL instead
    overlap_minutes: int = 30
    first_lookback_hours: int = 24
    velocity_window_minutes: int = 60
    velocity_baseline_days: int = 7
    velocity_multiplier: Decimal = Decimal(10)
    velocity_min_units: int = 10

    def webhook(self, env: Mapping[str, str]) -> tuple[str | None, str | None]:
        """(the URL to post the summary to, or None; why none although one is configured).
        A variable that is unset or not an http(s) URL is a problem to report, never a
        reason to skip the watch itself: its breakers matter more than its summary."""
        if self.webhook_url_env is None:
            return self.webhook_url, None
        url = env.get(self.webhook_url_env, "").strip()
        if not url:
            return None, f"{self.webhook_url_env} is not set: the summary was not posted"
        if not _HTTP_URL.match(url):
            return None, f"{self.webhook_url_env} is not an http(s) URL: the summary was not posted"
        return url, None


@dataclass(frozen=True, slots=True)
class StockSource:
    kind: Literal["csv"]
    path: Path
    sku_column: str
    quantity_column: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class HealthLevel:
    """An account-health metric's limit in percent, and the earlier level that warns.
    `higher_is_better` (valid tracking) must stay above both; the rest below both."""

    target: Decimal
    warn: Decimal
    higher_is_better: bool = False

    def judge(self, value: Decimal) -> Literal["ok", "warn", "breach"]:
        if self.higher_is_better:
            return "breach" if value <= self.target else "warn" if value <= self.warn else "ok"
        return "breach" if value >= self.target else "warn" if value >= self.warn else "ok"


@dataclass(frozen=True, slots=True)
class HealthTargets:
    """Amazon's published targets by default, with warnings a little before them."""

    order_defect_rate: HealthLevel = HealthLevel(Decimal(1), Decimal("0.8"))
    cancellation_rate: HealthLevel = HealthLevel(Decimal("2.5"), Decimal("2.0"))
    late_shipment_rate: HealthLevel = HealthLevel(Decimal(4), Decimal(3))
    valid_tracking_rate: HealthLevel = HealthLevel(Decimal(95), Decimal(97), True)


@dataclass(frozen=True, slots=True)
class Project:
    seller_id: str
    seller_name: str
    base_marketplace: str
    base_currency: str
    marketplaces: tuple[str, ...]
    backend: Backend
    state_dir: Path
    state: StateStore
    stock_source: StockSource | None
    defaults: Layer
    prune: SkuSelector  # unmanaged live listings apply may delete, in every marketplace
    source: SourceFile
    health: HealthTargets = HealthTargets()
    watch: WatchSettings = WatchSettings()
    drift_ignore: tuple[DriftIgnore, ...] = ()  # project.yaml drift.ignore
    freezes: tuple[Freeze, ...] = ()  # project.yaml freezes


@dataclass(frozen=True, slots=True)
class FxTable:
    base_currency: str
    as_of: date
    source_name: str
    rates: dict[str, Decimal]
    origins: dict[str, Origin]

    def rate(self, currency: str) -> Decimal:
        """Units of `currency` per one unit of the base currency."""
        if currency == self.base_currency:
            return Decimal(1)
        return self.rates[currency]


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    product_type: str
    brand: str
    cost: Money
    base_price: Decimal
    list_price: Decimal | None
    fulfillment: FulfillmentChannel
    identifiers: tuple[tuple[str, str], ...]
    texts: dict[str, Texts]
    settings: Layer
    origin: Origin  # the product entry: ("products", i)
    marketplaces: tuple[str, ...] | None = None  # None: wherever `listings` select it

    def at(self, *path: str | int) -> Origin:
        return Origin(self.origin.source, (*self.origin.path, *path))


@dataclass(frozen=True, slots=True)
class Override:
    sku: str
    our_price: Decimal | None
    list_price: Decimal | None
    title: str | None
    bullet_points: tuple[str, ...] | None
    description: str | None
    settings: Layer
    origin: Origin  # ("overrides", sku)

    def at(self, *path: str | int) -> Origin:
        return Origin(self.origin.source, (*self.origin.path, *path))


@dataclass(frozen=True, slots=True)
class SkuSelector:
    """Shell-style SKU patterns (`HP-*`); plain SKUs match only themselves."""

    patterns: tuple[str, ...]
    _compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, patterns: list[str] | tuple[str, ...]) -> SkuSelector:
        regex = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)
        return cls(tuple(patterns), re.compile(regex) if patterns else None)

    def matches(self, sku: str) -> bool:
        return self._compiled is not None and self._compiled.match(sku) is not None


@dataclass(frozen=True, slots=True)
class Freeze:
    """A change freeze of project.yaml `freezes`: from `start` (inclusive) to `end`
    (exclusive), UTC, `sync apply` writes nothing; the breaker's emergency writes go on."""

    name: str
    start: datetime
    end: datetime
    reason: str
    origin: Origin  # ("freezes", i)

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def describe(self) -> str:
        return (
            f"change freeze {self.name!r} ({self.start:%Y-%m-%dT%H:%MZ} to "
            f"{self.end:%Y-%m-%dT%H:%MZ}): {self.reason}"
        )


def active_freeze(freezes: Sequence[Freeze], when: datetime) -> Freeze | None:
    """The freeze in effect at `when` (the first declared, when windows overlap)."""
    return next((f for f in freezes if f.covers(when)), None)


@dataclass(frozen=True, slots=True)
class DriftIgnore:
    """A `drift.ignore` rule of project.yaml: differences in `field` on the listings it
    names are expected (another tool or a person owns that field there), so `sync drift`
    counts them instead of reporting them. Plan and apply do not read it."""

    field: str
    skus: SkuSelector
    marketplaces: frozenset[str] | None  # None: every marketplace
    reason: str
    origin: Origin  # ("drift", "ignore", i)

    def covers(self, field: str, marketplace: str, sku: str) -> bool:
        return (
            field == self.field
            and (self.marketplaces is None or marketplace in self.marketplaces)
            and self.skus.matches(sku)
        )


@dataclass(frozen=True, slots=True)
class MarketplaceConfig:
    code: str
    info: Marketplace
    include: SkuSelector | None  # None: every product
    exclude: SkuSelector
    settings: Layer
    overrides: dict[str, Override]
    source: SourceFile | None  # None when the marketplace has no file (defaults only)
    prune: SkuSelector  # unmanaged live listings apply may delete here (with project's)
    elsewhere: frozenset[str]  # SKUs whose product names only other marketplaces

    def lists(self, sku: str) -> bool:
        if sku in self.elsewhere or self.exclude.matches(sku):
            return False
        return self.include is None or self.include.matches(sku)


def effective_setting(
    key: str, project: Project, mkt: MarketplaceConfig, product: Product, override: Override | None
) -> Any:
    """A setting's value after layering: defaults → marketplace → product → override."""
    for layer in (
        override.settings if override else None,
        product.settings,
        mkt.settings,
        project.defaults,
    ):
        if layer and key in layer:
            return layer[key].value
    return BUILTIN_DEFAULTS.get(key)


@dataclass(frozen=True, slots=True)
class Sale:
    id: str
    marketplaces: tuple[str, ...]
    skus: SkuSelector
    price: Decimal | None
    discount_pct: Decimal | None
    start: datetime
    end: datetime
    origin: Origin


@dataclass(frozen=True, slots=True)
class Promotion:
    id: str
    kind: Literal["percent_off", "promo_code", "coupon"]
    code: str | None
    percent: Decimal | None
    amount: Decimal | None
    marketplaces: tuple[str, ...]
    skus: SkuSelector
    start: datetime
    end: datetime
    max_redemptions: int | None
    origin: Origin

    def applies_to(self, marketplace: str, sku: str) -> bool:
        return marketplace in self.marketplaces and self.skus.matches(sku)


@dataclass(frozen=True, slots=True)
class ApprovalTarget:
    """What an approval approves (`approves` in approvals.yaml): the value a finding is about
    (the price written, the discount depth, the new limit...), a bounded range of it, or the
    finding's fingerprint as the plan prints it. Exactly one of `value`, the range
    (`minimum` and/or `maximum`) or `fingerprint` is set. A reviewer approves one change;
    pinning what it approves keeps the approval from covering the next change on the same
    listing (1999.00 -> 19.99 approved must not approve 19.99 -> 9.99)."""

    value: Decimal | str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    fingerprint: str | None = None

    def matches(self, value: Decimal | str | None, fingerprint: str) -> bool:
        if self.fingerprint is not None:
            return fingerprint == self.fingerprint
        if self.value is not None:
            if isinstance(self.value, Decimal) and isinstance(value, Decimal):
                return value == self.value  # 19.99 == 19.990
            return value is not None and str(value) == str(self.value)
        if not isinstance(value, Decimal):
            return False
        return (self.minimum is None or value >= self.minimum) and (
            self.maximum is None or value <= self.maximum
        )

    def describe(self) -> str:
        if self.fingerprint is not None:
            return f"fingerprint {self.fingerprint}"
        if self.value is not None:
            return f"value {_text(self.value)}"
        low = "" if self.minimum is None else _text(self.minimum)
        high = "" if self.maximum is None else _text(self.maximum)
        return f"range {low}..{high}"

    def to_dict(self) -> dict[str, str]:
        out = {
            "value": self.value,
            "min": self.minimum,
            "max": self.maximum,
            "fingerprint": self.fingerprint,
        }
        return {key: _text(v) for key, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalTarget:
        def number(key: str) -> Decimal | None:
            return None if data.get(key) is None else Decimal(str(data[key]))

        value = data.get("value")
        if value is not None:
            try:
                value = Decimal(str(value))
            except ArithmeticError:
                value = str(value)
        return cls(value, number("min"), number("max"), data.get("fingerprint"))


def _text(value: Decimal | str) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else value


@dataclass(frozen=True, slots=True)
class Approval:
    rule: str
    marketplaces: tuple[str, ...] | None
    skus: SkuSelector | None
    reason: str
    approver: str
    expires: datetime
    origin: Origin
    target: ApprovalTarget = ApprovalTarget()

    def in_scope(self, rule: str, marketplace: str | None, sku: str | None) -> bool:
        """Whether a finding of `rule` at `marketplace` and `sku` is one this approval is
        about, whatever its value and expiry. A finding about a whole marketplace (`sku`
        None, e.g. blast radius) is in the scope only of an approval not narrowed to SKUs:
        approving three SKUs must not approve repricing the whole catalog; likewise a
        plan-wide one (`marketplace` None) only of one not narrowed to marketplaces."""
        return (
            rule == self.rule
            and (
                self.marketplaces is None
                or (marketplace is not None and marketplace in self.marketplaces)
            )
            and (self.skus is None or (sku is not None and self.skus.matches(sku)))
        )

    def covers(
        self,
        rule: str,
        marketplace: str | None,
        sku: str | None,
        now: datetime,
        value: Decimal | str | None,
        fingerprint: str,
    ) -> bool:
        """Whether this approval lets a finding through: in scope, unexpired at `now`, and
        approving exactly what the finding is about (its value or fingerprint)."""
        return (
            now < self.expires
            and self.in_scope(rule, marketplace, sku)
            and self.target.matches(value, fingerprint)
        )

    def where(self) -> str:
        """The file and line it was written on, for messages."""
        pos = self.origin.source.position(self.origin.path)
        return f"{self.origin.source.name}:{pos.line}" if pos else self.origin.source.name

    def identity(self) -> dict[str, Any]:
        """Everything that decides what it approves, as JSON-ready data: the state store
        keeps the approvals an apply ran under, and an approval counts as applied earlier
        only when the config still holds one with the same identity."""
        return {
            "rule": self.rule,
            "marketplaces": None if self.marketplaces is None else list(self.marketplaces),
            "skus": None if self.skus is None else list(self.skus.patterns),
            "approves": self.target.to_dict(),
            "approver": self.approver,
            "expires": self.expires.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    marketplace: str
    sku: str
    acknowledged_by: str
    acknowledged_at: datetime
    resolution: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class Warehouse:
    """One of the seller's warehouses: where it is, whom it serves, what it holds."""

    id: str
    name: str
    latitude: float  # degrees: geometry, not money
    longitude: float
    countries: tuple[str, ...]
    stock: dict[str, int]  # units on hand by SKU
    origin: Origin


@dataclass(frozen=True, slots=True)
class Warehouses:
    fallback: Literal["backorder", "split"]
    items: tuple[Warehouse, ...]


@dataclass(frozen=True, slots=True)
class Config:
    """The whole desired-state config of one seller account."""

    root: Path
    project: Project
    fx: FxTable
    products: dict[str, Product]  # in file order
    marketplaces: dict[str, MarketplaceConfig]  # in project order
    sales: tuple[Sale, ...]
    promotions: tuple[Promotion, ...]
    approvals: tuple[Approval, ...]
    incidents: tuple[Incident, ...]
    central_stock: dict[str, int]  # units on hand in the central warehouse, by SKU
    digest: str  # sha256 over every file read, for plans to pin the config they came from
    warehouses: Warehouses | None = None  # warehouses.yaml, for routing orders

    @property
    def state_dir(self) -> Path:
        return self.project.state_dir

    def prunes(self, marketplace: str, sku: str) -> bool:
        """Whether a live listing the config does not describe may be deleted: only when
        project.yaml's or the marketplace's `prune` patterns name it."""
        mkt = self.marketplaces.get(marketplace)
        return self.project.prune.matches(sku) or (mkt is not None and mkt.prune.matches(sku))
