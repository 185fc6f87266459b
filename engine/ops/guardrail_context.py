"""The guardrails' live facts, read from the state store that `sync orders pull` fills.

The plan does not call Amazon for orders: the pull keeps the order store fresh on its own
schedule, and planning reads it. What a marketplace never pulled is unknown, never zero:
- open order units (engine.ops.unshipped: the units stock allocation reserves) are known
  only when every planned marketplace has been pulled (a listing missing from a known
  mapping has none, so a partial mapping would read as "no orders");
- account health is the local projection (engine.ops.health_figures.local_figures) of each pulled
  marketplace; the order defect rate cannot be seen in Orders data and stays unknown.
The guardrail baseline (the settings, fx rates and weakening approvals the last successful
apply ran under, engine.guardrails.baseline_store) comes from the same store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from engine.guardrails import baseline_store
from engine.guardrails.context import AccountHealth, GuardrailContext
from engine.ops.health_figures import local_figures
from engine.ops.unshipped import unshipped_units
from engine.state import orders as order_store
from engine.state.orders import OrderFilter


def from_store(
    conn: sa.Connection,
    seller_id: str,
    marketplaces: Sequence[str],
    now: datetime,
    sharing_stock: Sequence[str] = (),
) -> GuardrailContext:
    """The context for a plan of `marketplaces` as of `now` (see the module docstring).
    `sharing_stock`: the other enabled marketplaces. Their pulled orders owe units from the
    same stock, so they count in the open order units too (a plan of one marketplace must
    not look as if the others owed nothing)."""
    baseline = baseline_store.load(conn, seller_id)
    pulled = [m for m in marketplaces if order_store.checkpoint(conn, seller_id, m) is not None]
    if not pulled:
        return GuardrailContext(baseline=baseline)
    others = [
        m
        for m in sharing_stock
        if m not in marketplaces and order_store.checkpoint(conn, seller_id, m) is not None
    ]
    stored = [
        s for m in (*pulled, *others) for s in order_store.find(conn, seller_id, OrderFilter(m))
    ]
    health = {}
    for marketplace in pulled:
        figures = local_figures((s for s in stored if s.order.marketplace == marketplace), now)
        health[marketplace] = AccountHealth(cancellation_rate_pct=figures.cancellation_rate_pct)
    units = unshipped_units(s.order for s in stored) if len(pulled) == len(marketplaces) else None
    return GuardrailContext(open_order_units=units, account_health=health, baseline=baseline)
