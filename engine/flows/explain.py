"""`sync explain`: one listing's every field, its value and where it came from.

The quantity depends on what the state store knows (units reserved for unshipped orders,
the sales history that sizes an exposure cap, refill holds), so the flow reads those once
and hands them to the pure `desired.render.explain`.
"""

from __future__ import annotations

import re
from datetime import datetime

from engine.config.model import Config
from engine.core.errors import UserError
from engine.core.marketplaces import did_you_mean
from engine.desired.render import Trace, explain
from engine.ops.exposure import stored_history
from engine.ops.unshipped import stored_reservation
from engine.state.db import open_state

ADDRESS = re.compile(r'^listing\.(?P<mkt>[A-Z]{2})\[(?P<q>"?)(?P<sku>[^"\]]+)(?P=q)\]$')


def listing_of(config: Config, address: str) -> tuple[str, str]:
    """(marketplace, sku) of an address the config knows, or a UserError saying why not."""
    match = ADDRESS.match(address.strip())
    if match is None:
        raise UserError(f'address {address!r} must look like listing.DE["HP-100"]')
    code, sku = match["mkt"], match["sku"]
    if code not in config.marketplaces:
        raise UserError(
            f"marketplace {code} is not enabled in {config.project.source.name}{did_you_mean(code)}"
        )
    if sku not in config.products:
        raise UserError(f"no product with SKU {sku!r} in the config")
    return code, sku


def explain_listing(config: Config, address: str, now: datetime) -> tuple[str, Trace]:
    """The marketplace of `address` and the trace of its listing at `now`."""
    code, sku = listing_of(config, address)
    db = open_state(config.project.state, config.state_dir)
    try:
        reservation = stored_reservation(db, config)
        history = stored_history(db, config, now)
    finally:
        db.close()
    try:
        return code, explain(config, now, code, sku, reservation=reservation, history=history)
    except KeyError as exc:
        raise UserError(f"{address}: {exc.args[0]}") from None
