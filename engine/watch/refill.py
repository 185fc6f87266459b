"""Exposure at a watch pass: hold refills on what the pass saw, and refill what may be.

A capped listing (engine.desired.exposure) advertises only what it normally sells between
two refills. Each pass first updates the refill holds (engine.state.refill_holds) from the
orders it read and its detections:

- a detection on a capped listing holds its refills until incidents.yaml acknowledges an
  incident of it (the breaker trips as well and holds it at 0 meanwhile);
- an order line the rules could not judge (Pending: no price yet, so neither the floor nor
  the promotion rules saw it) holds the listing's refills until each such order has been
  read priced, or cancelled. A runaway's first orders are all Pending: without this, the
  next pass would top the listing up again before the rules could see a single price.

Then it refills: every capped listing that sold in this pass's orders (or whose hold was
lifted) is read live with the other marketplaces sharing its SKU's stock, and stock is
allocated as a plan would allocate it (engine.desired.render.allocate_stock, the caps and
holds included), reserving the units the pulled orders owe and every line the watchdog saw
since the last pull (engine.ops.exposure). A listing below what that gives is raised to
it, never above its cap. The write is an emergency run of the journal, as the breaker's
are (`refill:<address>` its digest), claimed under the same per-account serialisation. A
refill is routine, not an emergency: while an apply holds the account's lock it is left for
the next pass (never waited for, never racing the apply's own quantity writes), and a
listing a breaker holds or another watch process is writing is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from engine.config.model import Config
from engine.core.changes import FieldChange, ResourceChange
from engine.core.orders import Order, iso
from engine.core.resource import Resource, address
from engine.desired.exposure import Key, listing_rule
from engine.desired.render import DesiredState, allocate_stock
from engine.live.backend import Backend
from engine.ops.exposure import read_history, refill_reservation
from engine.state import breakers as breaker_store
from engine.state import journal, lock, refill_holds
from engine.state.db import StateDB
from engine.state.refill_holds import StoredHold
from engine.watch.breaker import changed_fields, send_journaled
from engine.watch.detect import CANCELED, Detection

REFILL_DIGEST_PREFIX = "refill:"
Outcome = Literal["written", "failed", "held", "in_progress"]


@dataclass(frozen=True, slots=True)
class Refill:
    """What a pass did about one capped listing below its allocation."""

    address: str
    before: int
    after: int
    outcome: Outcome
    detail: str
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "before": self.before,
            "after": self.after,
            "outcome": self.outcome,
            "detail": self.detail,
            "journal_run": self.run_id,
        }


def update_holds(
    db: StateDB,
    config: Config,
    orders: Iterable[Order],
    detections: Sequence[Detection],
    now: datetime,
) -> list[Key]:
    """Record this pass's holds (see the module docstring); returns the listings whose
    hold was lifted (their refills may resume)."""
    unpriced: dict[Key, set[str]] = {}
    judged: dict[Key, set[str]] = {}
    for order in orders:
        for item in order.items:
            key = (order.marketplace, item.sku)
            if listing_rule(config, *key) is None:
                continue
            settled = order.status == CANCELED or item.realized_unit_price is not None
            (judged if settled else unpriced).setdefault(key, set()).add(order.amazon_order_id)
    return _record_holds(db, config, unpriced, judged, detections, now)


def hold_notified(
    db: StateDB,
    config: Config,
    marketplace: str,
    order_id: str,
    skus: Iterable[str],
    *,
    settled: bool | None,
    detections: Sequence[Detection],
    now: datetime,
) -> list[Key]:
    """update_holds for one ORDER_CHANGE notification (`sync watch --follow`), which
    carries no price: `settled` is False for a Pending order (it holds its capped listings
    until it is read priced), True for one judged priced or cancelled, None for a priced
    status the follower did not read (it changes no hold; the next pass judges it)."""
    keys = [(marketplace, sku) for sku in skus if listing_rule(config, marketplace, sku)]
    lines: dict[Key, set[str]] = {key: {order_id} for key in keys}
    return _record_holds(
        db,
        config,
        lines if settled is False else {},
        lines if settled else {},
        detections,
        now,
    )


def _record_holds(
    db: StateDB,
    config: Config,
    unpriced: Mapping[Key, set[str]],
    judged: Mapping[Key, set[str]],
    detections: Sequence[Detection],
    now: datetime,
) -> list[Key]:
    seller = config.project.seller_id
    found: dict[Key, list[str]] = {}
    for d in detections:
        if listing_rule(config, d.marketplace, d.sku) is not None:
            found.setdefault((d.marketplace, d.sku), []).append(f"{d.rule}: {d.message}")
    lifted = []
    with db.write() as conn:
        current = {(h.marketplace, h.sku): h for h in refill_holds.holds(conn, seller)}
        for key, hold in list(current.items()):
            if any(
                (i.marketplace, i.sku) == key and i.acknowledged_at >= hold.since
                for i in config.incidents
            ):
                del current[key]
                lifted.append(key)
        for key in {*current, *unpriced, *judged, *found}:
            hold = _next_hold(
                current.get(key), key, found.get(key), unpriced.get(key), judged.get(key), now
            )
            if hold is not None:
                refill_holds.put(conn, seller, hold)
            elif key in current:
                lifted.append(key)
        refill_holds.release(conn, seller, lifted)
    return lifted


def _next_hold(
    hold: StoredHold | None,
    key: Key,
    detected: list[str] | None,
    unpriced: set[str] | None,
    judged: set[str] | None,
    now: datetime,
) -> StoredHold | None:
    since = now if hold is None else hold.since
    if detected:
        return StoredHold(*key, since, "detection", "; ".join(detected))
    if hold is not None and hold.kind == "detection":
        return hold
    waiting = (set(hold.waiting) if hold else set()) - (judged or set()) | (unpriced or set())
    if not waiting:
        return None
    ids = sorted(waiting)
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    reason = (
        f"{len(ids)} order(s) not priced yet ({shown}): the floor and promotion rules "
        "could not judge them"
    )
    return StoredHold(*key, since, "unjudged", reason, tuple(ids))


def refill_candidates(config: Config, orders: Iterable[Order], lifted: Iterable[Key]) -> set[Key]:
    """The capped listings a pass may refill: those that sold in its orders (their live
    quantity went down) and those whose hold it lifted."""
    sold = {(o.marketplace, item.sku) for o in orders for item in o.items}
    return {key for key in {*sold, *lifted} if listing_rule(config, *key) is not None}


def refill(
    config: Config,
    backend: Backend,
    db: StateDB,
    desired: Mapping[str, Resource],
    keys: set[Key],
    now: datetime,
) -> list[Refill]:
    """Raise each listing of `keys` that is below what allocation gives it (see the module
    docstring). `desired`: the rendered config, every listing (its quantities are
    allocated again here from live)."""
    if not keys:
        return []
    seller = config.project.seller_id
    codes = list(config.marketplaces)
    live: dict[Key, Resource] = {}
    for sku in sorted({sku for _, sku in keys}):
        for code, mkt in config.marketplaces.items():
            found = backend.read_listing(code, sku) if mkt.lists(sku) else None
            if found is not None:
                live[(code, sku)] = found.resource
    with db.read() as conn:
        history = read_history(conn, seller, codes, now)
        reservation = refill_reservation(conn, seller, codes, now)
    quantities = {key: r.quantity for key, r in live.items() if r.quantity is not None}
    allocated = allocate_stock(
        config,
        DesiredState(dict(desired), (), (), now),
        quantities,
        reservation=reservation,
        history=history,
    ).resources
    done = []
    for key in sorted(keys):
        current, wanted = live.get(key), allocated.get(address(*key))
        if current is None or wanted is None or current.quantity is None:
            continue
        target = wanted.quantity or 0
        hold = history.hold(key, config.incidents)
        if target <= max(current.quantity, 0):
            if hold is not None:
                quantity = current.quantity
                done.append(Refill(current.address, quantity, quantity, "held", hold.line()))
            continue
        done.append(_refill_one(backend, db, seller, current, target, now))
    return done


def _refill_one(
    backend: Backend, db: StateDB, seller: str, live: Resource, target: int, now: datetime
) -> Refill:
    before = live.quantity or 0
    change = ResourceChange(
        live.address,
        "update",
        live,
        replace(live, quantity=target),
        (FieldChange("quantity", live.quantity, target),),
    )
    with db.write() as conn:
        lock.serialise_emergency_claims(conn, seller)
        applying = lock.held_by(conn, seller)
        if applying is not None:
            detail = (
                f"an apply holds the account's lock ({applying.operation} by {applying.holder})"
            )
            return Refill(live.address, before, before, "held", detail)
        tripped = {(b.marketplace, b.sku) for b in breaker_store.tripped(conn, seller)}
        if live.key in tripped:
            return Refill(live.address, before, before, "held", "a breaker holds it")
        for entry in journal.open_emergency_entries(conn, seller):
            if entry.address == live.address:
                detail = f"another watch process is writing it (run {entry.run_id})"
                return Refill(live.address, before, before, "in_progress", detail, entry.run_id)
        payload = {
            "refill": True,
            "fields": {"quantity": {"before": live.quantity, "after": target}},
        }
        run = journal.start_run(
            conn,
            seller,
            f"{REFILL_DIGEST_PREFIX}{live.address}@{iso(now)}",
            [journal.Change(live.address, "update", payload)],
            now,
            kind="emergency",
        )
    problem = send_journaled(backend, db, run.id, change, now)
    if problem is None:
        return Refill(live.address, before, target, "written", changed_fields(change), run.id)
    return Refill(live.address, before, before, "failed", f"refused: {problem}", run.id)
