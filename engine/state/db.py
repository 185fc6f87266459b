"""Opening the state store: SQLite in the state directory, or PostgreSQL from a DSN.

SQLite is the embedded default (`<state_dir>/state.sqlite3`, separate from the sandbox's
file so that resetting the sandbox never touches the journal). PostgreSQL is for CI runners
that keep nothing between runs; its URL comes from the environment variable that
`state.dsn_env` names, because it carries a password and config lives in git.

Write transactions on SQLite start with BEGIN IMMEDIATE: they take the write lock up front
and wait (busy timeout) instead of failing when a read turns into a write under contention.
The tables are created on first use, with a schema version row so that a later sellersync
can tell which shape it is looking at. Within a version, tables and nullable-or-defaulted
columns may be added; a store made before them gets them when it is next opened
(`_add_run_kind`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from engine.config.model import StateStore
from engine.core.errors import UserError
from engine.state.tables import (
    SCHEMA_VERSION,
    apply_locks,
    apply_runs,
    journal_entries,
    metadata,
    state_meta,
)

SQLITE_FILENAME = "state.sqlite3"
BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 10
_IMMEDIATE = "sellersync_immediate"
_URL_HINT = "postgresql://user:password@host:5432/database"


class StateStoreError(UserError):
    """The state store cannot be opened or has an unexpected shape."""


@dataclass(frozen=True, slots=True)
class StateDB:
    """An open state store. Callers hold a connection only for one transaction."""

    engine: sa.Engine
    where: str  # for messages: the SQLite path or the PostgreSQL URL without its password

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A transaction that will write: on SQLite it holds the write lock from the start."""
        immediate = self.engine.connect().execution_options(**{_IMMEDIATE: True})
        with immediate as conn, conn.begin():
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def open_state(
    store: StateStore, state_dir: Path, environ: Mapping[str, str] = os.environ
) -> StateDB:
    """The store config describes: `state.sqlite3` in `state_dir`, or PostgreSQL."""
    if store.backend == "sqlite":
        return open_sqlite(state_dir)
    dsn = environ.get(store.dsn_env)
    if not dsn:
        raise StateStoreError(
            f"state.backend is postgresql but the environment variable {store.dsn_env} "
            f"(state.dsn_env in project.yaml) is not set; set it to {_URL_HINT}"
        )
    return open_postgresql(dsn, store.dsn_env)


def open_sqlite(state_dir: Path) -> StateDB:
    path = Path(state_dir) / SQLITE_FILENAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StateStoreError(f"cannot create the state directory {path.parent}: {err}") from None
    engine = sa.create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return _prepared(StateDB(engine, str(path)), f"the state database {path}")


def open_postgresql(dsn: str, variable: str) -> StateDB:
    """`dsn` is a postgresql:// URL read from `variable`; messages name the variable and
    never repeat the URL's password."""
    try:
        url = sa.make_url(dsn)
    except sa.exc.ArgumentError:
        raise StateStoreError(f"{variable} is not a URL; expected {_URL_HINT}") from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise StateStoreError(
            f"{variable} names a {url.get_backend_name()!r} database; expected {_URL_HINT}"
        )
    where = url.render_as_string(hide_password=True)
    engine = sa.create_engine(
        url.set(drivername="postgresql+psycopg"),
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )
    return _prepared(
        StateDB(engine, where),
        f"the PostgreSQL state database in {variable} ({where})",
        secret=url.password,
    )


def advisory_key(conn: sa.Connection, name: str) -> int:
    """A stable signed 64-bit key for pg advisory locks. Advisory locks span the whole
    database, so the key includes the schema: two stores in one database never collide."""
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    digest = hashlib.sha256(f"sellersync\0{schema}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _prepared(db: StateDB, what: str, secret: str | None = None) -> StateDB:
    try:
        with db.write() as conn:
            _create_schema(conn, what)
    except sa.exc.DBAPIError as err:  # unreachable, refused, no rights, no such schema...
        db.close()
        reason = str(err.orig).strip().splitlines()[0]
        if secret:
            reason = reason.replace(secret, "***")
        raise StateStoreError(f"cannot open {what}: {reason}") from None
    except StateStoreError:
        db.close()
        raise
    return db


def _create_schema(conn: sa.Connection, what: str) -> None:
    if conn.dialect.name == "postgresql":
        # Two first runs at once must not both create the tables.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(advisory_key(conn, "schema"))))
    inspector = sa.inspect(conn)
    if inspector.has_table(state_meta.name):
        found = conn.execute(
            sa.select(state_meta.c.value).where(state_meta.c.key == "schema_version")
        ).scalar_one_or_none()
        if found is not None and found != SCHEMA_VERSION:
            raise StateStoreError(
                f"{what} has schema version {found}; this sellersync uses version "
                f"{SCHEMA_VERSION} (use the sellersync that wrote it, or a new database)"
            )
        if found is not None:
            metadata.create_all(conn)  # tables added within a version (checkfirst: additive)
            _add_run_kind(conn)
            _add_lock_process(conn)
            _add_entry_step(conn)
            return
    metadata.create_all(conn)
    conn.execute(state_meta.insert().values(key="schema_version", value=SCHEMA_VERSION))


# The digest prefixes that named the breaker's and the incident's runs before runs had a kind.
_KIND_BY_DIGEST_PREFIX = {"breaker:": "emergency", "incident:": "incident"}


def _add_run_kind(conn: sa.Connection) -> None:
    """A store from before `apply_runs.kind`: add the column (every run an apply) and give
    the breaker's and the incident's runs their kind from their digest prefix."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns(apply_runs.name)}
    if "kind" in columns:
        return
    conn.execute(
        sa.text(f"ALTER TABLE {apply_runs.name} ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'apply'")
    )
    for prefix, kind in _KIND_BY_DIGEST_PREFIX.items():
        conn.execute(
            apply_runs.update()
            .where(apply_runs.c.plan_digest.startswith(prefix, autoescape=True))
            .values(kind=kind)
        )


def _add_lock_process(conn: sa.Connection) -> None:
    """A store from before `apply_locks` named the holding process: add those columns. A
    lock row written before has none, so it is never taken over by itself (force-unlock)."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns(apply_locks.name)}
    for name, kind in (("host", "VARCHAR"), ("pid", "INTEGER"), ("pid_scope", "VARCHAR")):
        if name not in columns:
            conn.execute(sa.text(f"ALTER TABLE {apply_locks.name} ADD COLUMN {name} {kind}"))


def _add_entry_step(conn: sa.Connection) -> None:
    """A store from before two-step writes: add `journal_entries.step` (empty: every entry
    before it was one write)."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns(journal_entries.name)}
    if "step" not in columns:
        conn.execute(sa.text(f"ALTER TABLE {journal_entries.name} ADD COLUMN step VARCHAR"))


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
