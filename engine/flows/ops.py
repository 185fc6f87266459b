"""`sync orders pull | list | route`, `sync health`, `sync inventory replenish | deviation`
and `sync status`: open the config, its state store and (where the command reads Amazon) the
backend, then call engine.ops. A backend call that fails for good ends the command as one
line naming it (engine.flows.session.BackendFailed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.config.model import Config
from engine.core.errors import UserError
from engine.core.progress import NO_PROGRESS, Progress
from engine.desired.stock import Replenishment
from engine.flows.session import Session, backend_session, open_session
from engine.live.spapi import SpApiBackend
from engine.ops.account_health import HealthResult, account_health
from engine.ops.inventory import Deviation, cached_deviation, fba_replenishment, live_deviation
from engine.ops.kpi import StatusFigures, gather
from engine.ops.pull import PullResult, pull_orders
from engine.ops.routing import RouteLine, route
from engine.ops.unshipped import stored_reservation
from engine.state import journal, lock
from engine.state import orders as order_store
from engine.state.journal import ResumePoint
from engine.state.lock import LockInfo
from engine.state.orders import OrderFilter, StoredOrder


@contextmanager
def _with_backend(
    config_dir: Path, activity: str, progress: Progress = NO_PROGRESS
) -> Iterator[tuple[Session, SpApiBackend]]:
    """The session and a backend for one run of `activity` (its calls and heartbeat
    recorded; its long reads reported to `progress`)."""
    with (
        open_session(config_dir) as session,
        backend_session(
            session.config, session.db, activity, failures_as=activity, progress=progress
        ) as backend,
    ):
        yield session, backend


def pull(config_dir: Path, progress: Progress = NO_PROGRESS) -> PullResult:
    """Read the orders updated since the last pull into the state store (idempotent),
    reporting the orders of each read (a region's marketplaces) to `progress`."""
    with _with_backend(config_dir, "pull", progress) as (session, live):
        return pull_orders(live, session.db, session.seller_id, session.config.project.marketplaces)


def find_orders(config_dir: Path, where: OrderFilter) -> list[StoredOrder]:
    """The stored orders `where` selects, oldest first."""
    with open_session(config_dir) as session, session.db.read() as conn:
        return order_store.find(conn, session.seller_id, where)


def route_orders(config_dir: Path) -> list[RouteLine]:
    """Every open merchant-fulfilled order in the store, routed to the warehouses of
    warehouses.yaml."""
    with open_session(config_dir) as session:
        warehouses = session.config.warehouses
        if warehouses is None:
            raise UserError(
                f"no warehouses.yaml in {session.config.root}; describe your warehouses there "
                "(see docs/config.md) to route orders"
            )
        with session.db.read() as conn:
            found = order_store.find(conn, session.seller_id, OrderFilter(channel="MFN"))
    return route([s.order for s in found], warehouses)


def health(config_dir: Path, *, read_report: bool) -> HealthResult:
    """Account health per marketplace: Amazon's report (unless not `read_report`) beside a
    projection from the pulled orders."""
    with _with_backend(config_dir, "health") as (session, live):
        return account_health(
            live, session.db, session.seller_id, session.config, read_report=read_report
        )


def replenish(config_dir: Path) -> list[Replenishment]:
    """FBA replenishment recommendations from live fulfillable units."""
    with _with_backend(config_dir, "replenish") as (session, live):
        return fba_replenishment(session.config, live, live.now())


def deviation(config_dir: Path, *, refresh: bool) -> Deviation:
    """Desired against live merchant-fulfilled quantities."""
    with _with_backend(config_dir, "deviation") as (session, live):
        reservation = stored_reservation(session.db, session.config)
        return live_deviation(
            session.config, live, live.now(), refresh=refresh, reservation=reservation
        )


@dataclass(frozen=True, slots=True)
class Status:
    """The KPIs, and what stands in the way of the next apply: the account's apply lock
    when someone holds it, the unfinished run a re-run of its plan resumes. `sandbox_clock`:
    the times the store records (runs, locks, last successes) are the sandbox's virtual
    clock, not wall-clock time (they are taken from the backend's clock)."""

    seller_id: str
    figures: StatusFigures
    lock: LockInfo | None = None
    unfinished: ResumePoint | None = None
    sandbox_clock: bool = False


def status(config_dir: Path, now: datetime | None = None) -> Status:
    """The KPIs as of `now`, the lock and any unfinished run, from the state store and the
    snapshot cache only. Without `now`, the backend's clock: the embedded sandbox's virtual
    time (it stamped the records the KPI window counts), else the current UTC time."""
    with open_session(config_dir) as session:
        if now is None:
            now = _backend_now(session.config)
        found = cached_deviation(
            session.config, now, stored_reservation(session.db, session.config)
        )
        figures = gather(
            session.db, session.seller_id, now, None if found is None else found.percent
        )
        with session.db.read() as conn:
            held = lock.held_by(conn, session.seller_id)
            unfinished = journal.resume_point(conn, session.seller_id)
        sandbox = session.config.project.backend.kind == "sandbox"
        return Status(session.seller_id, figures, held, unfinished, sandbox)


def _backend_now(config: Config) -> datetime:
    """The time on the backend's clock, without starting the backend."""
    if config.project.backend.kind == "sandbox":
        from engine.sandbox.runtime import saved_now  # the sandbox only when it is the backend

        found = saved_now(config.state_dir)
        if found is not None:
            return found
    return datetime.now(UTC)
