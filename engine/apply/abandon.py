"""Giving up an unfinished run whose plan file is lost: `sync apply --abandon RUN_ID`.

A killed apply is resumed by applying the same plan file again. When that file is gone the
account is stuck: every other plan is refused while the run is unfinished, and so is a
breaker's or an incident's run that died half-way (it has no plan file at all). Abandoning
closes the run without writing anything to Amazon; it only reads live and writes the journal:

- `pending` entries were never sent: `failed`, "not sent: the run was abandoned";
- `sent` entries have an unknown outcome: live is polled for them with verification's
  bounded wait, as a resume does. Those that show are `verified` (their values remembered as
  applied); the others become `unknown`, so the seller knows which listings to look at;
- `accepted` entries were taken by Amazon: `verified` when live shows them, else
  `not_visible`, which the re-check (engine.apply.recheck) follows up;
- entries already settled are left as they are.

The run ends `abandoned`: finished, so no apply resumes it and a new plan may start. Only a
breaker's or incident's entries cannot be read back from live (they are no plan changes):
those left `sent` become `unknown` unread, and `accepted` ones stay accepted.

The account's apply lock is taken for all of this. A lock left behind by the dead process of
this kind of run (an apply's, an incident's) is released first, as `sync force-unlock` would:
on PostgreSQL only once its holder's session is gone. A lock held for anything else (a
re-check, another abandon) is respected: exit 4. The breaker takes no apply lock, so an
emergency run has none to release (and a later watch pass closes it by itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.apply.executor import NOT_SENT, close_accepted
from engine.apply.verify import VERIFY_POLLING, wait_until_visible
from engine.core.changes import ResourceChange
from engine.core.errors import UserError
from engine.live.backend import Backend
from engine.live.documents import Polling
from engine.live.throttle import Timer
from engine.plan.model import change_from_json
from engine.state import journal
from engine.state.db import StateDB
from engine.state.journal import Entry, EntryState, Run
from engine.state.lock import ApplyLock, LockHeld, LockInfo, acquire, force_unlock

NEVER_SENT = NOT_SENT + "the run was abandoned before this change was sent"
OUTCOME_UNKNOWN = (
    "outcome unknown: the run was abandoned after this change was sent, and live does not "
    "show it; look at this listing"
)
NOT_READABLE = (
    "outcome unknown: the run was abandoned after this change was sent; it is not a plan "
    "change, so live was not read for it"
)


class NoSuchRun(UserError):
    """`--abandon` named a run id the account's journal does not have."""


class RunFinished(UserError):
    """`--abandon` named a run that is finished already: there is nothing to give up."""


@dataclass(frozen=True, slots=True)
class Settled:
    """One entry of the abandoned run: its state before and after (the same when it was
    already settled), and the error the journal holds for it."""

    address: str
    was: EntryState
    now: EntryState
    error: str | None


@dataclass(frozen=True, slots=True)
class AbandonReport:
    run: Run  # as closed: status `abandoned`
    entries: tuple[Settled, ...]
    released_lock: LockInfo | None  # the dead holder's lock, when one was released


def abandon(
    backend: Backend,
    db: StateDB,
    run_id: str,
    *,
    now: Callable[[], datetime],
    timer: Timer,
    holder: str,
    polling: Polling = VERIFY_POLLING,
) -> AbandonReport:
    """Close the account's unfinished run `run_id` as abandoned (see the module docstring).
    Raises NoSuchRun or RunFinished (exit 1) before touching anything, LockHeld (exit 4)
    when the lock is held for something else."""
    seller_id = backend.identity.seller_id
    run = _unfinished(db, seller_id, run_id)
    lock, released = _take_lock(db, run, holder, now())
    with lock:
        _unfinished(db, seller_id, run_id)  # an apply may have finished it meanwhile
        with db.read() as conn:
            entries = journal.entries(conn, run.id)
        visible = _visible(backend, entries, timer, polling)
        settled = []
        with db.write() as conn:
            for entry in entries:
                after = _settle(conn, seller_id, entry, visible, now())
                settled.append(Settled(entry.address, entry.state, after.state, after.error))
            closed = journal.abandon_run(conn, run.id, now())
    return AbandonReport(closed, tuple(settled), released)


def _unfinished(db: StateDB, seller_id: str, run_id: str) -> Run:
    with db.read() as conn:
        run = journal.find_run(conn, seller_id, run_id)
    if run is None:
        raise NoSuchRun(f"seller {seller_id} has no apply run {run_id} in its journal")
    if run.finished_at is not None:
        raise RunFinished(
            f"apply run {run_id} of seller {seller_id} is already finished ({run.status}, "
            f"{run.finished_at:%Y-%m-%d %H:%M:%S} UTC); there is nothing to abandon"
        )
    return run


def _lock_operation(run: Run) -> str | None:
    """The operation whose lock a process working on `run` holds: None for an emergency
    run, since the breaker holds no apply lock."""
    return {"apply": "apply", "incident": "incident"}.get(run.kind)


def _take_lock(
    db: StateDB, run: Run, holder: str, now: datetime
) -> tuple[ApplyLock, LockInfo | None]:
    """The account's apply lock, after releasing one the run's dead process left behind
    (taken over by `acquire` when its holder is provably gone)."""
    try:
        lock = acquire(db, run.seller_id, holder, "abandon", now)
        return lock, None if lock.took_over is None else lock.took_over.previous
    except LockHeld as held:
        left = held.held
        if left is None or left.operation != _lock_operation(run):
            raise
    # PostgreSQL refuses (HolderAlive) while that process is still connected.
    released = force_unlock(db, run.seller_id, left.id)
    return acquire(db, run.seller_id, holder, "abandon", now), released


def _plan_change(entry: Entry) -> ResourceChange | None:
    """The listing change an apply entry carries; None for a breaker's or incident's."""
    return change_from_json(entry.payload) if "change" in entry.payload else None


def _visible(
    backend: Backend, entries: Sequence[Entry], timer: Timer, polling: Polling
) -> frozenset[str]:
    """Addresses of sent or accepted plan changes that live shows, after the bounded wait."""
    changes = {
        e.address: change
        for e in entries
        if e.state in ("sent", "accepted") and (change := _plan_change(e)) is not None
    }
    if not changes:
        return frozenset()
    return wait_until_visible(backend, changes, list(changes), timer, polling).visible


def _settle(
    conn: sa.Connection, seller_id: str, entry: Entry, visible: frozenset[str], now: datetime
) -> Entry:
    """Journal what becomes of one entry of the abandoned run; returns it as it is now."""

    def move(to: EntryState, why: str) -> Entry:
        return journal.transition(conn, entry.run_id, entry.seq, to, now, error=why)

    if entry.state == "pending":
        return move("failed", NEVER_SENT)
    change = _plan_change(entry)
    if entry.state == "sent" and change is None:
        return move("unknown", NOT_READABLE)
    if entry.state not in ("sent", "accepted") or change is None:
        return entry
    if entry.address in visible:
        return close_accepted(conn, seller_id, entry, change, "verified", now)
    if entry.state == "accepted":
        return close_accepted(conn, seller_id, entry, change, "not_visible", now)
    return move("unknown", OUTCOME_UNKNOWN)
