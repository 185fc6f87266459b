"""Index of cached live-state snapshots: which file holds each marketplace's last bulk read.

`sync plan --no-refresh` plans from the cached snapshot instead of asking Amazon again; the
snapshot itself is a file (it can be large), and this index says where it is, when it was
fetched and its digest, so a plan can name exactly the live state it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.state.tables import snapshots, upsert


@dataclass(frozen=True, slots=True)
class Snapshot:
    marketplace: str
    fetched_at: datetime
    path: str
    digest: str


def record(conn: sa.Connection, seller_id: str, snapshot: Snapshot) -> None:
    """Make `snapshot` the marketplace's current one (the previous entry is replaced)."""
    upsert(
        conn,
        snapshots,
        {"seller_id": seller_id, "marketplace": snapshot.marketplace},
        fetched_at=snapshot.fetched_at,
        path=snapshot.path,
        digest=snapshot.digest,
    )


def latest(conn: sa.Connection, seller_id: str, marketplace: str) -> Snapshot | None:
    row = conn.execute(
        sa.select(snapshots.c.fetched_at, snapshots.c.path, snapshots.c.digest).where(
            snapshots.c.seller_id == seller_id, snapshots.c.marketplace == marketplace
        )
    ).one_or_none()
    return None if row is None else Snapshot(marketplace, *row)
