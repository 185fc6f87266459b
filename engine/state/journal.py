"""The apply journal: every change is written down before it is sent and after each outcome.

An apply run holds one entry per resource change. Entries move forward only:

    pending ──▶ sent ──▶ accepted ──▶ verified
       │          │         │  └─────▶ not_visible ──▶ verified
       └──────────┴─────────┴──▶ failed (also from not_visible)
                  ├──▶ unknown (its run abandoned, and live does not show the change)
                  └──▶ not_visible (its answer lost, and live could not be read)

Two extra steps exist for resuming a killed apply. An entry left `sent` has an unknown
outcome (the process may have died before or after Amazon answered), so the executor reads
live first: if the change is there the entry goes `sent -> verified`; if it is not, it goes
back `sent -> pending` and is sent again. That is how a resumed apply converges without
writing anything twice. Nothing ever leaves `verified`, `failed` or `unknown`.

A write whose answer was lost (a 5xx, a timeout, a dropped connection: it may or may not have
been applied) stays `sent`, with the note `answer lost: ...` (`note_lost_answer`), until live
decides: `verified` when it shows, back to `pending` and sent again only once live was watched
for the whole verification wait without showing it. When live cannot be read either, it goes
`sent -> not_visible`, which the re-check follows up like any write not yet visible.

A change written in two steps (a quantity raised from 0 with a new price: the price first,
then, once live shows it, the quantity; engine.live.patches.price_then_quantity) stays `sent`
through both, its `step` saying which: `price` from before the price write until live shows
the new price, `quantity` from before the quantity write on. A resumed apply so knows that a
`price` entry cannot show the whole change yet (its quantity was never sent), and sends the
quantity only once live shows the price; `set_step` moves it on.

A run is finished (`succeeded` or `failed`) once nothing is left to send, or `abandoned`
when a person gave it up (`sync apply --abandon`, its plan file lost) or, for an emergency
run, when a watch pass found the process that ran it gone: then nothing more is sent for
it, and the entries left `sent` that live does not show stay `unknown` for good. Finished
and abandoned runs alike are never resumed.

Runs are of three kinds. An `apply` run holds a plan's changes. An `incident` run holds the
order cancellations of `sync incident --submit`. An `emergency` run holds one breaker write
(engine.watch.breaker): it is exempt from the rule below that one run at a time may be
unfinished, and it is never what `resume_point` returns, because the breaker must never wait
for an apply, and an apply has nothing to resume in it. Only one apply or incident run per
account may be unfinished; starting another is refused until it is resumed or abandoned.
A watch pass closes an emergency run that a dead watch process left unfinished (see
`open_emergency_entries`).

Functions take an open connection so that a transition and the last-applied values it
implies commit together, and take the time as an argument (the journal never reads a clock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from engine.core.changes import Action
from engine.core.errors import UserError
from engine.state.tables import apply_runs, journal_entries

WriteStep = Literal["price", "quantity"]
EntryState = Literal["pending", "sent", "accepted", "failed", "verified", "not_visible", "unknown"]
RunStatus = Literal["running", "succeeded", "failed", "abandoned"]
RunKind = Literal["apply", "emergency", "incident"]

NOT_SENT = "not sent: "  # error prefix of failed entries that were never written
ANSWER_LOST = "answer lost: "  # error prefix of entries whose write got no answer

# state -> the states it may move to
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"sent", "failed"}),
    "sent": frozenset({"accepted", "failed", "verified", "pending", "unknown", "not_visible"}),
    "accepted": frozenset({"verified", "not_visible", "failed"}),
    "not_visible": frozenset({"verified", "failed"}),
    "failed": frozenset(),
    "verified": frozenset(),
    "unknown": frozenset(),
}
_OPEN_STATES = ("pending", "sent")


class InvalidTransition(ValueError):
    """An executor asked for a move the state machine forbids (a bug, not user input)."""


class UnfinishedRun(UserError):
    """A new apply or incident run was started while an earlier one for the same account is
    unfinished."""

    def __init__(self, run: Run):
        self.run = run
        super().__init__(
            f"apply run {run.id} for seller {run.seller_id} (started "
            f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC) did not finish; resume it before "
            "starting another"
        )


@dataclass(frozen=True, slots=True)
class Change:
    """What the executor will send for one resource: address, action and payload (JSON)."""

    address: str
    action: Action
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    seller_id: str
    plan_digest: str
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    kind: RunKind = "apply"


@dataclass(frozen=True, slots=True)
class Entry:
    run_id: str
    seq: int
    address: str
    action: Action
    payload: dict[str, Any]
    state: EntryState
    submission_id: str | None
    request_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    step: WriteStep | None = None  # of a change written in two steps (see the docstring)


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """What an unfinished run still owes, split by what the executor must do about it."""

    run: Run
    to_send: tuple[Entry, ...]  # pending: never sent
    outcome_unknown: tuple[Entry, ...]  # sent: check live before sending again
    to_verify: tuple[Entry, ...]  # accepted or not_visible: poll live, write nothing


def start_run(
    conn: sa.Connection,
    seller_id: str,
    plan_digest: str,
    changes: Iterable[Change],
    now: datetime,
    *,
    kind: RunKind = "apply",
) -> Run:
    """Journal a new run with every change pending. An apply or incident run is refused
    while another of the account's is unfinished: resuming it comes first, or its writes
    could be repeated; the caller holds the account's apply lock, so no other can start in
    between. An emergency run is never refused (see the module docstring); its caller
    serialises emergency runs itself (engine.state.lock.serialise_emergency_claims)."""
    if kind != "emergency":
        unfinished = _unfinished_run(conn, seller_id)
        if unfinished is not None:
            raise UnfinishedRun(unfinished)
    run = Run(str(uuid.uuid4()), seller_id, plan_digest, now, None, "running", kind)
    conn.execute(
        apply_runs.insert().values(
            id=run.id,
            seller_id=seller_id,
            plan_digest=plan_digest,
            kind=kind,
            started_at=now,
            status=run.status,
        )
    )
    rows = [
        {
            "run_id": run.id,
            "seq": seq,
            "seller_id": seller_id,
            "address": change.address,
            "action": change.action,
            "payload": change.payload,
            "state": "pending",
            "created_at": now,
            "updated_at": now,
        }
        for seq, change in enumerate(changes)
    ]
    if rows:
        conn.execute(journal_entries.insert(), rows)
    return run


def transition(
    conn: sa.Connection,
    run_id: str,
    seq: int,
    to: EntryState,
    now: datetime,
    *,
    submission_id: str | None = None,
    request_id: str | None = None,
    error: str | None = None,
    step: WriteStep | None = None,
) -> Entry:
    """Move one entry to `to`, recording the ids and error that came with the outcome (and
    the step of a two-step write being sent).

    The check and the update are one statement (`WHERE state IN (...)`), so two processes
    can never both move the same entry."""
    if to not in TRANSITIONS:
        raise InvalidTransition(f"unknown journal state {to!r}")
    allowed_from = [state for state, targets in TRANSITIONS.items() if to in targets]
    values: dict[str, Any] = {"state": to, "updated_at": now}
    for column, value in (
        ("submission_id", submission_id),
        ("request_id", request_id),
        ("error", error),
        ("step", step),
    ):
        if value is not None:
            values[column] = value
    key = (journal_entries.c.run_id == run_id, journal_entries.c.seq == seq)
    updated = conn.execute(
        journal_entries.update()
        .where(*key, journal_entries.c.state.in_(allowed_from))
        .values(**values)
    )
    row = conn.execute(sa.select(journal_entries).where(*key)).one_or_none()
    if row is None:
        raise InvalidTransition(f"no journal entry {seq} in run {run_id}")
    entry = _entry(row)
    if updated.rowcount != 1:
        raise InvalidTransition(
            f"journal entry {seq} of run {run_id} ({entry.address}) is {entry.state}; "
            f"it cannot become {to}"
        )
    return entry


def note_lost_answer(conn: sa.Connection, run_id: str, seq: int, why: str, now: datetime) -> Entry:
    """Record on a `sent` entry that its write got no answer (`why`); it stays `sent`, its
    outcome unknown until live is read."""
    key = (journal_entries.c.run_id == run_id, journal_entries.c.seq == seq)
    updated = conn.execute(
        journal_entries.update()
        .where(*key, journal_entries.c.state == "sent")
        .values(error=ANSWER_LOST + why, updated_at=now)
    )
    row = conn.execute(sa.select(journal_entries).where(*key)).one_or_none()
    if row is None or updated.rowcount != 1:
        raise InvalidTransition(f"journal entry {seq} of run {run_id} is not sent")
    return _entry(row)


def set_step(conn: sa.Connection, run_id: str, seq: int, step: WriteStep, now: datetime) -> Entry:
    """Record on a `sent` entry written in two steps that `step` is being written now
    (journaled before the write, like every send)."""
    key = (journal_entries.c.run_id == run_id, journal_entries.c.seq == seq)
    updated = conn.execute(
        journal_entries.update()
        .where(*key, journal_entries.c.state == "sent")
        .values(step=step, updated_at=now)
    )
    row = conn.execute(sa.select(journal_entries).where(*key)).one_or_none()
    if row is None or updated.rowcount != 1:
        raise InvalidTransition(f"journal entry {seq} of run {run_id} is not sent")
    return _entry(row)


def finish_run(conn: sa.Connection, run_id: str, now: datetime) -> Run:
    """Close a run once nothing is left to send: `failed` if any change failed, else
    `succeeded` (accepted-but-not-visible changes are reported, not failures)."""
    run, counts = _closable(conn, run_id)
    return _close(conn, run, now, "failed" if counts.get("failed") else "succeeded")


def abandon_run(conn: sa.Connection, run_id: str, now: datetime) -> Run:
    """Close a run nobody will resume (its plan file is lost) as `abandoned`. As with
    `finish_run`, no entry may be left pending or sent: the caller settles them first."""
    run, _ = _closable(conn, run_id)
    return _close(conn, run, now, "abandoned")


def _closable(conn: sa.Connection, run_id: str) -> tuple[Run, dict[str, int]]:
    """The run and its entry count by state; refused when the run is finished already or
    still owes a send."""
    run = _run(conn.execute(sa.select(apply_runs).where(apply_runs.c.id == run_id)).one_or_none())
    if run is None:
        raise InvalidTransition(f"no apply run {run_id}")
    if run.finished_at is not None:
        raise InvalidTransition(f"apply run {run_id} already finished ({run.status})")
    counts = dict(
        conn.execute(
            sa.select(journal_entries.c.state, sa.func.count())
            .where(journal_entries.c.run_id == run_id)
            .group_by(journal_entries.c.state)
        ).all()
    )
    open_count = sum(counts.get(state, 0) for state in _OPEN_STATES)
    if open_count:
        raise InvalidTransition(
            f"apply run {run_id} still has {open_count} change(s) pending or sent"
        )
    return run, counts


def _close(conn: sa.Connection, run: Run, now: datetime, status: RunStatus) -> Run:
    conn.execute(
        apply_runs.update().where(apply_runs.c.id == run.id).values(finished_at=now, status=status)
    )
    return replace(run, finished_at=now, status=status)


def entries(conn: sa.Connection, run_id: str) -> list[Entry]:
    rows = conn.execute(
        sa.select(journal_entries)
        .where(journal_entries.c.run_id == run_id)
        .order_by(journal_entries.c.seq)
    )
    return [_entry(row) for row in rows]


def runs(conn: sa.Connection, seller_id: str) -> list[Run]:
    """Every run of the account, oldest first (applies and emergency changes alike)."""
    rows = conn.execute(
        sa.select(apply_runs)
        .where(apply_runs.c.seller_id == seller_id)
        .order_by(apply_runs.c.started_at, apply_runs.c.id)
    )
    return [_run(row) for row in rows]  # type: ignore[misc]


def find_run(conn: sa.Connection, seller_id: str, run_id: str) -> Run | None:
    """The account's run `run_id`, or None when the account has no such run."""
    return _run(
        conn.execute(
            sa.select(apply_runs).where(
                apply_runs.c.seller_id == seller_id, apply_runs.c.id == run_id
            )
        ).one_or_none()
    )


