"""Opening the store: files, schema version, config-driven backends, clear errors."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.config.model import StateStore
from engine.state import journal, snapshot_index
from engine.state.db import (
    SQLITE_FILENAME,
    StateStoreError,
    advisory_key,
    open_postgresql,
    open_sqlite,
    open_state,
)
from engine.state.tables import SCHEMA_VERSION, state_meta
from tests.state.conftest import DSN_VARIABLE, NOW, SELLER, open_backend


def _version(db) -> str:
    with db.read() as conn:
        return conn.execute(
            sa.select(state_meta.c.value).where(state_meta.c.key == "schema_version")
        ).scalar_one()


def test_schema_is_created_once_with_a_version_row(db, backend):
    assert _version(db) == SCHEMA_VERSION
    again = open_backend(backend)
    with again.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(state_meta)).scalar() == 1
    again.close()


def test_another_schema_version_is_refused(db, backend):
    with db.write() as conn:
        conn.execute(state_meta.update().values(value="999"))
    try:
        with pytest.raises(StateStoreError, match="schema version 999; this sellersync uses"):
            open_backend(backend)
    finally:
        with db.write() as conn:
            conn.execute(state_meta.update().values(value=SCHEMA_VERSION))


def test_times_come_back_as_the_same_instant_in_utc(db):
    cest = timezone(timedelta(hours=2))
    fetched = NOW.astimezone(cest)
    with db.write() as conn:
        snapshot_index.record(
            conn, SELLER, snapshot_index.Snapshot("DE", fetched, "de.json", "abc")
        )
    with db.read() as conn:
        stored = snapshot_index.latest(conn, SELLER, "DE")
    assert stored is not None
    assert stored.fetched_at == NOW
    assert stored.fetched_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(db):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), db.write() as conn:
        snapshot_index.record(
            conn, SELLER, snapshot_index.Snapshot("DE", NOW.replace(tzinfo=None), "p", "d")
        )


def test_sqlite_lives_in_the_state_dir_in_wal_mode(tmp_path: Path):
    db = open_state(StateStore(), tmp_path / "state")
    assert db.where == str(tmp_path / "state" / SQLITE_FILENAME)
    assert (tmp_path / "state" / SQLITE_FILENAME).is_file()
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    db.close()


def test_sqlite_state_dir_that_cannot_be_created(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateStoreError, match="cannot create the state directory"):
        open_sqlite(blocker / "state")


def test_postgresql_dsn_comes_from_the_named_variable(pg_dsn: str, tmp_path: Path):
    store = StateStore(backend="postgresql", dsn_env="TEAM_STATE_DSN")
    db = open_state(store, tmp_path, environ={"TEAM_STATE_DSN": pg_dsn})
    assert db.is_postgresql
    assert _version(db) == SCHEMA_VERSION
    db.close()
    assert not (tmp_path / SQLITE_FILENAME).exists()


def test_missing_dsn_variable_is_one_clear_line(tmp_path: Path):
    store = StateStore(backend="postgresql", dsn_env="TEAM_STATE_DSN")
    with pytest.raises(StateStoreError) as caught:
        open_state(store, tmp_path, environ={})
    message = str(caught.value)
    assert "TEAM_STATE_DSN" in message and "state.dsn_env" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("host=db password=hunter2", "is not a URL"),
        ("mysql://root:hunter2@127.0.0.1/db", "names a 'mysql' database"),
        ("postgresql://sync:hunter2@127.0.0.1:1/state", "cannot open the PostgreSQL state"),
    ],
)
def test_bad_or_unreachable_dsn_names_the_variable_never_the_password(dsn, expected):
    with pytest.raises(StateStoreError) as caught:
        open_postgresql(dsn, DSN_VARIABLE)
    message = str(caught.value)
    assert expected in message
    assert DSN_VARIABLE in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_a_schema_that_does_not_exist_is_one_clear_line(pg_dsn: str):
    dsn = pg_dsn.split("?")[0] + "?options=-csearch_path%3Dno_such_schema"
    with pytest.raises(StateStoreError) as caught:
        open_postgresql(dsn, DSN_VARIABLE)
    message = str(caught.value)
    assert message.startswith(f"cannot open the PostgreSQL state database in {DSN_VARIABLE} (")
    assert "postgresql://postgres@127.0.0.1:5432/test" in message
    assert "no schema has been selected" in message


def test_advisory_keys_are_stable_and_scoped_by_schema(pg_dsn: str):
    db = open_postgresql(pg_dsn, DSN_VARIABLE)
    with db.read() as conn:
        key = advisory_key(conn, "apply-lock\0" + SELLER)
        assert key == advisory_key(conn, "apply-lock\0" + SELLER)
        assert key != advisory_key(conn, "apply-lock\0A2OTHERSELLER")
        assert -(2**63) <= key < 2**63
        conn.execute(sa.text("SET LOCAL search_path TO public"))
        assert advisory_key(conn, "apply-lock\0" + SELLER) != key
    db.close()


def test_a_store_from_before_run_kinds_gets_the_column_filled_from_the_digests(db, backend):
    """The state store of an earlier sellersync (schema 1 without apply_runs.kind) is
    completed when opened: the breaker's and the incident's runs are named by their digest."""
    with db.write() as conn:
        conn.execute(sa.text("ALTER TABLE apply_runs DROP COLUMN kind"))
        for run_id, digest in (
            ("r1", "sha256:plan"),
            ("r2", "breaker:INC-1"),
            ("r3", "incident:X"),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO apply_runs (id, seller_id, plan_digest, started_at, status) "
                    "VALUES (:id, :seller, :digest, :at, 'succeeded')"
                ),
                {"id": run_id, "seller": SELLER, "digest": digest, "at": NOW.replace(tzinfo=None)},
            )
    again = open_backend(backend)
    try:
        with again.read() as conn:
            kinds = {r.id: r.kind for r in journal.runs(conn, SELLER)}
    finally:
        again.close()
    assert kinds == {"r1": "apply", "r2": "emergency", "r3": "incident"}


def test_a_store_from_before_locks_named_their_process_gets_the_columns(db, backend):
    """Issue 19, item 5: the holder's host, pid and pid scope are new columns of apply_locks;
    an earlier store gets them when opened, and a lock it already holds names no process."""
    with db.write() as conn:
        for column in ("host", "pid", "pid_scope"):
            conn.execute(sa.text(f"ALTER TABLE apply_locks DROP COLUMN {column}"))
        conn.execute(
            sa.text(
                "INSERT INTO apply_locks (seller_id, id, holder, operation, acquired_at) "
                "VALUES (:seller, 'old-lock', 'ci-runner-7 pid 311', 'apply', :at)"
            ),
            {"seller": SELLER, "at": NOW.replace(tzinfo=None)},
        )
    again = open_backend(backend)
    try:
        with again.read() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("apply_locks")}
            row = conn.execute(sa.text("SELECT host, pid, pid_scope FROM apply_locks")).one()
    finally:
        again.close()
    assert {"host", "pid", "pid_scope"} <= columns
    assert tuple(row) == (None, None, None)
