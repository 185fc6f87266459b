"""What every ops command opens and closes: config, state store, backend, and the record.

The backend's calls are kept in memory while the command runs and written to the state
store's call log at the end in one transaction (per-call writes would contend with apply on
SQLite); the command's heartbeat is written with them, as a success or a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.config import Config, load_config
from engine.core.errors import UserError
from engine.live.backend import Backend
from engine.live.clients import SpApiError
from engine.live.documents import DocumentError
from engine.live.recording import MemoryRecorder
from engine.state import api_calls, heartbeats
from engine.state.db import StateDB, open_state

NO_RESPONSE = 0  # the call log's status for an attempt that got no HTTP response


class BackendFailed(UserError):
    """An SP-API call that failed for good (after retries), or a report that never came."""


@dataclass(frozen=True, slots=True)
class Session:
    config: Config
    db: StateDB

    @property
    def seller_id(self) -> str:
        return self.config.project.seller_id


@contextmanager
def open_session(config_dir: Path) -> Iterator[Session]:
    """The config and its state store (no backend: for commands that read only the store)."""
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    try:
        yield Session(config, db)
    finally:
        db.close()


@contextmanager
def backend_run(session: Session, activity: str) -> Iterator[Backend]:
    """A connected backend for one run of `activity`; logs its calls and heartbeat."""
    from engine.live.connect import open_backend

    recorder = MemoryRecorder()
    with open_backend(session.config, recorder=recorder) as backend:
        ok = False
        try:
            yield backend
            ok = True
        except (SpApiError, DocumentError) as err:
            raise BackendFailed(f"{activity}: the SP-API backend failed: {err}") from None
        finally:
            with session.db.write() as conn:
                for call in recorder.calls:
                    api_calls.record(
                        conn,
                        api_calls.ApiCall(
                            session.seller_id,
                            call.operation,
                            call.marketplace,
                            NO_RESPONSE if call.status is None else call.status,
                            round(call.latency_ms),
                            call.request_id,
                            call.retries,
                            call.at,
                        ),
                    )
                heartbeats.beat(conn, session.seller_id, activity, backend.now(), ok)
