"""Verification: has a written change become visible live?

Amazon answers a listing write with ACCEPTED and processes it later (minutes, sometimes
more); the sandbox does the same on its virtual clock. So apply polls, backing off, until
live shows every field the change set, and reports what is still not visible after a
bounded wait rather than waiting forever. The same check decides, when a killed apply
resumes, whether a change whose answer was lost had already gone through.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from engine.core.changes import ResourceChange
from engine.core.resource import Resource
from engine.live.backend import Backend
from engine.live.documents import Polling
from engine.live.throttle import Timer

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
        shown = visible_now(backend, changes, waiting)
        visible |= shown
        waiting = [a for a in waiting if a not in shown]
    return Visibility(frozenset(visible), frozenset(waiting))


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A listing live holds but cannot be read as one (its offer taken down in Seller
    Central, say): neither absent nor present as a Resource."""

    why: str


def read_current(
    backend: Backend, changes: Mapping[str, ResourceChange], addresses: Iterable[str]
) -> dict[str, Resource | Unreadable | None]:
    """What live holds now at each of `addresses` (keys of `changes`): the listing, None
    when there is none, or Unreadable. Listings are read 20 a call, per marketplace: a bulk
    apply reads thousands, and one getListingsItem per listing at 5 a second made a round of
    10,000 take over half an hour."""
    by_marketplace: dict[str, list[str]] = defaultdict(list)
    for address in addresses:
        by_marketplace[changes[address].marketplace].append(address)
    current: dict[str, Resource | Unreadable | None] = {}
    for marketplace, group in by_marketplace.items():
        found, unreadable = backend.read_details(marketplace, [changes[a].sku for a in group])
        for address in group:
            if address in unreadable:
                current[address] = Unreadable(unreadable[address])
                continue
            listing = found.get(changes[address].sku)
            current[address] = None if listing is None else listing.resource
    return current


def visible_now(
    backend: Backend, changes: Mapping[str, ResourceChange], addresses: Iterable[str]
) -> set[str]:
    """The `addresses` whose change shows live now. A listing live cannot read as one shows
    nothing: not even a delete."""
    return {
        address
        for address, live in read_current(backend, changes, addresses).items()
        if not isinstance(live, Unreadable) and reflects(changes[address], live)
    }