def not_visible_entries(conn: sa.Connection, seller_id: str) -> list[Entry]:
    """Entries of the account's finished runs still `not_visible`: accepted by Amazon, not
    seen live when their run stopped waiting. Oldest first. An unfinished run's entries are
    left to resuming it."""
    return _entries_where(
        conn,
        journal_entries.c.seller_id == seller_id,
        journal_entries.c.state == "not_visible",
        apply_runs.c.finished_at.is_not(None),
        oldest_by=journal_entries.c.updated_at,
    )


def open_emergency_entries(conn: sa.Connection, seller_id: str) -> list[Entry]:
    """The entries of the account's unfinished emergency runs, oldest first: breaker writes
    being made right now, or left half-done by a watch process that died."""
    return _entries_where(
        conn,
        journal_entries.c.seller_id == seller_id,
        apply_runs.c.kind == "emergency",
        apply_runs.c.finished_at.is_(None),
        oldest_by=journal_entries.c.created_at,
    )


def _entries_where(
    conn: sa.Connection, *conditions: sa.ColumnElement[bool], oldest_by: sa.Column[Any]
) -> list[Entry]:
    """Entries meeting `conditions` on themselves and their run, oldest first."""
    rows = conn.execute(
        sa.select(journal_entries)
        .join(apply_runs, apply_runs.c.id == journal_entries.c.run_id)
        .where(*conditions)
        .order_by(oldest_by, journal_entries.c.run_id, journal_entries.c.seq)
    )
    return [_entry(row) for row in rows]


