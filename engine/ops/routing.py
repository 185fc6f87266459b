"""Routing open merchant-fulfilled orders to the seller's warehouses (pure, deterministic).

Orders are taken first come, first served (purchase time, then order id), and each takes its
units out of the stock it is routed from, so two orders never promise the same unit.

For an order shipping to country C, the candidates are the warehouses serving C, nearest
first by great-circle distance from C's centroid (`engine.core.geo`; ties by warehouse id):
1. the nearest candidate that holds every unit of the order ships all of it;
2. otherwise the file's `fallback` decides:
   - `backorder`: the whole order goes to the nearest candidate, every line flagged
     backorder (that warehouse ships it when stock arrives; nothing is taken from stock);
   - `split`: each line takes its units from the nearest candidates that have them, in
     distance order; units none of them has go to the nearest candidate as a backorder line.
An order whose country no warehouse serves (or with no ship-to country) is `unroutable`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.config.model import Warehouse, Warehouses
from engine.core.geo import CENTROIDS, great_circle_km
from engine.core.orders import OPEN_STATUSES, Order


@dataclass(frozen=True, slots=True)
class RouteLine:
    """Units of one order line sent to one warehouse (None when unroutable)."""

    amazon_order_id: str
    marketplace: str
    ship_country: str | None
    sku: str
    quantity: int
    warehouse: str | None
    distance_km: int | None
    backorder: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "amazon_order_id": self.amazon_order_id,
            "marketplace": self.marketplace,
            "ship_country": self.ship_country,
            "sku": self.sku,
            "quantity": self.quantity,
            "warehouse": self.warehouse,
            "distance_km": self.distance_km,
            "backorder": self.backorder,
            "note": self.note,
        }


COLUMNS = tuple(RouteLine.__dataclass_fields__)
Candidate = tuple[int, Warehouse]  # (distance in km, warehouse)


def routable(order: Order) -> bool:
    """Open MFN orders: paid, not yet shipped, and ours to ship."""
    return order.channel == "MFN" and order.status in OPEN_STATUSES


def _candidates(country: str | None, warehouses: Warehouses) -> list[Candidate]:
    if country is None or country not in CENTROIDS:
        return []
    centre = CENTROIDS[country]
    serving = [w for w in warehouses.items if country in w.countries]
    ranked = [(round(great_circle_km(centre, (w.latitude, w.longitude))), w) for w in serving]
    return sorted(ranked, key=lambda pair: (pair[0], pair[1].id))


def _line(
    order: Order,
    sku: str,
    quantity: int,
    where: Candidate | None,
    *,
    backorder: bool = False,
    note: str = "",
) -> RouteLine:
    return RouteLine(
        order.amazon_order_id,
        order.marketplace,
        order.ship_country,
        sku,
        quantity,
        None if where is None else where[1].id,
        None if where is None else where[0],
        backorder,
        note,
    )


def _route_order(
    order: Order, candidates: list[Candidate], stock: dict[str, dict[str, int]], fallback: str
) -> list[RouteLine]:
    """One order's lines; takes what it ships out of `stock`."""
    units = [(i.sku, i.quantity - i.quantity_shipped) for i in order.items]
    units = [(sku, qty) for sku, qty in units if qty > 0]
    if not candidates:
        why = f"no warehouse serves ship-to country {order.ship_country or '(unknown)'}"
        return [_line(order, sku, qty, None, note=why) for sku, qty in units]
    whole = next(
        (c for c in candidates if all(stock[c[1].id].get(sku, 0) >= qty for sku, qty in units)),
        None,
    )
    if whole is not None:
        for sku, qty in units:
            stock[whole[1].id][sku] -= qty
        return [_line(order, sku, qty, whole) for sku, qty in units]
    if fallback == "backorder":
        note = "no single warehouse holds the whole order"
        return [
            _line(order, sku, qty, candidates[0], backorder=True, note=note) for sku, qty in units
        ]
    lines = []
    for sku, qty in units:
        for candidate in candidates:
            take = min(qty, stock[candidate[1].id].get(sku, 0))
            if take:
                stock[candidate[1].id][sku] -= take
                lines.append(_line(order, sku, take, candidate, note="split"))
                qty -= take
        if qty:
            lines.append(
                _line(order, sku, qty, candidates[0], backorder=True, note="no stock left")
            )
    return lines


def route(orders: Iterable[Order], warehouses: Warehouses) -> list[RouteLine]:
    """Route lines for every open MFN order (see the module docstring)."""
    stock = {w.id: dict(w.stock) for w in warehouses.items}
    lines: list[RouteLine] = []
    for order in sorted(
        filter(routable, orders), key=lambda o: (o.purchase_date, o.amazon_order_id)
    ):
        candidates = _candidates(order.ship_country, warehouses)
        lines.extend(_route_order(order, candidates, stock, warehouses.fallback))
    return lines
