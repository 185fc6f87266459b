"""What commands that talk to the live side open: the state store and a backend whose every
API call is recorded in it (the call log feeds rate and health reports)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from engine.config.model import Config
from engine.live.connect import open_backend
from engine.live.snapshot import Snapshot
from engine.live.spapi import SpApiBackend
from engine.state import heartbeats, snapshots
from engine.state.api_calls import StoreRecorder
from engine.state.db import StateDB, open_state


@contextmanager
def live_session(
    config: Config,
    activity: str | None = None,
    *,
    full_refresh: bool = False,
    preloaded: dict[str, Snapshot] | None = None,
    succeeded: Callable[[], bool] | None = None,
) -> Iterator[tuple[SpApiBackend, StateDB]]:
    """The backend (the embedded sandbox starts in-process) and the open state store;
    both are closed on exit. `full_refresh` makes a refresh fetch every listing's detail.
    With `activity`, the run is recorded in the heartbeats (`sync status` shows the last run
    and last success): a success when the block ends without an exception, at the backend's
    time (the sandbox's virtual clock when serving it). A block that ends normally is a
    success unless `succeeded` says otherwise (an apply whose writes failed returns exit 1
    without raising). `preloaded`: cached snapshots already read
    (engine.plan.build.load_for_plan)."""
    db = open_state(config.project.state, config.state_dir)
    try:
        seller_id = config.project.seller_id
        recorder = StoreRecorder(db, seller_id)

        def index_snapshot(marketplace: str, taken_at: datetime, path: Path, digest: str) -> None:
            with db.write() as conn:
                snapshots.record(
                    conn, seller_id, snapshots.Snapshot(marketplace, taken_at, str(path), digest)
                )

        with open_backend(
            config,
            recorder=recorder,
            full_refresh=full_refresh,
            on_snapshot=index_snapshot,
            preloaded=preloaded,
        ) as backend:
            ok = False
            try:
                yield backend, db
                ok = succeeded() if succeeded is not None else True
            finally:
                if activity is not None:
                    with db.write() as conn:
                        heartbeats.beat(conn, config.project.seller_id, activity, backend.now(), ok)
    finally:
        db.close()
