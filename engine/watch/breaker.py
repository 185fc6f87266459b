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
  the offer is lost, and an apply restores the minimum from config once the YAML
  acknowledges the incident.

Every breaker write is an emergency change, and the breaker never waits: not for the apply
lock, which it does not take, nor for an unfinished apply run. Each write is an `emergency`
run of the journal (engine.state.journal; its plan digest names the incident), journaled
`pending` when it is claimed, `sent` before it goes out and `accepted` / `failed` after the
answer, then finished. Two watch processes never write the same listing at once: claims are
made in one transaction serialised per account (engine.state.lock.serialise_emergency_claims),
and a listing another process claimed less than EMERGENCY_LEASE ago is left to it
(`in_progress`). An older claim was left by a process that died: the pass closes its run
(the entry `verified` when live shows the listing held, `unknown` when it was sent and live
does not, not sent when it never was) and writes the listing itself.

An apply running alongside reads the tripped breakers again before each write and does not
send a change that would put a held listing back on sale (`restores_sale`, used by
engine.apply.executor). The tripped breaker is recorded in the state store, where
`hold_tripped` finds it for the plan.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from engine.config.model import Incident
from engine.core.changes import FieldChange, ResourceChange
from engine.core.fields import MANAGED_FIELDS
from engine.core.money import currency
from engine.core.orders import iso
from engine.core.resource import Resource, address
from engine.live.backend import Backend
from engine.state import breakers as breaker_store
from engine.state import journal, lock
from engine.state.breakers import Breaker
from engine.state.db import StateDB
from engine.state.journal import NOT_SENT, Entry
from engine.watch.detect import Detection

EMERGENCY_DIGEST_PREFIX = "breaker:"
# How long a breaker write another watch process claimed is left to it. One write takes
# seconds, even throttled and retried; a claim older than this belongs to a process that died.
EMERGENCY_LEASE = timedelta(minutes=2)
Outcome = Literal["written", "in_place", "failed", "in_progress", "missing"]
DIED_BEFORE_SENDING = (
    NOT_SENT + "the watch process that claimed this breaker write stopped before sending it"
)
DIED_AFTER_SENDING = (
    "outcome unknown: the watch process that sent this breaker write stopped before "
    "journaling Amazon's answer, and live does not show the listing held"
)


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
    Listings already held cost one read. Nothing here waits for an apply (see the module
    docstring); a listing another watch process is writing right now is left to it."""
    found = []
    for breaker in tripped:
        live = backend.read_listing(breaker.marketplace, breaker.sku)
        found.append((breaker, None if live is None else live.resource))
    return [
        decided if isinstance(decided, Enforcement) else _write(backend, db, decided, now)
        for decided in _claim(db, seller_id, found, now)
    ]


@dataclass(frozen=True, slots=True)
class _Claim:
    """A breaker write this process claimed: its emergency run, journaled `pending`."""

    breaker: Breaker
    change: ResourceChange
    run_id: str
    note: str  # what became of a dead process's claim on the listing ("" when none)


def _claim(
    db: StateDB,
    seller_id: str,
    found: Sequence[tuple[Breaker, Resource | None]],
    now: datetime,
) -> list[Enforcement | _Claim]:
    """What to do about each breaker, given its listing as live shows it, decided in one
    write transaction serialised with every other claim of the account, with a pending
    emergency run journaled for each write this process is to make."""
    decided: list[Enforcement | _Claim] = []
    with db.write() as conn:
        lock.serialise_emergency_claims(conn, seller_id)
        claimed: dict[str, dict[str, list[Entry]]] = {}  # address -> run id -> entries
        for entry in journal.open_emergency_entries(conn, seller_id):
            claimed.setdefault(entry.address, {}).setdefault(entry.run_id, []).append(entry)
        for breaker, live in found:
            runs = claimed.get(address(breaker.marketplace, breaker.sku), {})
            working = {
                run_id: entries
                for run_id, entries in runs.items()
                if now - entries[0].created_at < EMERGENCY_LEASE
            }
            held = live is not None and is_held(live)
            note = "".join(
                _close_dead_run(conn, entries, held, now)
                for run_id, entries in runs.items()
                if run_id not in working
            )
            change = None if live is None else breaker_change(live)
            if live is None:
                decided.append(
                    Enforcement(breaker, "missing", "no such live listing: nothing sells" + note)
                )
            elif change is None:
                decided.append(Enforcement(breaker, "in_place", "already unbuyable" + note))
            elif working:
                run_id, entries = next(iter(working.items()))
                decided.append(
                    Enforcement(
                        breaker,
                        "in_progress",
                        f"another watch process is writing it (run {run_id}, claimed "
                        f"{iso(entries[0].created_at)})" + note,
                        run_id,
                    )
                )
            else:
                payload = {
                    "emergency": True,
                    "incident": breaker.incident_id,
                    "reason": breaker.reason,
                    "fields": {
                        f.field: {"before": f.before, "after": f.after} for f in change.fields
                    },
                }
                run = journal.start_run(
                    conn,
                    seller_id,
                    EMERGENCY_DIGEST_PREFIX + breaker.incident_id,
                    [journal.Change(change.address, "update", payload)],
                    now,
                    kind="emergency",
                )
                decided.append(_Claim(breaker, change, run.id, note))
    return decided


def _close_dead_run(
    conn: sa.Connection, entries: Sequence[Entry], live_held: bool, now: datetime
) -> str:
    """Close the emergency run a dead watch process left (see the module docstring) and
    say so, for the detail of this pass's enforcement of the same listing."""
    run_id = entries[0].run_id
    ended = []
    for entry in entries:
        if entry.state == "pending":
            to, error = "failed", DIED_BEFORE_SENDING
        elif entry.state == "sent":
            to, error = ("verified", None) if live_held else ("unknown", DIED_AFTER_SENDING)
        else:
            continue
        journal.transition(conn, run_id, entry.seq, to, now, error=error)
        ended.append(to)
    if "unknown" in ended:
        journal.abandon_run(conn, run_id, now)
    else:
        journal.finish_run(conn, run_id, now)
    what = {"failed": "never sent", "verified": "live shows it", "unknown": "outcome unknown"}
    states = ", ".join(what[state] for state in ended) or "nothing was left open"
    return f"; closed run {run_id} that a watch process left unfinished ({states})"


