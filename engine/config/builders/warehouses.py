"""warehouses.yaml: the seller's warehouses, each with its stock CSV, for order routing.

Beyond the schema: ids are unique, and every country served has a centroid in
`engine.core.geo` (routing measures from it, so a country without one could never be routed).
"""

from __future__ import annotations

from typing import Any

from engine.config.builders.context import BuildContext
from engine.config.discovery import display_name
from engine.config.model import Origin, StockSource, Warehouse, Warehouses
from engine.config.stock_csv import read_central_stock
from engine.config.yamlsafe import SourceFile
from engine.core.geo import CENTROIDS, did_you_mean


def build_warehouses(ctx: BuildContext, src: SourceFile, hasher: Any) -> Warehouses:
    """The warehouses of `src`, their stock read (and fed to `hasher`, like every file the
    config is made of)."""
    items: list[Warehouse] = []
    seen: dict[str, Origin] = {}
    for i, data in enumerate(src.data["warehouses"]):
        origin = Origin(src, ("warehouses", i))
        ident = data["id"]
        if ident in seen:
            ctx.errors.append(
                Origin(src, ("warehouses", i, "id")).error(
                    f"warehouse id {ident!r} is already used by {seen[ident].describe()}"
                )
            )
            continue
        seen[ident] = origin
        for j, country in enumerate(data["countries"]):
            if country not in CENTROIDS:
                ctx.errors.append(
                    Origin(src, ("warehouses", i, "countries", j)).error(
                        f"no centroid for country {country!r}{did_you_mean(country)}, so "
                        f"orders to it cannot be routed; known: {', '.join(sorted(CENTROIDS))}"
                    )
                )
        stock_data = data["stock"]
        source = StockSource(
            kind="csv",
            path=ctx.root / stock_data["path"],
            sku_column=stock_data.get("sku_column", "sku"),
            quantity_column=stock_data.get("quantity_column", "quantity"),
            origin=Origin(src, ("warehouses", i, "stock", "path")),
        )
        stock, problems = read_central_stock(source, display_name(source.path), hasher)
        ctx.errors.extend(problems)
        location = data["location"]
        items.append(
            Warehouse(
                id=ident,
                name=data.get("name", ident),
                latitude=float(location["latitude"]),
                longitude=float(location["longitude"]),
                countries=tuple(data["countries"]),
                stock=stock,
                origin=origin,
            )
        )
    return Warehouses(src.data.get("fallback", "backorder"), tuple(items))
