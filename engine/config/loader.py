"""Load a config directory: find files, parse, validate, build the model, check semantics.

All problems of one run are collected and raised together as ConfigErrors; nothing is
written anywhere while loading.

Layout of a config directory:

    project.yaml              seller, marketplaces, backend, defaults   (required)
    fx.yaml                   exchange rates                            (required)
    products/*.yaml           the catalog (or a single products.yaml)
    marketplaces/<CODE>.yaml  one per marketplace (optional: defaults apply)
    sales.yaml | sales/*.yaml, promotions..., approvals..., incidents...

The environment variable SELLERSYNC_BACKEND=sandbox points any config at the embedded sandbox
whatever `backend.kind` says: CI plans a pull request from a fork, which gets no SP-API
secrets, against the sandbox rather than failing. It also puts the state store on SQLite in
the state directory, because the journal, last-applied values and lock in a shared database
belong to the real account and a sandbox run must neither read nor write them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import schema
from engine.config.errors import ConfigError, ConfigErrors, format_path
from engine.config.model import (
    BUILTIN_DEFAULTS,
    MARKETPLACE_CURRENCY_SETTINGS,
    Approval,
    ApprovalTarget,
    Backend,
    Config,
    DriftIgnore,
    FxTable,
    HealthLevel,
    HealthTargets,
    Incident,
    Layer,
    MarketplaceConfig,
    Money,
    Origin,
    Override,
    Product,
    Project,
    Promotion,
    Sale,
    SkuSelector,
    StateStore,
    StockSource,
    Texts,
    WatchSettings,
    flatten_settings,
)
from engine.config.parsecache import ParseCache
from engine.config.stock_csv import read_central_stock
from engine.config.warehouses import read_warehouses
from engine.config.yamlsafe import SourceFile, YamlProblem, parse_source
from engine.core.gcpause import gc_paused
from engine.core.marketplaces import MARKETPLACES, Marketplace
from engine.core.money import CURRENCIES, Currency, MoneyError, PriceEnding, quantize, to_decimal

MAX_SKU_LENGTH = 40
BACKEND_ENV = "SELLERSYNC_BACKEND"
SKU_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# (kind of file) -> schema name
_TOP_LEVEL = {
    "project": "project",
    "fx": "fx",
    "products": "products",
    "sales": "sales",
    "promotions": "promotions",
    "approvals": "approvals",
    "incidents": "incidents",
    "warehouses": "warehouses",
}
_FOLDERS = {
    "products": "products",
    "marketplaces": "marketplace",
    "sales": "sales",
    "promotions": "promotions",
    "approvals": "approvals",
    "incidents": "incidents",
}
_LAYOUT_HINT = (
    "expected project.yaml, fx.yaml, products/*.yaml, marketplaces/<CODE>.yaml, "
    "sales, promotions, approvals or incidents (.yaml or folder)"
)


def load_config(
    root: Path,
    env: Mapping[str, str] | None = None,
    *,
    meanwhile: Callable[[], None] | None = None,
    parse_cache: bool = False,
) -> Config:
    """Load, validate and check the config in `root`. Raises ConfigErrors listing every problem.
    `env` (default: the process environment) is where SELLERSYNC_BACKEND is looked up.
    `meanwhile` runs in this process while worker processes parse a large catalog (it would
    otherwise sit waiting for them), or once the config is built when nothing needs worker
    processes (a small catalog, or one the parse cache has); not if loading fails.
    `parse_cache`: take unchanged files from, and keep newly parsed ones in, the state
    directory's parse cache (engine.config.parsecache); planning uses it, `sync validate`
    writes nothing."""
    with gc_paused():
        loader = _Loader(Path(root), os.environ if env is None else env)
        return loader.load(meanwhile, parse_cache)


def load_project(root: Path, env: Mapping[str, str] | None = None) -> Project:
    """Only `root/project.yaml`, validated: who the account is and where it runs, without
    reading a catalog that may hold 100k SKUs (for listing many accounts cheaply)."""
    loader = _Loader(Path(root), os.environ if env is None else env)
    path = loader.root / "project.yaml"
    source, problems, _ = read_and_validate(path, loader._display(path), "project")
    if source is None or problems:
        raise ConfigErrors(problems)
    project = loader._project(source)
    if loader.errors:
        raise ConfigErrors(loader.errors)
    return project


class _Loader:
    def __init__(self, root: Path, env: Mapping[str, str]):
        self.root = root
        self.env = env
        self.errors: list[ConfigError] = []
        self.hasher = hashlib.sha256()
        # What files that failed to load would have defined. References into these holes are
        # not reported: the error to fix is in the file itself, and a cascade of "unknown SKU"
        # errors elsewhere would only hide it.
        self.unbuilt_skus: set[str] = set()
        self.catalog_unknown = False  # a products file could not be read at all
        self.unbuilt_marketplaces: set[str] = set()

    # ---- reading -------------------------------------------------------------------------

    def load(
        self, meanwhile: Callable[[], None] | None = None, parse_cache: bool = False
    ) -> Config:
        if not self.root.is_dir():
            raise ConfigErrors(
                [ConfigError(str(self.root), None, "", "config directory not found")]
            )
        files = self._discover()
        cache = self._parse_cache() if parse_cache else None
        jobs = [(p, self._display(p), k) for p, k in files]
        results, cached, overlapped = _read_all(jobs, meanwhile, cache)
        if overlapped:
            meanwhile = None
        try:
            config = self._from_sources(files, results, cached, cache)
        except BaseException:
            if cache is not None:
                cache.discard()  # what parse workers staged for this load
            raise
        if cache is not None:
            cache.commit()
        # Without parse workers to wait for, `meanwhile` runs last: what it builds (a plan's
        # snapshot cache) then reuses the memory the parsed trees left, where running it
        # while they were alive made the peak about 100 MiB higher at 1M listings.
        if meanwhile is not None:
            meanwhile()
        return config

    def _from_sources(
        self,
        files: list[tuple[Path, str]],
        results: list[_Read],
        cached: set[int],
        cache: ParseCache | None,
    ) -> Config:
        sources: dict[str, list[SourceFile]] = {kind: [] for kind in schema.SCHEMA_NAMES}
        parsed: list[tuple[str, SourceFile, bytes]] = []  # valid files the cache lacks
        for index, ((path, kind), (source, problems, digest)) in enumerate(
            zip(files, results, strict=True)
        ):
            self.hasher.update(str(path.relative_to(self.root)).encode() + b"\0" + digest)
            self.errors.extend(problems)
            if source is not None and not problems:
                sources[kind].append(source)
                if index not in cached:
                    parsed.append((kind, source, digest))
            elif kind == "marketplace":
                self.unbuilt_marketplaces.add(path.stem)
            elif kind == "products":
                self._note_unbuilt_products(source)
        for required in ("project", "fx"):
            if not any(p.name == f"{required}.yaml" and p.parent == self.root for p, _ in files):
                self.errors.append(
                    ConfigError(
                        self._display(self.root / f"{required}.yaml"),
                        None,
                        "",
                        "required file is missing",
                    )
                )
        if not sources["project"] or not sources["fx"]:
            raise ConfigErrors(self.errors)
        if cache is not None and not self.errors:
            for kind, source, digest in parsed:  # before building drops the product data
                cache.stage(cache.key(digest, kind), source.data)
        return self._build(sources)

    def _parse_cache(self) -> ParseCache | None:
        """The parse cache in the state directory project.yaml names; None when that file
        cannot be read (the load then reports it, and nothing is cached)."""
        path = self.root / "project.yaml"
        try:
            data = parse_source(path.read_bytes(), str(path)).data
        except (OSError, YamlProblem):
            return None
        state_dir = data.get("state_dir", ".sellersync") if isinstance(data, dict) else None
        if not isinstance(state_dir, str):
            return None
        return ParseCache(self.root.parent / state_dir)

    def _discover(self) -> list[tuple[Path, str]]:
        found: list[tuple[Path, str]] = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.suffix not in (".yaml", ".yml") or not path.is_file():
                continue
            kind = None
            if len(rel.parts) == 1:
                kind = _TOP_LEVEL.get(path.stem)
            elif len(rel.parts) == 2:
                kind = _FOLDERS.get(rel.parts[0])
            if kind is None:
                self.errors.append(
                    ConfigError(
                        self._display(path), None, "", f"unknown config file; {_LAYOUT_HINT}"
                    )
                )
                continue
            found.append((path, kind))
        return found

    def _display(self, path: Path) -> str:
        return str(path)

    def _note_unbuilt_products(self, source: SourceFile | None) -> None:
        data = source.data if source is not None else None
        items = data.get("products") if isinstance(data, dict) else None
        skus = [i.get("sku") if isinstance(i, dict) else None for i in items or ()]
        if isinstance(items, list) and all(isinstance(sku, str) for sku in skus):
            self.unbuilt_skus.update(skus)
        else:
            self.catalog_unknown = True

    def _names_a_sku(self, pattern: str, products: dict[str, Product]) -> bool:
        """Whether a SKU or pattern matches a product, or might match one that failed to load."""
        if self.catalog_unknown:
            return True
        selector = SkuSelector.of([pattern])
        return any(selector.matches(s) for s in itertools.chain(products, self.unbuilt_skus))

    # ---- building --------------------------------------------------------------------------

    def _build(self, sources: dict[str, list[SourceFile]]) -> Config:
        project = self._project(sources["project"][0])
        fx = self._fx(sources["fx"][0], project)
        products = self._products(sources["products"], project, fx)
        marketplaces = self._marketplaces(sources["marketplace"], project, fx, products)
        self._check_settings(project, products, marketplaces)
        self._check_translations(project, products, marketplaces)
        self._check_bounds(project, products, marketplaces)
        sales = self._sales(sources["sales"], products, marketplaces)
        promotions = self._promotions(sources["promotions"], products, marketplaces)
        approvals = self._approvals(sources["approvals"], products, marketplaces)
        incidents = self._incidents(sources["incidents"], products, marketplaces)
        central: dict[str, int] = {}
        if project.stock_source is not None:
            central, problems = read_central_stock(
                project.stock_source, self._display(project.stock_source.path), self.hasher
            )
            self.errors.extend(problems)
        warehouses = None
        if sources["warehouses"]:
            warehouses = read_warehouses(
                sources["warehouses"][0], self.root, self._display, self.hasher, self.errors
            )
        if self.errors:
            raise ConfigErrors(self.errors)
        return Config(
            root=self.root,
            project=project,
            fx=fx,
            products=products,
            marketplaces=marketplaces,
            sales=tuple(sales),
            promotions=tuple(promotions),
            approvals=tuple(approvals),
            incidents=tuple(incidents),
            central_stock=central,
            digest=self.hasher.hexdigest(),
            warehouses=warehouses,
        )

    def _project(self, src: SourceFile) -> Project:
        data = src.data
        base = data["base"]
        if base["marketplace"] not in MARKETPLACES:
            self._unknown_marketplace(src, ("base", "marketplace"), base["marketplace"])
        elif MARKETPLACES[base["marketplace"]].currency != base["currency"]:
            self.errors.append(
                src.error(
                    ("base", "currency"),
                    f"{base['currency']} does not match base marketplace {base['marketplace']} "
                    f"(which sells in {MARKETPLACES[base['marketplace']].currency})",
                )
            )
        enabled = []
        for i, code in enumerate(data["marketplaces"]):
            if code not in MARKETPLACES:
                self._unknown_marketplace(src, ("marketplaces", i), code)
            else:
                enabled.append(code)
        backend_data = data.get("backend", {})
        stock_source = None
        if "stock_source" in data:
            s = data["stock_source"]
            stock_source = StockSource(
                kind=s["kind"],
                path=self.root / s["path"],
                sku_column=s.get("sku_column", "sku"),
                quantity_column=s.get("quantity_column", "quantity"),
                origin=Origin(src, ("stock_source", "path")),
            )
        defaults = flatten_settings(data.get("defaults", {}), src, ("defaults",))
        backend = Backend(
            kind=backend_data.get("kind", "sandbox"),
            credentials_file=backend_data.get("credentials_file"),
            endpoint=backend_data.get("endpoint"),
        )
        state = StateStore(**data.get("state", {}))
        if self._sandbox_forced():
            backend, state = Backend(kind="sandbox"), StateStore()
        return Project(
            seller_id=data["seller"]["id"],
            seller_name=data["seller"].get("name", data["seller"]["id"]),
            base_marketplace=base["marketplace"],
            base_currency=base["currency"],
            marketplaces=tuple(enabled),
            backend=backend,
            state_dir=self.root.parent / data.get("state_dir", ".sellersync"),
            state=state,
            stock_source=stock_source,
            defaults=defaults,
            prune=SkuSelector.of(data.get("prune", ())),
            source=src,
            health=self._health(src, data.get("health", {})),
            watch=self._watch(src, data.get("watch", {})),
            drift_ignore=self._drift_ignore(src, data.get("drift", {}), enabled),
        )

    def _drift_ignore(
        self, src: SourceFile, data: dict[str, Any], enabled: list[str]
    ) -> tuple[DriftIgnore, ...]:
        """project.yaml `drift.ignore`, its marketplaces checked against the enabled ones."""
        rules = []
        for i, item in enumerate(data.get("ignore", ())):
            codes = item.get("marketplaces")
            for j, code in enumerate(codes or ()):
                where = ("drift", "ignore", i, "marketplaces", j)
                if code not in MARKETPLACES:
                    self._unknown_marketplace(src, where, code)
                elif code not in enabled:
                    self.errors.append(
                        src.error(where, f"marketplace {code} is not enabled in project.yaml")
                    )
            rules.append(
                DriftIgnore(
                    field=item["field"],
                    skus=SkuSelector.of(item["skus"]),
                    marketplaces=None if codes is None else frozenset(codes),
                    reason=item["reason"],
                    origin=Origin(src, ("drift", "ignore", i)),
                )
            )
        return tuple(rules)

    def _watch(self, src: SourceFile, data: dict[str, Any]) -> WatchSettings:
        if "webhook_url" in data and "webhook_url_env" in data:
            self.errors.append(
                src.error(
                    ("watch", "webhook_url_env"),
                    "give webhook_url or webhook_url_env, not both (webhook_url_env keeps a "
                    "URL with a token out of git)",
                    at_key=True,
                )
            )
        return _watch_settings(data)

    def _sandbox_forced(self) -> bool:
        """Whether SELLERSYNC_BACKEND asks for the sandbox (see the module docstring). Any
        other value is an error: a typo must not silently plan against the real account."""
        value = self.env.get(BACKEND_ENV, "")
        if value not in ("", "sandbox"):
            self.errors.append(
                ConfigError(
                    "environment",
                    None,
                    BACKEND_ENV,
                    f"{value!r} is not a backend override; the only value is sandbox "
                    "(unset it to use backend.kind from project.yaml)",
                )
            )
        return value == "sandbox"

    def _health(self, src: SourceFile, data: dict[str, Any]) -> HealthTargets:
        """Targets as written over the defaults; a warning level past its target would
        never warn, so it is refused."""
        levels = {}
        for name, values in data.items():
            default = getattr(HealthTargets(), name)
            level = HealthLevel(
                to_decimal(values.get("target", default.target)),
                to_decimal(values.get("warn", default.warn)),
                default.higher_is_better,
            )
            if level.judge(level.warn) == "breach" and level.warn != level.target:
                side = "below" if level.higher_is_better else "above"
                self.errors.append(
                    src.error(
                        ("health", name, "warn" if "warn" in values else "target"),
                        f"warning level {level.warn} is {side} the target {level.target}; "
                        "the warning must come before the breach",
                    )
                )
            levels[name] = level
        return HealthTargets(**levels)

    def _unknown_marketplace(self, src: SourceFile, path: tuple, code: str) -> None:
        known = ", ".join(MARKETPLACES)
        self.errors.append(src.error(path, f"unknown marketplace {code!r}; known: {known}"))

    def _fx(self, src: SourceFile, project: Project) -> FxTable:
        data = src.data
        if data["base_currency"] != project.base_currency:
            self.errors.append(
                src.error(
                    ("base_currency",),
                    f"{data['base_currency']} differs from the project's base currency "
                    f"{project.base_currency} (project.yaml base.currency)",
                )
            )
        rates: dict[str, Decimal] = {}
        origins: dict[str, Origin] = {}
        for code, value in data["rates"].items():
            origin = Origin(src, ("rates", code))
            if code not in CURRENCIES:
                self.errors.append(origin.error(f"unknown currency {code!r}", at_key=True))
                continue
            rate = self._decimal(value, origin, positive=True)
            if rate is not None:
                rates[code] = rate
                origins[code] = origin
        needed = {MARKETPLACES[m].currency for m in project.marketplaces}
        for code in sorted(needed - set(rates) - {data["base_currency"]}):
            self.errors.append(
                src.error(("rates",), f"no rate for {code}, which an enabled marketplace sells in")
            )
        return FxTable(
            base_currency=data["base_currency"],
            as_of=_date(data["as_of"], Origin(src, ("as_of",)), self.errors),
            source_name=data["source"],
            rates=rates,
            origins=origins,
        )

    def _decimal(
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

    def _products(
        self, srcs: list[SourceFile], project: Project, fx: FxTable
    ) -> dict[str, Product]:
        products: dict[str, Product] = {}
        for src in srcs:
            for i, item in enumerate(src.data["products"]):
                origin = Origin(src, ("products", i))
                product = self._product(item, origin, project, fx)
                if product is None:
                    self.unbuilt_skus.add(item["sku"])
                    continue
                first = products.get(product.sku)
                if first is not None:
                    self.errors.append(
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
        self, item: dict[str, Any], origin: Origin, project: Project, fx: FxTable
    ) -> Product | None:
        def at(*path: str | int) -> Origin:
            return Origin(origin.source, (*origin.path, *path))

        sku = item["sku"]
        ok = self._check_sku(sku, at("sku"))
        base_price = self._decimal(item["base_price"], at("base_price"), positive=True)
        list_price = None
        if "list_price" in item:
            list_price = self._decimal(item["list_price"], at("list_price"), positive=True)
        cost_amount = self._decimal(item["cost"]["amount"], at("cost", "amount"), non_negative=True)
        cost_currency = item["cost"]["currency"]
        if cost_currency not in CURRENCIES:
            self.errors.append(at("cost", "currency").error(f"unknown currency {cost_currency!r}"))
            return None
        if base_price is None or cost_amount is None or not ok:
            return None
        if cost_currency != fx.base_currency and cost_currency not in fx.rates:
            self.errors.append(
                at("cost", "currency").error(
                    f"no exchange rate for {cost_currency} in fx.yaml, so the cost cannot be "
                    "compared with prices"
                )
            )
        else:
            cost_in_base = cost_amount / fx.rate(cost_currency)
            if cost_in_base > base_price:
                self.errors.append(
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

    def _check_sku(self, sku: str, origin: Origin) -> bool:
        if len(sku) > MAX_SKU_LENGTH:
            self.errors.append(
                origin.error(
                    f"SKU {sku!r} is {len(sku)} characters; Amazon allows at most {MAX_SKU_LENGTH}"
                )
            )
            return False
        if not SKU_CHARS.match(sku):
            self.errors.append(
                origin.error(
                    f"SKU {sku!r} has characters Amazon rejects or that break SP-API paths; "
                    "use letters, digits, '-', '_' and '.', starting with a letter or digit"
                )
            )
            return False
        return True

    def _marketplaces(
        self, srcs: list[SourceFile], project: Project, fx: FxTable, products: dict[str, Product]
    ) -> dict[str, MarketplaceConfig]:
        by_code: dict[str, MarketplaceConfig] = {}
        for src in srcs:
            data = src.data
            code = data["marketplace"]
            stem = Path(src.name).stem
            if code not in MARKETPLACES:
                self._unknown_marketplace(src, ("marketplace",), code)
                self.unbuilt_marketplaces.add(stem)
                continue
            if stem != code:
                self.errors.append(
                    src.error(
                        ("marketplace",),
                        f"file is named {stem}.yaml but describes {code}; name it {code}.yaml",
                    )
                )
                self.unbuilt_marketplaces.add(stem)
                continue
            if code not in project.marketplaces:
                self.errors.append(
                    src.error(
                        ("marketplace",),
                        f"{code} is not enabled in project.yaml marketplaces; enable it or delete "
                        "this file",
                    )
                )
                continue
            info = MARKETPLACES[code]
            if "currency" in data and data["currency"] != info.currency:
                self.errors.append(
                    src.error(
                        ("currency",),
                        f"{data['currency']} does not match marketplace {code}, which sells in "
                        f"{info.currency}",
                    )
                )
            by_code[code] = self._marketplace(src, info, products)
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
        self._check_product_marketplaces(products, result)
        return result

    def _check_product_marketplaces(
        self, products: dict[str, Product], marketplaces: dict[str, MarketplaceConfig]
    ) -> None:
        for product in products.values():
            for i, code in enumerate(product.marketplaces or ()):
                where = product.at("marketplaces", i)
                self._is_enabled(where.source, where.path, code, marketplaces)

    def _marketplace(
        self, src: SourceFile, info: Marketplace, products: dict[str, Product]
    ) -> MarketplaceConfig:
        data = src.data
        cur = CURRENCIES[info.currency]
        listings = data.get("listings", {})
        include = SkuSelector.of(listings["include"]) if "include" in listings else None
        exclude = SkuSelector.of(listings.get("exclude", ()))
        for key in ("include", "exclude"):
            for i, pattern in enumerate(listings.get(key, ())):
                if not self._names_a_sku(pattern, products):
                    self.errors.append(
                        src.error(
                            ("listings", key, i), f"pattern {pattern!r} matches no product SKU"
                        )
                    )
        overrides: dict[str, Override] = {}
        for sku, values in data.get("overrides", {}).items():
            origin = Origin(src, ("overrides", sku))
            if sku not in products:
                if not self._names_a_sku(sku, products):
                    self.errors.append(
                        origin.error(f"override for unknown SKU {sku!r}", at_key=True)
                    )
                continue
            overrides[sku] = Override(
                sku=sku,
                our_price=self._opt_price(values, "our_price", origin, cur),
                list_price=self._opt_price(values, "list_price", origin, cur),
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
        self, values: dict[str, Any], key: str, origin: Origin, cur: Currency
    ) -> Decimal | None:
        if key not in values:
            return None
        where = Origin(origin.source, (*origin.path, key))
        return self._decimal(values[key], where, positive=True, currency=cur)

    # ---- semantic checks across files ---------------------------------------------------------

    def _check_settings(
        self,
        project: Project,
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> None:
        """Settings are checked where they are written, against every marketplace they reach."""
        for layer in [project.defaults, *(p.settings for p in products.values())]:
            for key in MARKETPLACE_CURRENCY_SETTINGS & layer.keys():
                self.errors.append(
                    layer[key].origin.error(
                        f"{key.split('.')[-1]} is an amount in the marketplace currency; set it in "
                        "a marketplace file or its overrides",
                        at_key=True,
                    )
                )
            floor = layer.get("promotion_limits.floor")
            if floor is not None and "amount" in floor.value:
                self.errors.append(
                    floor.origin.error(
                        "floor.amount is in the marketplace currency; set it in a marketplace file "
                        "or use cost_plus_margin_pct here",
                    )
                )
        currencies = {code: CURRENCIES[m.info.currency] for code, m in marketplaces.items()}
        for layer, reach in self._layers_with_reach(project, products, marketplaces):
            ending = layer.get("pricing.ending")
            if ending is not None and ending.value is not None:
                for code in reach:
                    try:
                        PriceEnding.parse(str(ending.value), currencies[code])
                    except MoneyError as exc:
                        self.errors.append(ending.origin.error(f"{exc} (applies to {code})"))
                        break
        for code, mkt in marketplaces.items():
            cur = currencies[code]
            for layer in (mkt.settings, *(o.settings for o in mkt.overrides.values())):
                for key in MARKETPLACE_CURRENCY_SETTINGS & layer.keys():
                    # tax_delta is added before rounding, so it may be finer than the currency.
                    is_bound = key != "pricing.tax_delta"
                    self._decimal(
                        layer[key].value,
                        layer[key].origin,
                        positive=is_bound,
                        currency=cur if is_bound else None,
                    )
                floor = layer.get("promotion_limits.floor")
                if floor is not None and "amount" in floor.value:
                    self._decimal(floor.value["amount"], floor.origin, positive=True, currency=cur)

    def _check_bounds(
        self,
        project: Project,
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> None:
        """Amazon suppresses an offer priced outside its min/max allowed price, and no price
        fits min > max. Bounds are set in a marketplace file and overridden per SKU, so each
        layer is checked against the bounds in effect where it is written."""
        for mkt in marketplaces.values():
            self._check_bound_order(mkt.settings, {})
            for override in mkt.overrides.values():
                self._check_bound_order(override.settings, mkt.settings)
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
                    self.errors.append(
                        override.at("our_price").error(
                            f"our_price {price} is outside the bounds "
                            f"[{_or_dash(low)}, {_or_dash(high)}]"
                            f" for {mkt.code}; Amazon would suppress the offer"
                        )
                    )

    def _check_bound_order(self, layer: Layer, below: Layer) -> None:
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
        self.errors.append(here.origin.error(message))

    def _layers_with_reach(
        self,
        project: Project,
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> list[tuple[Layer, list[str]]]:
        """Each settings layer with the marketplaces its price ending reaches: a project
        default ending is shadowed by a marketplace that sets its own (JPY needs "80", not
        ".99"); a product's ending reaches every marketplace listing the product."""
        checked = {c: m for c, m in marketplaces.items() if c not in self.unbuilt_marketplaces}
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

    def _check_translations(
        self,
        project: Project,
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> None:
        """Never publish English text to a Japanese listing silently."""
        for code, mkt in marketplaces.items():
            if code in self.unbuilt_marketplaces:
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
                self.errors.append(
                    product.at("texts").error(
                        f"no '{lang}' texts for the {code} listing of {sku}; add texts.{lang}, "
                        f"exclude {sku} in marketplaces/{code}.yaml, or set "
                        "missing_translation: needs_review",
                    )
                )

    def _selector(
        self, src: SourceFile, path: tuple, patterns: list[str], products: dict[str, Product]
    ) -> SkuSelector:
        selector = SkuSelector.of(patterns)
        for i, pattern in enumerate(patterns):
            if not self._names_a_sku(pattern, products):
                self.errors.append(src.error((*path, i), f"{pattern!r} matches no product SKU"))
        return selector

    def _enabled(
        self,
        src: SourceFile,
        path: tuple,
        codes: list[str],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> tuple[str, ...]:
        for i, code in enumerate(codes):
            self._is_enabled(src, (*path, i), code, marketplaces)
        return tuple(codes)

    def _is_enabled(
        self, src: SourceFile, path: tuple, code: str, marketplaces: dict[str, MarketplaceConfig]
    ) -> bool:
        if code not in MARKETPLACES:
            self._unknown_marketplace(src, path, code)
        elif code not in marketplaces:
            self.errors.append(
                src.error(path, f"marketplace {code} is not enabled in project.yaml")
            )
        else:
            return True
        return False

    def _window(self, item: dict[str, Any], origin: Origin) -> tuple[datetime, datetime] | None:
        start = _timestamp(item["start"], _sub(origin, "start"), self.errors)
        end = _timestamp(item["end"], _sub(origin, "end"), self.errors)
        if start is None or end is None:
            return None
        if end <= start:
            self.errors.append(
                _sub(origin, "end").error(f"end {item['end']} is not after start {item['start']}")
            )
            return None
        return start, end

    def _single_currency(
        self, codes: tuple[str, ...], origin: Origin, what: str
    ) -> Currency | None:
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

    def _sales(
        self,
        srcs: list[SourceFile],
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> list[Sale]:
        sales: list[Sale] = []
        seen: dict[str, Origin] = {}
        for src in srcs:
            for i, item in enumerate(src.data["sales"]):
                origin = Origin(src, ("sales", i))
                if not self._unique_id(item["id"], origin, seen, "sale"):
                    continue
                codes = self._enabled(
                    src, (*origin.path, "marketplaces"), item["marketplaces"], marketplaces
                )
                skus = self._selector(src, (*origin.path, "skus"), item["skus"], products)
                window = self._window(item, origin)
                has_price, has_pct = "price" in item, "discount_pct" in item
                if has_price == has_pct:
                    self.errors.append(origin.error("give exactly one of price or discount_pct"))
                    continue
                price = pct = None
                if has_price:
                    where = _sub(origin, "price")
                    cur = self._single_currency(codes, where, "price")
                    price = self._decimal(item["price"], where, positive=True, currency=cur)
                else:
                    pct = to_decimal(item["discount_pct"])
                    if not 0 < pct < 100:
                        self.errors.append(
                            _sub(origin, "discount_pct").error(
                                f"discount_pct must be between 0 and 100, exclusive (got {pct})"
                            )
                        )
                if window is None or (has_price and price is None):
                    continue
                sales.append(Sale(item["id"], codes, skus, price, pct, *window, origin))
        self._check_sale_overlaps(sales, products)
        return sales

    def _check_sale_overlaps(self, sales: list[Sale], products: dict[str, Product]) -> None:
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
                    self.errors.append(
                        later.origin.error(
                            f"sale {later.id!r} overlaps sale {earlier.id!r} on "
                            f"{code} {sku} (a listing has one sale price at a time)"
                        )
                    )

    def _unique_id(self, ident: str, origin: Origin, seen: dict[str, Origin], what: str) -> bool:
        if ident in seen:
            self.errors.append(
                _sub(origin, "id").error(
                    f"{what} id {ident!r} is already used at {seen[ident].describe().split(' ')[0]}"
                )
            )
            return False
        seen[ident] = _sub(origin, "id")
        return True

    def _promotions(
        self,
        srcs: list[SourceFile],
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> list[Promotion]:
        promotions: list[Promotion] = []
        seen: dict[str, Origin] = {}
        for src in srcs:
            for i, item in enumerate(src.data["promotions"]):
                origin = Origin(src, ("promotions", i))
                if not self._unique_id(item["id"], origin, seen, "promotion"):
                    continue
                codes = self._enabled(
                    src, (*origin.path, "marketplaces"), item["marketplaces"], marketplaces
                )
                skus = self._selector(src, (*origin.path, "skus"), item["skus"], products)
                window = self._window(item, origin)
                if item["kind"] == "promo_code" and not item.get("code"):
                    self.errors.append(origin.error("a promo_code promotion needs its code"))
                discount = item["discount"]
                percent = amount = None
                if "percent" in discount:
                    percent = to_decimal(discount["percent"])
                    if percent <= 0:
                        self.errors.append(
                            _sub(origin, "discount", "percent").error(
                                "discount percent must be greater than zero"
                            )
                        )
                else:
                    where = _sub(origin, "discount", "amount")
                    cur = self._single_currency(codes, where, "discount amount")
                    amount = self._decimal(discount["amount"], where, positive=True, currency=cur)
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

    def _approvals(
        self,
        srcs: list[SourceFile],
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> list[Approval]:
        """A scope naming nothing real is a typo: the approval would silently approve nothing
        while its reviewers believe it covers the change."""
        approvals = []
        for src in srcs:
            for i, item in enumerate(src.data["approvals"]):
                origin = Origin(src, ("approvals", i))
                scope = item["scope"]
                scope_path = (*origin.path, "scope")
                self._enabled(
                    src, (*scope_path, "marketplaces"), scope.get("marketplaces", []), marketplaces
                )
                self._selector(src, (*scope_path, "skus"), scope.get("skus", []), products)
                expires = _timestamp(item["expires"], _sub(origin, "expires"), self.errors)
                target = self._approval_target(item["approves"], _sub(origin, "approves"))
                if expires is None or target is None:
                    continue
                approvals.append(
                    Approval(
                        rule=item["rule"],
                        marketplaces=tuple(scope["marketplaces"])
                        if "marketplaces" in scope
                        else None,
                        skus=SkuSelector.of(scope["skus"]) if "skus" in scope else None,
                        reason=item["reason"],
                        approver=item["approver"],
                        expires=expires,
                        origin=origin,
                        target=target,
                    )
                )
        return approvals

    def _approval_target(self, approves: dict[str, Any], origin: Origin) -> ApprovalTarget | None:
        """`approves` names one thing: a value, a fingerprint, or a range (min and/or max,
        min not above max). A mix would leave a reader guessing which one counts."""
        kinds = [k for k in ("value", "fingerprint") if k in approves]
        ranged = [k for k in ("min", "max") if k in approves]
        if len(kinds) + (1 if ranged else 0) != 1:
            self.errors.append(
                origin.error(
                    "give exactly one of value, fingerprint, or min and/or max "
                    f"(got {', '.join(sorted(approves))})"
                )
            )
            return None
        bounds = {k: self._decimal(approves[k], _sub(origin, k)) for k in ranged}
        if any(b is None for b in bounds.values()):
            return None
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None and low > high:
            self.errors.append(origin.error(f"min {low} is above max {high}"))
            return None
        if ranged:
            return ApprovalTarget(minimum=low, maximum=high)
        return ApprovalTarget.from_dict(approves)

    def _incidents(
        self,
        srcs: list[SourceFile],
        products: dict[str, Product],
        marketplaces: dict[str, MarketplaceConfig],
    ) -> list[Incident]:
        """An acknowledgement releases the breaker of one listing; one naming a listing that
        does not exist (a typo) would leave the real one tripped while everyone thinks it is
        released."""
        incidents = []
        seen: dict[str, Origin] = {}
        for src in srcs:
            for i, item in enumerate(src.data["incidents"]):
                origin = Origin(src, ("incidents", i))
                if not self._unique_id(item["id"], origin, seen, "incident"):
                    continue
                if not self._names_a_sku(item["sku"], products):
                    self.errors.append(
                        _sub(origin, "sku").error(f"no product with SKU {item['sku']!r}")
                    )
                where = (*origin.path, "marketplace")
                if not self._is_enabled(src, where, item["marketplace"], marketplaces):
                    continue
                at = _timestamp(
                    item["acknowledged_at"], _sub(origin, "acknowledged_at"), self.errors
                )
                if at is None:
                    continue
                incidents.append(
                    Incident(
                        id=item["id"],
                        marketplace=item["marketplace"],
                        sku=item["sku"],
                        acknowledged_by=item["acknowledged_by"],
                        acknowledged_at=at,
                        resolution=item["resolution"],
                        origin=origin,
                    )
                )
        return incidents


# Below this much YAML, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD_BYTES = 8 * 2**20


def read_and_validate(
    path: Path, name: str, kind: str
) -> tuple[SourceFile | None, list[ConfigError], bytes]:
    """Read, parse and schema-check one file: (source or None, problems, sha256 of bytes)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [ConfigError(name, None, "", f"cannot read file: {exc.strerror}")], b""
    digest = hashlib.sha256(raw).digest()
    try:
        with gc_paused():  # also in worker processes
            source = parse_source(raw, name)
        source.path, source.sha256 = path, digest
    except YamlProblem as problem:
        field = format_path(problem.path)
        return None, [ConfigError(name, problem.position, field, problem.message)], digest
    if source.data is None:
        return None, [ConfigError(name, None, "", "file is empty")], digest
    problems = schema.validate(source, kind)
    if not problems:
        # Positions are rarely asked for once a file is valid; sending the text back from a
        # worker and keeping it cost as much as the parsed data.
        source.release_text()
    return source, problems, digest


_Read = tuple[SourceFile | None, list[ConfigError], bytes]  # what read_and_validate gives


def _read_all(
    jobs: list[tuple[Path, str, str]],
    meanwhile: Callable[[], None] | None = None,
    cache: ParseCache | None = None,
) -> tuple[list[_Read], set[int], bool]:
    """Parse every file; the indexes of those the parse cache has (or has staged); whether
    `meanwhile` ran (it runs here while worker processes parse, when there are any). What is
    not cached is parsed by one process per core when there is a lot of it (YAML parsing is
    CPU-bound and files are independent), else in this process."""
    results: list[_Read | None] = [None] * len(jobs)
    entries: dict[int, tuple[str, bytes]] = {}  # index -> (cache key, sha256 of the file)
    staged_here: set[int] = set()  # staged by a worker: already in the cache's hands
    if cache is not None:
        for index, (path, _, kind) in enumerate(jobs):
            try:
                digest = hashlib.sha256(path.read_bytes()).digest()
            except OSError:
                continue  # read_and_validate says why
            key = cache.key(digest, kind)
            if cache.has(key):
                entries[index] = (key, digest)
    to_parse = [i for i in range(len(jobs)) if i not in entries]
    total = sum(jobs[i][0].stat().st_size for i in to_parse if jobs[i][0].is_file())
    workers = min(os.cpu_count() or 1, len(to_parse))
    pool = None
    futures = {}
    if total >= PARALLEL_THRESHOLD_BYTES and workers >= 2:
        pool = ProcessPoolExecutor(max_workers=workers)
        # Largest files first keeps both cores busy to the end.
        for i in sorted(to_parse, key=lambda i: -jobs[i][0].stat().st_size):
            futures[i] = pool.submit(_parse_in_worker, *jobs[i], cache)
    try:
        if meanwhile is not None and pool is not None:
            meanwhile()
        for index, (key, digest) in entries.items():
            path, name, _ = jobs[index]
            data = cache.get(key) if cache is not None else None
            if data is None:  # unreadable after all: parse it
                to_parse.append(index)
                continue
            results[index] = SourceFile(name, None, data, path=path, sha256=digest), [], digest
        for i in to_parse:
            future = futures.get(i)
            if future is None:
                results[i] = read_and_validate(*jobs[i])
                continue
            result, staged = future.result()
            source, _, digest = result
            if staged and cache is not None and source is not None:
                source.data = cache.take_staged(cache.key(digest, jobs[i][2]))
                if source.data is None:  # unreadable after all: parse it here
                    results[i] = read_and_validate(*jobs[i])
                    continue
                staged_here.add(i)
            results[i] = result
    finally:
        if pool is not None:
            pool.shutdown()
    cached = {i for i in entries if i not in to_parse} | staged_here
    return _all(results), cached, pool is not None


def _parse_in_worker(
    path: Path, name: str, kind: str, cache: ParseCache | None
) -> tuple[_Read, bool]:
    """read_and_validate in a worker process. A valid file's data goes back through the
    parse cache (staged for this load, and read back by the main process) rather than
    through the result pipe: it has to be pickled once either way, and this way the main
    process does not pickle it again to cache it. True when it was staged."""
    result = read_and_validate(path, name, kind)
    source, problems, digest = result
    if cache is None or source is None or problems:
        return result, False
    if not cache.stage(cache.key(digest, kind), source.data):
        return result, False
    source.data = None
    return result, True


def _all(results: list[_Read | None]) -> list[_Read]:
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


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


def _or_dash(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def _watch_settings(data: dict[str, Any]) -> WatchSettings:
    """`watch` from project.yaml (already schema-valid); unset values keep their defaults."""
    velocity = data.get("velocity", {})
    default = WatchSettings()
    return WatchSettings(
        webhook_url=data.get("webhook_url"),
        webhook_url_env=data.get("webhook_url_env"),
        overlap_minutes=data.get("overlap_minutes", default.overlap_minutes),
        first_lookback_hours=data.get("first_lookback_hours", default.first_lookback_hours),
        velocity_window_minutes=velocity.get("window_minutes", default.velocity_window_minutes),
        velocity_baseline_days=velocity.get("baseline_days", default.velocity_baseline_days),
        velocity_multiplier=to_decimal(velocity.get("multiplier", default.velocity_multiplier)),
        velocity_min_units=velocity.get("min_units", default.velocity_min_units),
    )


def _sub(origin: Origin, *path: str | int) -> Origin:
    return Origin(origin.source, (*origin.path, *path))


def _timestamp(text: str, origin: Origin, errors: list[ConfigError]) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text).strip().replace(" ", "T", 1))
    except ValueError as exc:
        errors.append(origin.error(f"invalid date-time {text!r}: {exc}"))
        return None
    if value.tzinfo is None:
        errors.append(origin.error(f"{text!r} has no timezone; add Z for UTC"))
        return None
    return value.astimezone(UTC)


def _date(text: str, origin: Origin, errors: list[ConfigError]) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError as exc:
        errors.append(origin.error(f"invalid date {text!r}: {exc}"))
        return date.min


def _listed_elsewhere(code: str, products: dict[str, Product]) -> frozenset[str]:
    """SKUs whose product limits itself to marketplaces other than `code`."""
    return frozenset(
        sku
        for sku, p in products.items()
        if p.marketplaces is not None and code not in p.marketplaces
    )
