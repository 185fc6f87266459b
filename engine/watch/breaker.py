"""The circuit breaker: make a listing unbuyable, reversibly, and keep it so until the YAML
acknowledges the incident.

The least destructive action that stops sales, per fulfilment channel:

- MFN: quantity 0 (a `merge` of fulfillment_availability, nothing else sent). The listing,
  its price, its sale and its reviews stay; restoring the quantity restores the offer.
- FBA: Amazon owns FBA quantity, and `fulfillment_availability` cannot be written for AFN
  offers, so quantity is not a lever. Deleting the listing would lose the offer and its
  history, and lowering nothing can stop a promotion made in Seller Central. What SP-API
  does allow is the offer's own guard: Amazon deactivates an offer whose price falls outside
  its minimum/maximum seller allowed price ("potential pricing error"). The breaker raises
  `minimum_seller_allowed_price` to one minor unit above our price (and the maximum with it
  when needed), which suppresses the offer until the minimum comes back down. Nothing about
  the offer is lost, and the next apply restores the minimum from config.

Every breaker write is an emergency change: it takes the apply lock (so it never races an
apply), is journaled before it is sent and after its outcome (engine.state.journal, one run
whose plan digest names the incident), and the tripped breaker is recorded in the state
store, where `hold_tripped` finds it for the plan.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from engine.config.model import Incident
from engine.desired.resource import Resource, address
from engine.errors import UserError
from engine.live.backend import Backend
from engine.live.orders import iso
from engine.money import currency
from engine.plan.diff import MANAGED_FIELDS, FieldChange, ResourceChange
from engine.state import journal, lock
from engine.state import watch as watch_state
from engine.state.db import StateDB
from engine.state.watch import Breaker
from engine.watch.detect import Detection

EMERGENCY_DIGEST_PREFIX = "breaker:"
Outcome = Literal["written", "in_place", "failed", "deferred", "missing"]


def breaker_state(resource: Resource) -> Resource:
    """The listing as the breaker leaves it (see the module docstring for why)."""
    if resource.fulfillment_channel == "MFN":
        return replace(resource, quantity=0)
    minimum = resource.our_price + currency(resource.currency).quantum
    maximum = resource.maximum_seller_allowed_price
    return replace(
        resource,
        minimum_seller_allowed_price=minimum,
        maximum_seller_allowed_price=None if maximum is None else max(maximum, minimum),
    )


def is_held(live: Resource) -> bool:
    """Whether a live listing is already unbuyable the way the breaker makes it."""
    if live.fulfillment_channel == "MFN":
        return live.quantity == 0
    low = live.minimum_seller_allowed_price
    return low is not None and live.our_price < low


def breaker_change(live: Resource) -> ResourceChange | None:
    """The update from `live` to its breaker state; None when it is already unbuyable."""
    if is_held(live):
        return None
    after = breaker_state(live)
    fields = tuple(
        FieldChange(name, getattr(live, name), getattr(after, name))
        for name in MANAGED_FIELDS
        if getattr(live, name) != getattr(after, name)
    )
    return ResourceChange(live.address, "update", live, after, fields)


def incident_id(marketplace: str, sku: str, now: datetime) -> str:
    """e.g. INC-202611272215-US-HP-100: sortable, and names the listing it is about."""
    return f"INC-{now:%Y%m%d%H%M}-{marketplace}-{sku}"


def breakers_for(detections: Iterable[Detection], now: datetime) -> list[Breaker]:
    """One breaker per listing with detections; its reason lists every rule that fired."""
    by_key: dict[tuple[str, str], list[Detection]] = {}
    for detection in detections:
        by_key.setdefault((detection.marketplace, detection.sku), []).append(detection)
    return [
        Breaker(
            marketplace,
            sku,
            now,
            "; ".join(f"{d.rule}: {d.message}" for d in group),
            incident_id(marketplace, sku, now),
        )
        for (marketplace, sku), group in by_key.items()
    ]


@dataclass(frozen=True, slots=True)
class Enforcement:
    """What the breaker did to one listing in this run."""

    breaker: Breaker
    outcome: Outcome
    detail: str
    run_id: str | None = None  # the journal run of a write

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.breaker.incident_id,
            "marketplace": self.breaker.marketplace,
            "sku": self.breaker.sku,
            "address": address(self.breaker.marketplace, self.breaker.sku),
            "tripped_at": iso(self.breaker.tripped_at),
            "reason": self.breaker.reason,
            "outcome": self.outcome,
            "detail": self.detail,
            "journal_run": self.run_id,
        }


def holder() -> str:
    return f"{socket.gethostname()} pid {os.getpid()} (watch)"


def enforce(
    backend: Backend, db: StateDB, seller_id: str, tripped: Sequence[Breaker], now: datetime
) -> list[Enforcement]:
    """Make sure every tripped breaker's listing is unbuyable: read it live and write the
    breaker state where it is not (newly tripped, or restored by hand in Seller Central).
    Listings already held cost one read. When an apply holds the lock, nothing is written
    and every write is reported `deferred` (the next run tries again)."""
    wanted: list[tuple[Breaker, ResourceChange]] = []
    done: list[Enforcement] = []
    for breaker in tripped:
        live = backend.read_listing(breaker.marketplace, breaker.sku)
        if live is None:
            done.append(Enforcement(breaker, "missing", "no such live listing: nothing sells"))
            continue
        change = breaker_change(live.resource)
        if change is None:
            done.append(Enforcement(breaker, "in_place", "already unbuyable"))
        else:
            wanted.append((breaker, change))
    if not wanted:
        return done
    try:
        held = lock.acquire(db, seller_id, holder(), "breaker", now)
    except UserError as err:  # LockHeld; UnfinishedRun below
        return done + [Enforcement(b, "deferred", str(err)) for b, _ in wanted]
    with held:
        for breaker, change in wanted:
            done.append(_write(backend, db, seller_id, breaker, change, now))
    return done


def _write(
    backend: Backend,
    db: StateDB,
    seller_id: str,
    breaker: Breaker,
    change: ResourceChange,
    now: datetime,
) -> Enforcement:
    payload = {
        "emergency": True,
        "incident": breaker.incident_id,
        "reason": breaker.reason,
        "fields": {f.field: {"before": f.before, "after": f.after} for f in change.fields},
    }
    entry = journal.Change(change.address, "update", payload)
    try:
        with db.write() as conn:
            run = journal.start_run(
                conn, seller_id, EMERGENCY_DIGEST_PREFIX + breaker.incident_id, [entry], now
            )
            journal.transition(conn, run.id, 0, "sent", now)
    except journal.UnfinishedRun as err:
        return Enforcement(breaker, "deferred", str(err))
    result = backend.write(change)
    ok = result.status == "ACCEPTED"
    problem = "; ".join(str(i.get("message", i)) for i in result.issues) or result.status
    with db.write() as conn:
        journal.transition(
            conn,
            run.id,
            0,
            "accepted" if ok else "failed",
            now,
            submission_id=result.submission_id,
            request_id=result.request_id,
            error=None if ok else problem,
        )
        journal.finish_run(conn, run.id, now)
    changed = ", ".join(f"{f.field} {_text(f.before)} -> {_text(f.after)}" for f in change.fields)
    if ok:
        return Enforcement(breaker, "written", changed, run.id)
    return Enforcement(breaker, "failed", f"{changed} refused: {problem}", run.id)


def trip(db: StateDB, seller_id: str, breakers: Iterable[Breaker]) -> list[Breaker]:
    """Record breakers; a listing already tripped keeps its first trip and incident."""
    with db.write() as conn:
        return [watch_state.trip(conn, seller_id, b) for b in breakers]


def release_acknowledged(
    db: StateDB, seller_id: str, incidents: Sequence[Incident]
) -> list[Breaker]:
    """Reset the breakers whose incident the YAML acknowledges; returns them."""
    with db.write() as conn:
        tripped = watch_state.tripped(conn, seller_id)
        released = [b for b in tripped if acknowledgement(b, incidents) is not None]
        for breaker in released:
            watch_state.reset(conn, seller_id, breaker.marketplace, breaker.sku)
    return released


def acknowledgement(breaker: Breaker, incidents: Sequence[Incident]) -> Incident | None:
    """The config entry acknowledging this breaker's incident (same id and listing)."""
    return next(
        (
            i
            for i in incidents
            if i.id == breaker.incident_id
            and i.marketplace == breaker.marketplace
            and i.sku == breaker.sku
        ),
        None,
    )


@dataclass(frozen=True, slots=True)
class Held:
    """A desired listing the plan keeps at its breaker state."""

    address: str
    breaker: Breaker

    def line(self) -> str:
        """One line for text and Markdown plans."""
        b = self.breaker
        return (
            f"{self.address} held by breaker {b.incident_id} (tripped {iso(b.tripped_at)}: "
            f"{b.reason}); acknowledge it in incidents.yaml to restore the listing"
        )


def hold_tripped(
    desired: Mapping[str, Resource],
    breakers: Iterable[Breaker],
    incidents: Sequence[Incident],
) -> tuple[dict[str, Resource], tuple[Held, ...]]:
    """Desired state with every tripped, unacknowledged listing kept at its breaker state,
    and what was held. The plan calls this so it never restores a tripped listing:
    `desired, held = hold_tripped(desired, breakers, config.incidents)`."""
    result = dict(desired)
    held = []
    for breaker in breakers:
        key = address(breaker.marketplace, breaker.sku)
        if key not in result or acknowledgement(breaker, incidents) is not None:
            continue
        result[key] = breaker_state(result[key])
        held.append(Held(key, breaker))
    return result, tuple(held)


def _text(value: object) -> str:
    return "none" if value is None else str(value)
