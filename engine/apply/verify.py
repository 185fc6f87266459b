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

from engine.desired.resource import Resource
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


def visible_now(
    backend: Backend, changes: Mapping[str, ResourceChange], addresses: Iterable[str]
) -> set[str]:
    """The `addresses` whose change shows live now. Listings are read 20 a call, per
    marketplace: a bulk apply verifies thousands, and one call per listing at
    getListingsItem's 5 a second made a round of 10,000 take over half an hour. A listing
    live cannot read as one (its offer taken down in Seller Central, say) shows nothing:
    not even a delete."""
    by_marketplace: dict[str, list[str]] = defaultdict(list)
    for address in addresses:
        by_marketplace[changes[address].marketplace].append(address)
    shown: set[str] = set()
    for marketplace, group in by_marketplace.items():
        found, unreadable = backend.read_details(marketplace, [changes[a].sku for a in group])
        for address in group:
            if address in unreadable:
                continue
            change = changes[address]
            listing = found.get(change.sku)
            if reflects(change, listing.resource if listing is not None else None):
                shown.add(address)
    return shown
