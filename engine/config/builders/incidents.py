"""incidents.yaml or incidents/*.yaml: acknowledged watchdog incidents.

An acknowledgement releases the breaker of one listing; one naming a listing that does not
exist (a typo) would leave the real one tripped while everyone thinks it is released.
"""

from __future__ import annotations

from engine.config.builders.context import BuildContext, sub
from engine.config.model import Incident, MarketplaceConfig, Origin, Product
from engine.config.yamlsafe import SourceFile


def build_incidents(
    ctx: BuildContext,
    srcs: list[SourceFile],
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> list[Incident]:
    """The incidents of `srcs`, ids unique across them, each naming a real listing."""
    incidents = []
    seen: dict[str, Origin] = {}
    for src in srcs:
        for i, item in enumerate(src.data["incidents"]):
            origin = Origin(src, ("incidents", i))
            if not ctx.unique_id(item["id"], origin, seen, "incident"):
                continue
            if not ctx.names_a_sku(item["sku"], products):
                ctx.errors.append(sub(origin, "sku").error(f"no product with SKU {item['sku']!r}"))
            where = (*origin.path, "marketplace")
            if not ctx.is_enabled(src, where, item["marketplace"], marketplaces):
                continue
            at = ctx.timestamp(item["acknowledged_at"], sub(origin, "acknowledged_at"))
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
