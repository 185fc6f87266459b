"""Verification: has a written change become visible live?

Amazon answers a listing write with ACCEPTED and processes it later (minutes, sometimes
more); the sandbox does the same on its virtual clock. So apply polls, backing off, until
live shows every field the change set, and reports what is still not visible after a
bounded wait rather than waiting forever. The same check decides, when a killed apply
resumes, whether a change whose answer was lost had already gone through.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from engine.desired.resource import Resource
from engine.live.attributes import ListingShapeError
from engine.live.backend import Backend
from engine.live.documents import Polling
from engine.live.throttle import Timer
from engine.plan.diff import ResourceChange

# First look at once, then back off: 2, 4, 8, ... up to 30 s between looks, 5 minutes in all.
VERIFY_POLLING = Polling(first=2.0, factor=2.0, longest=30.0, give_up=300.0)


def reflects(change: ResourceChange, live: Resource | None) -> bool:
    """Whether `live` shows the change: gone for a delete, else every changed field at its
    planned value. Fields the change does not touch are not compared: live may differ there
    (Amazon owns FBA quantity, for one)."""
    if change.action == "delete":
        return live is None
    if live is None:
        return False
    return all(getattr(live, f.field) == f.after for f in change.fields)


def shows_live(backend: Backend, change: ResourceChange) -> bool:
    """Whether live reflects `change` now. A listing live cannot be read as one (its offer
    taken down in Seller Central, say) shows nothing: not even a delete."""
    try:
        listing = backend.read_listing(change.marketplace, change.sku)
    except ListingShapeError:
        return False
    return reflects(change, listing.resource if listing is not None else None)


@dataclass(frozen=True, slots=True)
class Visibility:
    visible: frozenset[str]  # addresses whose change shows live
    not_visible: frozenset[str]  # still not visible when the wait ran out


def wait_until_visible(
    backend: Backend,
    changes: Mapping[str, ResourceChange],
    addresses: Collection[str],
    timer: Timer,
    polling: Polling = VERIFY_POLLING,
) -> Visibility:
    """Poll live for `addresses` (keys of `changes`) until each reflects its change or
    `polling` gives up. Only what is still missing is read again."""
    waiting = list(addresses)
    visible: set[str] = set()
    for wait in [0.0, *polling.waits()]:
        if not waiting:
            break
        if wait:
            timer.sleep(wait)
        still = []
        for address in waiting:
            if shows_live(backend, changes[address]):
                visible.add(address)
            else:
                still.append(address)
        waiting = still
    return Visibility(frozenset(visible), frozenset(waiting))
