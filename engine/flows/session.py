"""The one way a command opens what it works on: the config's state store and, for commands
that talk to the live side, a backend whose every API call is recorded in that store as it
happens (the call log feeds `sync status` and the health reports; a command that dies half-way
still leaves the calls it made on record), with a heartbeat for the run.

Every command that reaches the backend opens it here, `sync incident` too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.config import Config, load_config
from engine.core.errors import UserError
from engine.core.progress import NO_PROGRESS, Progress
from engine.core.resource import Resource
from engine.flows.connect import open_backend
from engine.live.bulk_read import Snapshot
from engine.live.clients import SpApiError
from engine.live.documents import DocumentError
from engine.live.spapi import SpApiBackend
from engine.state import app_quota, heartbeats, snapshot_index
from engine.state.api_calls import StoreRecorder
from engine.state.app_quota import SharedBuckets
from engine.state.db import StateDB, open_state


class BackendFailed(UserError):
    """An SP-API call that failed for good (after retries), or a report that never came."""


@dataclass(frozen=True, slots=True)
class Session:
    """A loaded config and its open state store."""

    config: Config
    db: StateDB

    @property
    def seller_id(self) -> str:
        return self.config.project.seller_id


@contextmanager
def open_store(config: Config) -> Iterator[StateDB]:
    """The config's state store, closed on exit."""
    db = open_state(config.project.state, config.state_dir)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def open_session(config_dir: Path) -> Iterator[Session]:
    """The config and its state store (no backend: for commands that read only the store)."""
    config = load_config(config_dir)
    with open_store(config) as db:
        yield Session(config, db)


@contextmanager
def backend_session(
    config: Config,
    db: StateDB,
    activity: str | None = None,
    *,
    full_refresh: bool = False,
    preloaded: dict[str, Snapshot] | None = None,
    succeeded: Callable[[], bool] | None = None,
    seed: Callable[[], Iterable[Resource]] | None = None,
    failures_as: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> Iterator[SpApiBackend]:
    """The backend (the embedded sandbox starts in-process), closed on exit, recording its
    calls in `db`. `full_refresh` makes a refresh fetch every listing's detail.
    With `activity`, the run is recorded in the heartbeats (`sync status` shows the last run
    and last success): a success when the block ends without an exception, at the backend's
    time (the sandbox's virtual clock when serving it). A block that ends normally is a
    success unless `succeeded` says otherwise (an apply whose writes failed returns exit 1
    without raising). `preloaded`: cached snapshots already read
    (engine.flows.plan.load_for_plan). `seed`: the listings an unseeded sandbox starts with
    (engine.flows.connect.open_backend). With `failures_as`, an SP-API call or report that
    failed for good ends the command as one BackendFailed line naming it. `progress`: where
    the backend's long reads report how far they are (engine.core.progress). The backend
    shares the application-wide SP-API quota through `db` when `state.app_quota` wants it
    (engine.state.app_quota)."""
    seller_id = config.project.seller_id
    project = config.project

    def app_limiter(client_id: str) -> SharedBuckets | None:
        if not app_quota.wanted(project.state, project.backend.kind, db).on:
            return None
        return SharedBuckets(db, app_quota.application_key(client_id))

    def index_snapshot(marketplace: str, taken_at: datetime, path: Path, digest: str) -> None:
        with db.write() as conn:
            snapshot_index.record(
                conn, seller_id, snapshot_index.Snapshot(marketplace, taken_at, str(path), digest)
            )

    with open_backend(
        config,
        recorder=StoreRecorder(db, seller_id),
        full_refresh=full_refresh,
        on_snapshot=index_snapshot,
        preloaded=preloaded,
        seed=seed,
        progress=progress,
        app_quota=app_limiter,
    ) as backend:
        ok = False
        try:
            yield backend
            ok = succeeded() if succeeded is not None else True
        except (SpApiError, DocumentError) as err:
            if failures_as is None:
                raise
            raise BackendFailed(f"{failures_as}: the SP-API backend failed: {err}") from None
        finally:
            if activity is not None:
                with db.write() as conn:
                    heartbeats.beat(conn, seller_id, activity, backend.now(), ok)


@contextmanager
def live_session(
    config: Config,
    activity: str | None = None,
    *,
    full_refresh: bool = False,
    preloaded: dict[str, Snapshot] | None = None,
    succeeded: Callable[[], bool] | None = None,
    seed: Callable[[], Iterable[Resource]] | None = None,
    progress: Progress = NO_PROGRESS,
) -> Iterator[tuple[SpApiBackend, StateDB]]:
    """The backend and the open state store (see `backend_session`); both closed on exit."""
    with (
        open_store(config) as db,
        backend_session(
            config,
            db,
            activity,
            full_refresh=full_refresh,
            preloaded=preloaded,
            succeeded=succeeded,
            seed=seed,
            progress=progress,
        ) as backend,
    ):
        yield backend, db