def resume_point(conn: sa.Connection, seller_id: str) -> ResumePoint | None:
    """The account's unfinished apply or incident run and what it still owes, or None when
    there is none. Emergency runs are not resumed by an apply (see the module docstring)."""
    run = _unfinished_run(conn, seller_id)
    if run is None:
        return None
    by_state: dict[str, list[Entry]] = {state: [] for state in TRANSITIONS}
    for entry in entries(conn, run.id):
        by_state[entry.state].append(entry)
    return ResumePoint(
        run=run,
        to_send=tuple(by_state["pending"]),
        outcome_unknown=tuple(by_state["sent"]),
        to_verify=tuple(by_state["accepted"] + by_state["not_visible"]),
    )


def _unfinished_run(conn: sa.Connection, seller_id: str) -> Run | None:
    row = conn.execute(
        sa.select(apply_runs)
        .where(
            apply_runs.c.seller_id == seller_id,
            apply_runs.c.finished_at.is_(None),
            apply_runs.c.kind != "emergency",
        )
        .order_by(apply_runs.c.started_at)
        .limit(1)
    ).one_or_none()
    return _run(row)


def _run(row: sa.Row[Any] | None) -> Run | None:
    if row is None:
        return None
    return Run(
        row.id,
        row.seller_id,
        row.plan_digest,
        row.started_at,
        row.finished_at,
        row.status,
        row.kind,
    )


def _entry(row: sa.Row[Any]) -> Entry:
    return Entry(
        run_id=row.run_id,
        seq=row.seq,
        address=row.address,
        action=row.action,
        payload=row.payload,
        state=row.state,
        submission_id=row.submission_id,
        request_id=row.request_id,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        step=row.step,
    )
