"""The apply lock: one apply (or incident submission, re-check, abandon) per seller account
at a time. The breaker does not take it: it must never wait for an apply (see
`serialise_emergency_claims` for what it takes instead).

The lock is a row in `apply_locks` (one per account: holder, operation, time and an id to
name in `sync force-unlock ID`), written by the backend's own means of mutual exclusion:

- SQLite: the row is checked and inserted inside one BEGIN IMMEDIATE transaction, which
  SQLite runs one at a time.
- PostgreSQL: the holder also takes a session advisory lock on the account and keeps its
  connection open while it holds the lock. The server drops that lock when the session
  ends, so a row whose advisory lock is free belongs to a process that is gone.

A lock whose holder died stays held until someone runs `sync force-unlock ID`: only a human
can tell whether the half-finished apply is safe to take over (the journal resumes it).
On PostgreSQL force-unlock refuses while the holder's session is still connected, since
removing the row would not stop that process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from engine.errors import UserError
from engine.exitcodes import ExitCode
from engine.state.db import StateDB, advisory_key
from engine.state.tables import apply_locks

EXIT_LOCK_HELD = ExitCode.STALE_OR_LOCKED  # shared with stale plans: nothing was written


@dataclass(frozen=True, slots=True)
class LockInfo:
    id: str
    seller_id: str
    holder: str
    operation: str
    acquired_at: datetime

    def describe(self) -> str:
        return (
            f"held by {self.holder} ({self.operation}) since "
            f"{self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, lock id {self.id}"
        )


class LockHeld(UserError):
    """Someone else holds the account's apply lock; nothing was done."""

    exit_code = EXIT_LOCK_HELD

    def __init__(self, seller_id: str, held: LockInfo | None, holder_gone: bool = False):
        self.held = held
        if held is None:
            message = (
                f"another sellersync process holds the apply lock for seller {seller_id}; "
                "wait for it to finish"
            )
        elif holder_gone:
            message = (
                f"the apply lock for seller {seller_id} is {held.describe()}, but that process "
                f"is gone (its database session ended). Release it with "
                f"`sync force-unlock {held.id}`; the next apply resumes its journal"
            )
        else:
            message = (
                f"the apply lock for seller {seller_id} is {held.describe()}. If that process "
                f"is gone, release it with `sync force-unlock {held.id}`"
            )
        super().__init__(message)


class NoSuchLock(UserError):
    """force-unlock named a lock id the account does not hold."""


class HolderAlive(UserError):
    """force-unlock named a lock whose holder is still connected (PostgreSQL can tell)."""


class ApplyLock:
    """A held apply lock. Release it (or use it as a context manager) when the apply ends."""

    def __init__(self, db: StateDB, info: LockInfo, session: sa.Connection | None):
        self.db = db
        self.info = info
        self._session = session  # PostgreSQL: the connection holding the advisory lock

    @property
    def id(self) -> str:
        return self.info.id

    def release(self) -> None:
        """Drop the row (unless force-unlock already did) and, on PostgreSQL, the advisory
        lock with the session that holds it."""
        if not self.db.is_postgresql:
            with self.db.write() as conn:
                _delete(conn, self.info.id)
            return
        if self._session is None:  # released already
            return
        session, self._session = self._session, None
        try:
            with session.begin():
                _delete(session, self.info.id)
                session.execute(
                    sa.select(sa.func.pg_advisory_unlock(account_key(session, self.info.seller_id)))
                )
        except BaseException:
            _discard(session)
            raise
        session.close()

    def __enter__(self) -> ApplyLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire(db: StateDB, seller_id: str, holder: str, operation: str, now: datetime) -> ApplyLock:
    """Take the account's apply lock, or raise LockHeld saying who has it since when."""
    info = LockInfo(str(uuid.uuid4()), seller_id, holder, operation, now)
    if db.is_postgresql:
        return _acquire_postgresql(db, info)
    with db.write() as conn:
        _insert_unless_held(conn, info, holder_gone=False)
    return ApplyLock(db, info, None)


def force_unlock(db: StateDB, seller_id: str, lock_id: str) -> LockInfo:
    """Remove the lock row `lock_id` of the account and return what it said."""
    with db.write() as conn:
        held = _current(conn, seller_id)
        if held is None or held.id != lock_id:
            state = "it is free" if held is None else f"it is {held.describe()}"
            raise NoSuchLock(f"seller {seller_id} holds no apply lock with id {lock_id} ({state})")
        if db.is_postgresql and not _holder_gone(conn, seller_id):
            raise HolderAlive(
                f"the apply lock for seller {seller_id} is {held.describe()}, and that process "
                "is still connected to the database; stop it or let it finish (force-unlock "
                "only clears locks whose holder is gone)"
            )
        _delete(conn, lock_id)
    return held


def _acquire_postgresql(db: StateDB, info: LockInfo) -> ApplyLock:
    session = db.engine.connect()
    try:
        key = account_key(session, info.seller_id)
        got = session.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one()
        session.commit()
        if not got:
            with db.read() as conn:
                raise LockHeld(info.seller_id, _current(conn, info.seller_id))
        with session.begin():
            _insert_unless_held(session, info, holder_gone=True)
    except BaseException:
        _discard(session)
        raise
    return ApplyLock(db, info, session)


def _discard(session: sa.Connection) -> None:
    """Close the connection for real: back in the pool it would keep its advisory lock."""
    session.invalidate()
    session.close()


def _holder_gone(conn: sa.Connection, seller_id: str) -> bool:
    """True when nobody holds the account's advisory lock. The probe is transaction-scoped,
    so it is dropped when the caller's transaction ends."""
    probe = sa.func.pg_try_advisory_xact_lock(account_key(conn, seller_id))
    return bool(conn.execute(sa.select(probe)).scalar_one())


def _insert_unless_held(conn: sa.Connection, info: LockInfo, *, holder_gone: bool) -> None:
    held = _current(conn, info.seller_id)
    if held is not None:
        raise LockHeld(info.seller_id, held, holder_gone=holder_gone)
    conn.execute(
        apply_locks.insert().values(
            seller_id=info.seller_id,
            id=info.id,
            holder=info.holder,
            operation=info.operation,
            acquired_at=info.acquired_at,
        )
    )


def _current(conn: sa.Connection, seller_id: str) -> LockInfo | None:
    row: Any = conn.execute(
        sa.select(apply_locks).where(apply_locks.c.seller_id == seller_id)
    ).one_or_none()
    if row is None:
        return None
    return LockInfo(row.id, row.seller_id, row.holder, row.operation, row.acquired_at)


def _delete(conn: sa.Connection, lock_id: str) -> None:
    conn.execute(apply_locks.delete().where(apply_locks.c.id == lock_id))


def serialise_emergency_claims(conn: sa.Connection, seller_id: str) -> None:
    """Make the caller's write transaction the only one claiming breaker writes for the
    account until it commits, so that two watch processes never both start a write for the
    same listing (engine.watch.breaker). It waits only for another claim (a few statements),
    never for an apply: its key is not the apply lock's. SQLite needs nothing more, since its
    write transactions (BEGIN IMMEDIATE) already run one at a time; PostgreSQL takes a
    transaction-scoped advisory lock, which the server drops at commit or rollback, and with
    a dead session."""
    if conn.dialect.name == "postgresql":
        key = advisory_key(conn, f"emergency\0{seller_id}")
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def account_key(conn: sa.Connection, seller_id: str) -> int:
    """The PostgreSQL advisory lock key of an account's apply lock."""
    return advisory_key(conn, f"apply-lock\0{seller_id}")
