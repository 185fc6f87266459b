"""State store fixtures: every storage test runs against SQLite (in tmp_path) and against
the PostgreSQL server on 127.0.0.1:5432 when one is there (skipped when none is).

PostgreSQL tests share one freshly created schema per test session, named uniquely and
dropped at the end, so concurrent runs (CI uses this machine's server) never collide; rows
are deleted after each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.state.db import StateDB, open_postgresql, open_sqlite
from engine.state.tables import metadata, state_meta

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
DSN_VARIABLE = "SELLERSYNC_TEST_STATE_DSN"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SELLER = "A1TESTSELLER"
OTHER_SELLER = "A2OTHERSELLER"


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A DSN whose search_path is a schema made for this test session."""
    admin = sa.create_engine(
        sa.make_url(PG_SERVER).set(drivername="postgresql+psycopg"),
        connect_args={"connect_timeout": 2},
    )
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as err:
        admin.dispose()
        reason = str(err.orig).strip().splitlines()[0]
        pytest.skip(f"no PostgreSQL server at {PG_SERVER}: {reason}")
    schema = f"sellersync_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: the SQLite state directory, or the PostgreSQL DSN."""
    if request.param == "sqlite":
        return str(tmp_path / "state")
    return request.getfixturevalue("pg_dsn")


def open_backend(location: str) -> StateDB:
    if location.startswith("postgresql://"):
        return open_postgresql(location, DSN_VARIABLE)
    return open_sqlite(Path(location))


@pytest.fixture
def db(backend: str) -> Iterator[StateDB]:
    store = open_backend(backend)
    try:
        yield store
    finally:
        if store.is_postgresql:
            with store.write() as conn:
                for table in reversed(metadata.sorted_tables):
                    if table is not state_meta:
                        conn.execute(table.delete())
        store.close()
