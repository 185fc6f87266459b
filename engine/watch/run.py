"""One pass of the order watchdog: read, remember, detect, trip, enforce, move on.

For every enabled marketplace the pass reads the orders last updated between its checkpoint
(less `watch.overlap_minutes`, so an order Amazon reports late is still seen) and now (less
the two minutes Amazon requires LastUpdatedBefore to lag), adds their lines to the sales
history, and takes the velocity window and baseline from that history. Marketplaces are read
one searchOrders listing (Orders 2026-01-01, items inline) per region
(engine.live.orders.order_groups), from the earliest start among them: the demo seller's
nine marketplaces cost three calls a pass, not nine, which at searchOrders' 0.0056 calls/s
(burst 20) is what lets passes run minutes apart. Pending orders carry no
price, so only velocity sees them: their units count toward it (a runaway's first orders
are mostly Pending), and the floor and promotion rules judge them at the first read that
finds them priced (Amazon updates LastUpdateDate when payment clears, so the next pass
reads them again). Detections over all
of it trip breakers; every tripped breaker is then enforced (see engine.watch.breaker), and
each marketplace read without error has its checkpoint moved to the end of its window.
A marketplace that could not be read (its group's call failed) keeps its checkpoint: the next
pass reads it again.

Acknowledged incidents (config/incidents.yaml) release their breakers first, so a pass never
re-enforces a breaker the YAML has already let go.

Listings with an exposure cap come last (engine.watch.refill): the pass records what holds
their refills (its detections, and orders it could not judge yet because they are not
priced), then tops up those that sold, where nothing holds them, to what stock allocation
gives them, never above their cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from engine.config.model import Config
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.orders import Order, iso
from engine.core.resource import Resource
from engine.live.backend import Backend
from engine.live.clients import SpApiError
from engine.live.orders import order_groups
from engine.state import breakers as breaker_store
from engine.state import watched_orders
from engine.state.breakers import Breaker
from engine.state.db import StateDB
from engine.state.watched_orders import OrderUnits
from engine.watch.breaker import Enforcement, breakers_for, enforce, release_acknowledged, trip
from engine.watch.detect import CANCELED, Detection, History, detect
from engine.watch.refill import Refill, refill, refill_candidates, update_holds

# Amazon: LastUpdatedBefore must be at least two minutes before the request.
ORDERS_LAG = timedelta(minutes=2)
EXIT_QUIET = ExitCode.OK
EXIT_ERROR = ExitCode.USER_ERROR
EXIT_TRIPPED = ExitCode.CHANGES


@dataclass(frozen=True, slots=True)
class Read:
    """The orders window read for one marketplace, or why it could not be read."""

    marketplace: str
    since: datetime
    until: datetime
    orders: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "marketplace": self.marketplace,
            "since": iso(self.since),
            "until": iso(self.until),
            "orders": self.orders,
            "error": self.error,
        }


@dataclass(slots=True)
class WatchReport:
    """Everything one pass saw and did; the JSON, Markdown and webhook summaries show it."""

    seller_id: str
    at: datetime
    reads: list[Read] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    tripped: list[Breaker] = field(default_factory=list)  # newly, in this pass
    enforcement: list[Enforcement] = field(default_factory=list)
    released: list[Breaker] = field(default_factory=list)
    refills: list[Refill] = field(default_factory=list)  # capped listings below allocation
    notify_error: str | None = None

    @property
    def errors(self) -> list[str]:
        found = [f"{r.marketplace}: {r.error}" for r in self.reads if r.error]
        found += [
            f"{e.breaker.marketplace} {e.breaker.sku}: breaker {e.outcome}: {e.detail}"
            for e in self.enforcement
            if e.outcome == "failed"
        ]
        found += [
            f"{r.address}: refill failed: {r.detail}" for r in self.refills if r.outcome == "failed"
        ]
        if self.notify_error:
            found.append(f"webhook: {self.notify_error}")
        return found

    @property
    def exit_code(self) -> int:
        """2 when this pass tripped a breaker, else 1 when anything failed, else 0."""
        if self.tripped:
            return EXIT_TRIPPED
        return EXIT_ERROR if self.errors else EXIT_QUIET

    def to_dict(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id,
            "at": iso(self.at),
            "status": {EXIT_QUIET: "quiet", EXIT_ERROR: "error", EXIT_TRIPPED: "tripped"}[
                self.exit_code
            ],
            "exit_code": self.exit_code,
            "reads": [r.to_dict() for r in self.reads],
            "detections": [d.to_dict() for d in self.detections],
            "tripped": [b.incident_id for b in self.tripped],
            "breakers": [e.to_dict() for e in self.enforcement],
            "released": [b.incident_id for b in self.released],
            "refills": [r.to_dict() for r in self.refills],
            "errors": self.errors,
        }


def order_units(orders: list[Order]) -> list[OrderUnits]:
    """History lines of orders; a canceled order's lines count zero units."""
    return [
        OrderUnits(
            item.order_item_id,
            order.amazon_order_id,
            order.marketplace,
            item.sku,
            order.purchase_date,
            0 if order.status == CANCELED else item.quantity,
        )
        for order in orders
        for item in order.items
    ]


