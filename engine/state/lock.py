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

A lock whose holder is provably gone is taken over by the next process that asks for it,
which journals that it did (`lock_takeovers`) and says so (`Takeover.line`); the journal then
resumes the half-finished run, writing nothing twice. Provably gone means:

- PostgreSQL: the holder's advisory lock is free, so its database session has ended (and,
  when the row names a process on this same host, that process no longer runs: a process
  that only lost its connection could still be writing);
- SQLite: the row names a process on this same host, in this same PID namespace and boot
  (`pid_scope`; containers sharing a host name have PID spaces of their own), and no
  process of that pid runs. A pid reused since only makes a dead holder look alive, which
  errs on the safe side.

Anything else stays a manual `sync force-unlock ID`: a holder on another host on SQLite, or a
row written before locks named their process. On PostgreSQL force-unlock refuses while the
holder's session is still connected, since removing the row would not stop that process.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.orders import iso
from engine.state.db import StateDB, advisory_key
from engine.state.tables import apply_locks, lock_takeovers

EXIT_LOCK_HELD = ExitCode.STALE_OR_LOCKED  # shared with stale plans: nothing was written


@dataclass(frozen=True, slots=True)
class Process:
    """Where a lock holder runs: enough to tell, from the same machine, that it has ended."""

    host: str
    pid: int
    scope: str  # the PID namespace and boot the pid counts in ("" where there are none)

    @classmethod
    def current(cls) -> Process:
        return cls(socket.gethostname(), os.getpid(), _pid_scope())

    def is_local(self) -> bool:
        """The pid counts in this process's PID space, so its existence can be checked."""
        here = Process.current()
        return (self.host, self.scope) == (here.host, here.scope)

    def runs(self) -> bool:
        """A process of this pid runs (only meaningful when `is_local`)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # it runs, as another user
            return True
        return True


@cache
def _pid_scope() -> str:
    """This boot's id and this process's PID namespace: pids compare only within both. Where
    the system has no such files (not Linux), one host has one PID space."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}/pidns:{namespace}"


@dataclass(frozen=True, slots=True)
class LockInfo:
    id: str
    seller_id: str
    holder: str
    operation: str
    acquired_at: datetime
    process: Process | None = None  # None in rows from before locks named their process

    def to_dict(self) -> dict[str, str]:
        """The lock as every --json shows it (docs/json.md): no process details."""
        return {
            "id": self.id,
            "seller_id": self.seller_id,
            "holder": self.holder,
            "operation": self.operation,
            "acquired_at": iso(self.acquired_at),
        }

    def describe(self) -> str:
        return (
            f"held by {self.holder} ({self.operation}) since "
            f"{self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, lock id {self.id}"
        )


@dataclass(frozen=True, slots=True)
class Takeover:
    """A lock taken over from a holder that was provably gone, and the proof."""

    previous: LockInfo
    evidence: str

    def line(self) -> str:
        return (
            f"Took over the apply lock of seller {self.previous.seller_id}, "
            f"{self.previous.describe()}: {self.evidence}. Its unfinished run, if any, "
            "resumes from the journal."
        )


class LockHeld(UserError):
    """Someone else holds the account's apply lock; nothing was done."""

    exit_code = EXIT_LOCK_HELD

    def __init__(self, seller_id: str, held: LockInfo | None, why: str = ""):
        self.held = held
        if held is None:
            message = (
                f"another sellersync process holds the apply lock for seller {seller_id}; "
                "wait for it to finish"
            )
        else:
            message = (
                f"the apply lock for seller {seller_id} is {held.describe()}{why}. If that "
                f"process is gone, release it with `sync force-unlock {held.id}`"
            )
        super().__init__(message)


class NoSuchLock(UserError):
    """force-unlock named a lock id the account does not hold."""


class HolderAlive(UserError):
    """force-unlock named a lock whose holder is still connected (PostgreSQL can tell)."""


class ApplyLock:
    """A held apply lock. Release it (or use it as a context manager) when the apply ends."""

    def __init__(
        self,
        db: StateDB,
        info: LockInfo,
        session: sa.Connection | None,
        took_over: Takeover | None = None,
    ):
        self.db = db
        self.info = info
        self.took_over = took_over  # the dead holder's lock this one replaced, if any
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
    """Take the account's apply lock, or raise LockHeld saying who has it since when. A lock
    whose holder is provably gone is taken over (`ApplyLock.took_over` says from whom)."""
    info = LockInfo(str(uuid.uuid4()), seller_id, holder, operation, now, Process.current())
    if db.is_postgresql:
        return _acquire_postgresql(db, info)
    with db.write() as conn:
        took_over = _insert_unless_held(conn, info, _sqlite_holder_gone)
    return ApplyLock(db, info, None, took_over)


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
            took_over = _insert_unless_held(session, info, _postgresql_holder_gone)
    except BaseException:
        _discard(session)
        raise
    return ApplyLock(db, info, session, took_over)


