"""The one backend protocol: what the planner, apply, the watchdog and ops ask of the live side.

There is one implementation, `engine.live.spapi.SpApiBackend`, serving Amazon and the sandbox
alike (the sandbox is just another endpoint, DESIGN.md decision 7). These types are what it
returns: listings as the same Resource the desired state renders, plus what only live has
(status, issues, ASIN); write outcomes; and a record of every API call for KPIs and the journal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from engine.core.changes import ResourceChange
from engine.core.errors import UserError
from engine.core.identity import BackendIdentity
from engine.core.orders import Order
from engine.core.resource import Resource
from engine.live.definitions import CachedDefinition

WriteStatus = Literal["ACCEPTED", "INVALID", "FAILED", "UNKNOWN"]


class SnapshotMissing(UserError):
    """`read_listings(refresh=False)` with no cached snapshot for a marketplace."""


@dataclass(frozen=True, slots=True)
class LiveListing:
    """A listing as live: the Resource it expresses, Amazon's status (BUYABLE, DISCOVERABLE),
    its issues (a suppressed offer shows up here) and its ASIN."""

    resource: Resource
    status: tuple[str, ...] = ()
    issues: tuple[Mapping[str, Any], ...] = ()
    asin: str | None = None

    @property
    def address(self) -> str:
        return self.resource.address

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource.to_dict(),
            "status": list(self.status),
            "issues": [dict(i) for i in self.issues],
            "asin": self.asin,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveListing:
        return cls(
            Resource.from_dict(dict(data["resource"])),
            tuple(data.get("status", ())),
            tuple(data.get("issues", ())),
            data.get("asin"),
        )


@dataclass(frozen=True, slots=True)
class LiveState:
    """Every listing read, by address; when the read finished; and, per marketplace, when
    its snapshot was taken (older than fetched_at when it came from the local cache)."""

    listings: Mapping[str, LiveListing]
    fetched_at: datetime
    snapshots: Mapping[str, datetime]
    unreadable: Mapping[str, str] = field(default_factory=dict)  # address -> why
    notes: tuple[str, ...] = ()  # what the reader wants the user to know (e.g. read as empty)

    def resources(self) -> dict[str, Resource]:
        """What diff takes as `live`."""
        return {address: listing.resource for address, listing in self.listings.items()}


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one write. ACCEPTED means Amazon queued it (processing is asynchronous:
    later issues show up on the listing); INVALID means it was refused with `issues`; FAILED
    means it was not made (nothing reached Amazon, or Amazon refused it before doing anything;
    the error is the one issue), so it may be sent again; UNKNOWN means it went out and its
    answer was lost (a 5xx, a timeout, a dropped connection, a feed whose report could not be
    had): it may have been applied, so only live can say whether to send it again."""

    address: str
    status: WriteStatus
    submission_id: str | None = None
    issues: tuple[Mapping[str, Any], ...] = ()
    request_id: str | None = None


def issues_text(issues: Iterable[Mapping[str, Any]]) -> str:
    """Amazon's issues as one line, `CODE: message; CODE: message` (empty when none)."""
    return "; ".join(
        f"{issue.get('code', '?')}: {issue.get('message', '')}".strip() for issue in issues
    )


class Backend(Protocol):
    """Reads and writes live listings; reads orders, FBA inventory and account health."""

    identity: BackendIdentity
    bulk_threshold: int  # write_bulk sends a feed from this many changes on, else per item

    def read_listings(
        self,
        marketplaces: Sequence[str],
        *,
        refresh: bool,
        wanted: Mapping[str, Resource] | None = None,
        applied: Mapping[str, Mapping[str, Any]] | None = None,
        recent: Collection[str] = (),
    ) -> LiveState:
        """All listings of the marketplaces. `refresh=False` reads only the local snapshot
        cache; `wanted` (the desired state) names listings whose detail must be current;
        `applied` (the values last applied, by address) stands in for the detail of listings
        whose report row agrees with it; `recent` (addresses sellersync wrote within
        bulk_read.REPORT_LAG) are read in detail, a report possibly predating those writes."""
        ...

    def read_listing(self, marketplace: str, sku: str) -> LiveListing | None: ...

    def read_details(
        self, marketplace: str, skus: Sequence[str]
    ) -> tuple[dict[str, LiveListing], dict[str, str]]:
        """Listings by SKU (a SKU that is not live is left out) and, by address, why a
        listing could not be read as one; many SKUs a call."""
        ...

    def write(self, change: ResourceChange) -> WriteResult: ...

    def product_type_definition(self, marketplace: str, product_type: str) -> CachedDefinition:
        """The product type's LISTING schema in the marketplace (engine.live.definitions:
        cached in the state folder, fetched when missing or stale)."""
        ...

    def write_bulk(self, changes: Sequence[ResourceChange]) -> list[WriteResult]: ...

    def now(self) -> datetime:
        """The backend's current time: Amazon's is the real one, the sandbox's is virtual."""
        ...

    def read_orders(
        self,
        marketplace: str,
        *,
        updated_after: datetime,
        updated_before: datetime | None = None,
        with_items: bool = True,
    ) -> list[Order]:
        """Orders last updated in the window, with their items unless `with_items` is False."""
        ...

    def read_order(self, marketplace: str, amazon_order_id: str) -> Order:
        """One order with its items (for a price that a notification does not carry)."""
        ...

    def read_orders_of(
        self,
        marketplaces: Sequence[str],
        *,
        updated_after: datetime,
        updated_before: datetime | None = None,
        with_items: bool = True,
    ) -> list[Order]:
        """read_orders for up to 50 marketplaces of one region in one searchOrders listing."""
        ...

    def read_fba_inventory(self, marketplace: str) -> dict[str, int]: ...

    def read_account_health(self, marketplace: str) -> dict[str, Any]: ...