def watch_once(
    config: Config,
    backend: Backend,
    db: StateDB,
    desired: Mapping[str, Resource],
    now: datetime,
) -> WatchReport:
    """One pass over every enabled marketplace at `now` (the backend's time)."""
    seller = config.project.seller_id
    settings = config.project.watch
    report = WatchReport(seller, now)
    report.released = release_acknowledged(db, seller, config.incidents)
    window_start = now - timedelta(minutes=settings.velocity_window_minutes)
    baseline_start = window_start - timedelta(days=settings.velocity_baseline_days)
    orders: list[Order] = []
    history: dict[str, History] = {}
    for group in order_groups(config.project.marketplaces):
        with db.read() as conn:
            starts = {
                code: watched_orders.checkpoint(conn, seller, code)
                or now - timedelta(hours=settings.first_lookback_hours)
                for code in group
            }
        windows = {
            code: (since, max(now - ORDERS_LAG, since))
            for code, start in starts.items()
            for since in (start - timedelta(minutes=settings.overlap_minutes),)
        }
        since = min(window[0] for window in windows.values())
        until = max(now - ORDERS_LAG, since)
        try:
            found = backend.read_orders_of(group, updated_after=since, updated_before=until)
        except (SpApiError, UserError, httpx.HTTPError) as err:
            why = str(err) or type(err).__name__
            report.reads += [Read(code, *windows[code], error=why) for code in group]
            continue
        for code in group:
            mine = [order for order in found if order.marketplace == code]
            report.reads.append(Read(code, since, until, len(mine)))
        orders += found
        with db.write() as conn:
            watched_orders.record_units(conn, seller, order_units(found))
            for code in group:
                history[code] = History(
                    watched_orders.order_lines(conn, seller, code, window_start, now),
                    watched_orders.units_by_sku(conn, seller, code, baseline_start, window_start),
                )
    report.detections = detect(orders, config, desired, history, now, settings)
    candidates = breakers_for(report.detections, now)
    recorded = trip(db, seller, candidates)
    report.tripped = [b for b, kept in zip(candidates, recorded, strict=True) if b == kept]
    with db.read() as conn:
        tripped = breaker_store.tripped(conn, seller)
    report.enforcement = enforce(backend, db, seller, tripped, now)
    lifted = update_holds(db, config, orders, report.detections, now)
    report.refills = refill(
        config, backend, db, desired, refill_candidates(config, orders, lifted), now
    )
    with db.write() as conn:
        for read in report.reads:
            if read.error is None:
                watched_orders.advance_checkpoint(conn, seller, read.marketplace, read.until)
        watched_orders.forget_units_before(conn, seller, baseline_start)
    return report