def send_journaled(
    backend: Backend, db: StateDB, run_id: str, change: ResourceChange, now: datetime
) -> str | None:
    """Send the one change of an emergency run journaled `pending` (a breaker write, or a
    watch pass's exposure refill): `sent` before it goes out, `accepted` or `failed` with
    Amazon's answer, then the run finished. Returns None when Amazon accepted it, else why
    not."""
    with db.write() as conn:
        journal.transition(conn, run_id, 0, "sent", now)
    result = backend.write(change)
    ok = result.status == "ACCEPTED"
    problem = "; ".join(str(i.get("message", i)) for i in result.issues) or result.status
    with db.write() as conn:
        journal.transition(
            conn,
            run_id,
            0,
            "accepted" if ok else "failed",
            now,
            submission_id=result.submission_id,
            request_id=result.request_id,
            error=None if ok else problem,
        )
        journal.finish_run(conn, run_id, now)
    return None if ok else problem


def changed_fields(change: ResourceChange) -> str:
    """`quantity 5 -> 0`, for reports."""
    return ", ".join(f"{f.field} {_text(f.before)} -> {_text(f.after)}" for f in change.fields)


def _write(backend: Backend, db: StateDB, claim: _Claim, now: datetime) -> Enforcement:
    problem = send_journaled(backend, db, claim.run_id, claim.change, now)
    changed = changed_fields(claim.change)
    if problem is None:
        return Enforcement(claim.breaker, "written", changed + claim.note, claim.run_id)
    return Enforcement(
        claim.breaker, "failed", f"{changed} refused: {problem}{claim.note}", claim.run_id
    )


def unacknowledged(
    breakers: Iterable[Breaker], incidents: Sequence[Incident]
) -> dict[str, Breaker]:
    """The tripped breakers the YAML does not acknowledge yet, by listing address."""
    return {
        address(b.marketplace, b.sku): b for b in breakers if acknowledgement(b, incidents) is None
    }


def restores_sale(change: ResourceChange) -> bool:
    """Whether writing `change` to a listing the breaker holds would put it back on sale:
    its fields laid over the breaker state of the listing it was planned from are no longer
    held (MFN: a quantity above 0; FBA: a minimum seller allowed price back under our price,
    or our price raised to the minimum). A delete never sells anything."""
    if change.after is None:
        return False
    if change.before is None:
        return not is_held(change.after)
    written = replace(breaker_state(change.before), **{f.field: f.after for f in change.fields})
    return not is_held(written)


def held_back(breaker: Breaker) -> str:
    """Why apply did not send a change that would put `breaker`'s listing back on sale."""
    return (
        f"it would put the listing back on sale, and breaker {breaker.incident_id} holds it "
        f"(tripped {iso(breaker.tripped_at)}: {breaker.reason}); acknowledge the incident in "
        "incidents.yaml, then plan again"
    )


def trip(db: StateDB, seller_id: str, breakers: Iterable[Breaker]) -> list[Breaker]:
    """Record breakers; a listing already tripped keeps its first trip and incident."""
    with db.write() as conn:
        return [breaker_store.trip(conn, seller_id, b) for b in breakers]


def release_acknowledged(
    db: StateDB, seller_id: str, incidents: Sequence[Incident]
) -> list[Breaker]:
    """Reset the breakers whose incident the YAML acknowledges; returns them."""
    with db.write() as conn:
        tripped = breaker_store.tripped(conn, seller_id)
        released = [b for b in tripped if acknowledgement(b, incidents) is not None]
        for breaker in released:
            breaker_store.reset(conn, seller_id, breaker.marketplace, breaker.sku)
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
    for key, breaker in unacknowledged(breakers, incidents).items():
        if key not in result:
            continue
        result[key] = breaker_state(result[key])
        held.append(Held(key, breaker))
    return result, tuple(held)


def _text(value: object) -> str:
    return "none" if value is None else str(value)