def _discard(session: sa.Connection) -> None:
    """Close the connection for real: back in the pool it would keep its advisory lock."""
    session.invalidate()
    session.close()


def _holder_gone(conn: sa.Connection, seller_id: str) -> bool:
    """True when nobody holds the account's advisory lock. The probe is transaction-scoped,
    so it is dropped when the caller's transaction ends."""
    probe = sa.func.pg_try_advisory_xact_lock(account_key(conn, seller_id))
    return bool(conn.execute(sa.select(probe)).scalar_one())


def _insert_unless_held(
    conn: sa.Connection, info: LockInfo, gone: Callable[[LockInfo], tuple[str | None, str]]
) -> Takeover | None:
    """Write `info` as the account's lock, in the caller's transaction (the store's means of
    mutual exclusion). A row already there is taken over when `gone` gives the proof that its
    holder has ended (journaled in lock_takeovers), else LockHeld with `gone`'s reason."""
    held = _current(conn, info.seller_id)
    takeover = None
    if held is not None:
        evidence, why_not = gone(held)
        if evidence is None:
            raise LockHeld(info.seller_id, held, why_not)
        takeover = Takeover(held, evidence)
        _delete(conn, held.id)
        conn.execute(
            lock_takeovers.insert().values(
                seller_id=held.seller_id,
                lock_id=held.id,
                holder=held.holder,
                operation=held.operation,
                acquired_at=held.acquired_at,
                taken_over_at=info.acquired_at,
                taken_over_by=info.holder,
                new_lock_id=info.id,
                evidence=evidence,
            )
        )
    process = info.process
    conn.execute(
        apply_locks.insert().values(
            seller_id=info.seller_id,
            id=info.id,
            holder=info.holder,
            operation=info.operation,
            acquired_at=info.acquired_at,
            host=None if process is None else process.host,
            pid=None if process is None else process.pid,
            pid_scope=None if process is None else process.scope,
        )
    )
    return takeover


def _sqlite_holder_gone(held: LockInfo) -> tuple[str | None, str]:
    """(proof that the holder has ended, or None and why it cannot be told) on SQLite: only
    a process on this host, in this PID space, can be seen to have ended."""
    process = held.process
    if process is None:
        return None, " (a lock from an older sellersync, which does not name its process)"
    if not process.is_local():
        return None, f" (on host {process.host}, whose processes cannot be seen from here)"
    if process.runs():
        return None, f" (process {process.pid} still runs on this host)"
    return f"process {process.pid} no longer runs on {process.host}", ""


def _postgresql_holder_gone(held: LockInfo) -> tuple[str | None, str]:
    """Called holding the account's advisory lock, so the holder's session has ended. A
    process on this host that still runs may only have lost its connection: left alone."""
    process = held.process
    if process is not None and process.is_local() and process.runs():
        return None, (
            f" (its database session ended, but process {process.pid} still runs on this "
            "host: stop it first)"
        )
    return "that process is gone (its database session ended)", ""


def lock_takeover_rows(conn: sa.Connection, seller_id: str) -> list[dict[str, Any]]:
    """The account's lock takeovers, oldest first (what `lock_takeovers` journals)."""
    rows = conn.execute(
        sa.select(lock_takeovers)
        .where(lock_takeovers.c.seller_id == seller_id)
        .order_by(lock_takeovers.c.taken_over_at)
    )
    return [dict(row._mapping) for row in rows]


def held_by(conn: sa.Connection, seller_id: str) -> LockInfo | None:
    """Who holds the account's apply lock, if anyone (without waiting or taking it)."""
    return _current(conn, seller_id)


def _current(conn: sa.Connection, seller_id: str) -> LockInfo | None:
    row: Any = conn.execute(
        sa.select(apply_locks).where(apply_locks.c.seller_id == seller_id)
    ).one_or_none()
    if row is None:
        return None
    known = row.host is not None and row.pid is not None and row.pid_scope is not None
    process = Process(row.host, row.pid, row.pid_scope) if known else None
    return LockInfo(row.id, row.seller_id, row.holder, row.operation, row.acquired_at, process)


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
