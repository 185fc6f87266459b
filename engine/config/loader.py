"""Load a config directory: find files, parse, validate, build the model, check semantics.

All problems of one run are collected and raised together as ConfigErrors; nothing is
written anywhere while loading (but the parse cache, when asked for).

The steps live in their own modules: which files there are (engine.config.discovery),
reading them (engine.config.parsepool, with engine.config.parsecache), one builder per kind
of file (engine.config.builders) and the checks across files (engine.config.checks). This
module runs them in order, and decides when a load cannot go on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from engine.config import schema
from engine.config.builders.approvals import build_approvals
from engine.config.builders.context import BuildContext
from engine.config.builders.fx import build_fx
from engine.config.builders.incidents import build_incidents
from engine.config.builders.marketplaces import build_marketplaces
from engine.config.builders.products import build_products
from engine.config.builders.project import build_project
from engine.config.builders.promotions import build_promotions
from engine.config.builders.sales import build_sales
from engine.config.builders.warehouses import build_warehouses
from engine.config.checks import (
    check_bounds,
    check_exposure,
    check_product_marketplaces,
    check_settings,
    check_translations,
)
from engine.config.discovery import discover, display_name, missing_required
from engine.config.errors import ConfigError, ConfigErrors
from engine.config.model import Config, Project
from engine.config.parsecache import ParseCache, cache_for_config
from engine.config.parsepool import ReadResult, read_all, read_and_validate
from engine.config.stock_csv import read_central_stock
from engine.config.yamlsafe import SourceFile
from engine.core.gcpause import gc_paused


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
    ctx = BuildContext(Path(root))
    path = ctx.root / "project.yaml"
    source, problems, _ = read_and_validate(path, display_name(path), "project")
    if source is None or problems:
        raise ConfigErrors(problems)
    project = build_project(ctx, source, os.environ if env is None else env)
    if ctx.errors:
        raise ConfigErrors(ctx.errors)
    return project


class _Loader:
    """One load of one config directory."""

    def __init__(self, root: Path, env: Mapping[str, str]):
        self.root = root
        self.env = env
        self.ctx = BuildContext(root)
        self.errors = self.ctx.errors
        self.hasher = hashlib.sha256()  # over every file read: Config.digest

    def load(
        self, meanwhile: Callable[[], None] | None = None, parse_cache: bool = False
    ) -> Config:
        if not self.root.is_dir():
            raise ConfigErrors(
                [ConfigError(str(self.root), None, "", "config directory not found")]
            )
        files, unknown = discover(self.root)
        self.errors.extend(unknown)
        cache = cache_for_config(self.root) if parse_cache else None
        jobs = [(p, display_name(p), k) for p, k in files]
        results, cached, overlapped = read_all(jobs, meanwhile, cache)
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
        results: list[ReadResult],
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
                self.ctx.unbuilt_marketplaces.add(path.stem)
            elif kind == "products":
                self.ctx.note_unbuilt_products(source)
        self.errors.extend(missing_required(self.root, files))
        if not sources["project"] or not sources["fx"]:
            raise ConfigErrors(self.errors)
        if cache is not None and not self.errors:
            for kind, source, digest in parsed:  # before building drops the product data
                cache.stage(cache.key(digest, kind), source.data)
        return self._build(sources)

    def _build(self, sources: dict[str, list[SourceFile]]) -> Config:
        ctx = self.ctx
        project = build_project(ctx, sources["project"][0], self.env)
        fx = build_fx(ctx, sources["fx"][0], project)
        products = build_products(ctx, sources["products"], project, fx)
        marketplaces = build_marketplaces(ctx, sources["marketplace"], project, products)
        check_product_marketplaces(ctx, products, marketplaces)
        check_settings(ctx, project, products, marketplaces)
        check_translations(ctx, project, products, marketplaces)
        check_bounds(ctx, project, products, marketplaces)
        check_exposure(ctx, project, products, marketplaces)
        sales = build_sales(ctx, sources["sales"], products, marketplaces)
        promotions = build_promotions(ctx, sources["promotions"], products, marketplaces)
        approvals = build_approvals(ctx, sources["approvals"], products, marketplaces)
        incidents = build_incidents(ctx, sources["incidents"], products, marketplaces)
        central: dict[str, int] = {}
        if project.stock_source is not None:
            central, problems = read_central_stock(
                project.stock_source, display_name(project.stock_source.path), self.hasher
            )
            self.errors.extend(problems)
        warehouses = None
        if sources["warehouses"]:
            warehouses = build_warehouses(ctx, sources["warehouses"][0], self.hasher)
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
