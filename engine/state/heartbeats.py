"""When each scheduled activity (plan, apply, watch, pull, ...) last ran and last succeeded,
so `sync status` can say how stale each one is without reading CI logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.state.tables import heartbeats, upsert


@dataclass(frozen=True, slots=True)
class Heartbeat:
    activity: str
    last_run_at: datetime
    last_ok: bool
    last_success_at: datetime | None


def beat(conn: sa.Connection, seller_id: str, activity: str, at: datetime, ok: bool) -> None:
    """Record a run of `activity` that ended at `at`; a failure keeps the last success."""
    values: dict[str, object] = {"last_run_at": at, "last_ok": ok}
    if ok:
        values["last_success_at"] = at  # left out otherwise: the upsert keeps the old one
    upsert(conn, heartbeats, {"seller_id": seller_id, "activity": activity}, **values)


def all_beats(conn: sa.Connection, seller_id: str) -> dict[str, Heartbeat]:
    rows = conn.execute(
        sa.select(
            heartbeats.c.activity,
            heartbeats.c.last_run_at,
            heartbeats.c.last_ok,
            heartbeats.c.last_success_at,
        ).where(heartbeats.c.seller_id == seller_id)
    )
    return {row.activity: Heartbeat(*row) for row in rows}
