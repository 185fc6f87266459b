"""project.yaml: the seller, its marketplaces, backend, state store, defaults, health
targets, watch settings and drift rules.

The environment variable SELLERSYNC_BACKEND=sandbox points any config at the embedded sandbox
whatever `backend.kind` says: CI plans a pull request from a fork, which gets no SP-API
secrets, against the sandbox rather than failing. It also puts the state store on SQLite in
the state directory, because the journal, last-applied values and lock in a shared database
belong to the real account and a sandbox run must neither read nor write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config.builders.context import BuildContext
from engine.config.discovery import DEFAULT_STATE_DIR, state_folder
from engine.config.errors import ConfigError
from engine.config.model import (
    Backend,
    DriftIgnore,
    Freeze,
    HealthLevel,
    HealthTargets,
    Origin,
    Project,
    SkuSelector,
    StateStore,
    StockSource,
    WatchSettings,
    flatten_settings,
)
from engine.config.yamlsafe import SourceFile
from engine.core.marketplaces import MARKETPLACES
from engine.core.money import to_decimal

BACKEND_ENV = "SELLERSYNC_BACKEND"


def build_project(ctx: BuildContext, src: SourceFile, env: Mapping[str, str]) -> Project:
    """The project of `src`; `env` is where SELLERSYNC_BACKEND is looked up."""
    data = src.data
    base = data["base"]
    if base["marketplace"] not in MARKETPLACES:
        ctx.unknown_marketplace(src, ("base", "marketplace"), base["marketplace"])
    elif MARKETPLACES[base["marketplace"]].currency != base["currency"]:
        ctx.errors.append(
            src.error(
                ("base", "currency"),
                f"{base['currency']} does not match base marketplace {base['marketplace']} "
                f"(which sells in {MARKETPLACES[base['marketplace']].currency})",
            )
        )
    enabled = []
    for i, code in enumerate(data["marketplaces"]):
        if code not in MARKETPLACES:
            ctx.unknown_marketplace(src, ("marketplaces", i), code)
        else:
            enabled.append(code)
    backend_data = data.get("backend", {})
    stock_source = None
    if "stock_source" in data:
        s = data["stock_source"]
        stock_source = StockSource(
            kind=s["kind"],
            path=ctx.root / s["path"],
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
    if state.app_quota == "state" and state.backend == "sqlite":
        ctx.errors.append(
            src.error(
                ("state", "app_quota"),
                "state needs state.backend: postgresql (a SQLite store is not shared between "
                "processes); use auto or off",
            )
        )
    if _sandbox_forced(ctx, env):
        backend, state = Backend(kind="sandbox"), StateStore()
    return Project(
        seller_id=data["seller"]["id"],
        seller_name=data["seller"].get("name", data["seller"]["id"]),
        base_marketplace=base["marketplace"],
        base_currency=base["currency"],
        marketplaces=tuple(enabled),
        backend=backend,
        state_dir=state_folder(ctx.root, data.get("state_dir", DEFAULT_STATE_DIR)),
        state=state,
        stock_source=stock_source,
        defaults=defaults,
        prune=SkuSelector.of(data.get("prune", ())),
        source=src,
        health=_health(ctx, src, data.get("health", {})),
        watch=_watch(ctx, src, data.get("watch", {})),
        drift_ignore=_drift_ignore(ctx, src, data.get("drift", {}), enabled),
        freezes=_freezes(ctx, src, data.get("freezes", ())),
    )


def _freezes(ctx: BuildContext, src: SourceFile, data: list[dict[str, Any]]) -> tuple[Freeze, ...]:
    """project.yaml `freezes`, each window's end after its start."""
    freezes = []
    for i, item in enumerate(data):
        origin = Origin(src, ("freezes", i))
        start = ctx.timestamp(item["start"], Origin(src, ("freezes", i, "start")))
        end = ctx.timestamp(item["end"], Origin(src, ("freezes", i, "end")))
        if start is None or end is None:
            continue
        if end <= start:
            ctx.errors.append(src.error(("freezes", i, "end"), "must be after start"))
            continue
        freezes.append(Freeze(item["name"], start, end, item["reason"], origin))
    return tuple(freezes)


def _drift_ignore(
    ctx: BuildContext, src: SourceFile, data: dict[str, Any], enabled: list[str]
) -> tuple[DriftIgnore, ...]:
    """project.yaml `drift.ignore`, its marketplaces checked against the enabled ones."""
    rules = []
    for i, item in enumerate(data.get("ignore", ())):
        codes = item.get("marketplaces")
        for j, code in enumerate(codes or ()):
            where = ("drift", "ignore", i, "marketplaces", j)
            if code not in MARKETPLACES:
                ctx.unknown_marketplace(src, where, code)
            elif code not in enabled:
                ctx.errors.append(
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


def _watch(ctx: BuildContext, src: SourceFile, data: dict[str, Any]) -> WatchSettings:
    if "webhook_url" in data and "webhook_url_env" in data:
        ctx.errors.append(
            src.error(
                ("watch", "webhook_url_env"),
                "give webhook_url or webhook_url_env, not both (webhook_url_env keeps a "
                "URL with a token out of git)",
                at_key=True,
            )
        )
    return _watch_settings(data)


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


def _sandbox_forced(ctx: BuildContext, env: Mapping[str, str]) -> bool:
    """Whether SELLERSYNC_BACKEND asks for the sandbox (see the module docstring). Any
    other value is an error: a typo must not silently plan against the real account."""
    value = env.get(BACKEND_ENV, "")
    if value not in ("", "sandbox"):
        ctx.errors.append(
            ConfigError(
                "environment",
                None,
                BACKEND_ENV,
                f"{value!r} is not a backend override; the only value is sandbox "
                "(unset it to use backend.kind from project.yaml)",
            )
        )
    return value == "sandbox"


def _health(ctx: BuildContext, src: SourceFile, data: dict[str, Any]) -> HealthTargets:
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
            ctx.errors.append(
                src.error(
                    ("health", name, "warn" if "warn" in values else "target"),
                    f"warning level {level.warn} is {side} the target {level.target}; "
                    "the warning must come before the breach",
                )
            )
        levels[name] = level
    return HealthTargets(**levels)
