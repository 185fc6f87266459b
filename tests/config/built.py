"""The pieces the cross-file checks look at (project, products, marketplaces), built from the
minimal config by the builders alone: the checks run on them one at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.builders.context import BuildContext
from engine.config.builders.fx import build_fx
from engine.config.builders.marketplaces import build_marketplaces
from engine.config.builders.products import build_products
from engine.config.builders.project import build_project
from engine.config.discovery import discover, display_name
from engine.config.model import MarketplaceConfig, Product, Project
from engine.config.parsepool import read_and_validate
from engine.config.yamlsafe import SourceFile
from tests.minimal_config import write_config


@dataclass
class Built:
    root: Path
    project: Project
    products: dict[str, Product]
    marketplaces: dict[str, MarketplaceConfig]

    def context(self, *, unbuilt_marketplaces: set[str] | None = None) -> BuildContext:
        """A fresh context to run one check in."""
        return BuildContext(self.root, unbuilt_marketplaces=unbuilt_marketplaces or set())


def build(tmp_path: Path, changes: dict[str, str | None] | None = None) -> Built:
    """The minimal config with `changes`; every file must build without errors."""
    root = write_config(tmp_path / "config", changes)
    files, unknown = discover(root)
    assert unknown == []
    sources: dict[str, list[SourceFile]] = {"products": [], "marketplace": []}
    for path, kind in files:
        source, problems, _ = read_and_validate(path, display_name(path), kind)
        assert source is not None and problems == [], problems
        sources.setdefault(kind, []).append(source)
    ctx = BuildContext(root)
    project = build_project(ctx, sources["project"][0], {})
    fx = build_fx(ctx, sources["fx"][0], project)
    products = build_products(ctx, sources["products"], project, fx)
    marketplaces = build_marketplaces(ctx, sources["marketplace"], project, products)
    assert ctx.errors == []
    return Built(root, project, products, marketplaces)
