"""The snapshot cache index: the current snapshot file per account and marketplace."""

from __future__ import annotations

from datetime import timedelta

from engine.state import snapshot_index
from engine.state.snapshot_index import Snapshot
from tests.state.conftest import NOW, OTHER_SELLER, SELLER


def test_latest_snapshot_replaces_the_previous_one_per_marketplace(db):
    older = Snapshot("DE", NOW, "snapshots/DE-1.json", "sha256:aaa")
    newer = Snapshot("DE", NOW + timedelta(hours=1), "snapshots/DE-2.json", "sha256:bbb")
    french = Snapshot("FR", NOW, "snapshots/FR-1.json", "sha256:ccc")
    with db.write() as conn:
        for snapshot in (older, newer, french):
            snapshot_index.record(conn, SELLER, snapshot)
    with db.read() as conn:
        assert snapshot_index.latest(conn, SELLER, "DE") == newer
        assert snapshot_index.latest(conn, SELLER, "FR") == french
        assert snapshot_index.latest(conn, SELLER, "JP") is None
        assert snapshot_index.latest(conn, OTHER_SELLER, "DE") is None
