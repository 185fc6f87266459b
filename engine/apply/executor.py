"""The apply executor: makes exactly a reviewed plan live, journaled, once.

Order of work, and why:

0. Re-check the changes earlier runs left not yet visible (engine.apply.recheck): reads
   only, and the journal says what became of them.
1. Refuse a plan made for another account or endpoint, and refuse to start while a run of
   another plan is unfinished (its writes must be settled first, or they could repeat).
2. A fresh run: refuse a stale plan (config digest, or any touched listing's live
   fingerprint) before writing anything, then journal every change `pending`.
   A resumed run (same plan, unfinished): entries left `sent` have an unknown outcome, so
   live is polled for them first; those that landed become `verified`, the others go back
   to `pending`. Nothing is resent blindly.
3. Send: each change is re-checked against live right before its write; the first one that
   went stale stops the apply there, and it and everything after it is journaled as not
   sent. The breaker may trip a listing at any moment (it never waits for this lock), so the
   tripped breakers are read again right before each write (or bulk batch): a change that
   would put a held listing back on sale is journaled as not sent, naming the incident, and
   the rest goes on (`_hold_tripped`). Every write is journaled `sent` before it goes out
   and `accepted` / `failed` after the answer. Above the backend's bulk threshold the batch
   goes through `write_bulk` (a feed), after the same checks of every listing in it.
   A write whose answer was lost (UNKNOWN: a 5xx, a timeout, a dropped connection, a feed
   whose outcome could not be had) may have been applied, so it is never sent again blindly:
   it stays `sent`, noted "answer lost", and once everything is sent live decides
   (`_settle_lost`): shown after the verification wait, it is `verified`; not shown after the
   whole wait (longer than Amazon takes to process a write), it is sent again, at most
   RESENDS times. The summary counts the lost answers, those found live, and the writes sent
   again (the only writes that could be duplicates).
   A change that raises a quantity from 0 and changes the price is written in two steps
   (engine.live.patches.price_then_quantity; in one patch Amazon can make the quantity live
   before the price, and buyers order at the old price): the price (with every other field)
   goes out with the rest, then live is watched until it shows the new price, then the
   quantity goes out, re-checked first like any write; above the bulk threshold, the prices
   are one feed and the quantities a second, sent once the first one's prices show. The
   entry stays `sent` through both, its journaled step saying which is out, so a resumed
   run sends the quantity only once live shows the price. A price live does not show within
   the verification wait leaves the quantity unsent (the entry fails: plan and apply again).
4. Verify: poll live until each accepted change shows, then record the last-applied values;
   what is still not visible after the bounded wait is reported as such.

When Amazon keeps failing a call after the backend's retries (engine.live.invoke), the run is
never left "running" and nothing crashes: a failed read right before a write stops sending
(what is left is journaled as not sent), what was sent is still settled and verified as far
as live can be read (what cannot be read is `not_visible`, for the re-check), the run is
finished, and the report carries Amazon's answer as one line (exit 1).

The caller's process may die at any point; the journal (engine.state.journal) always says
what is owed, and the account's apply lock is held for the whole apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx
import sqlalchemy as sa

from engine.apply.recheck import NOTHING_RECHECKED, RecheckReport, recheck
from engine.apply.stale import (
    EXIT_STALE,
    PlanStale,
    config_mismatch,
    identity_mismatch,
    stale_reasons,
)
from engine.apply.verify import (
    VERIFY_POLLING,
    Unreadable,
    Visibility,
    read_current,
    reflects,
    wait_until_visible,
)
from engine.config.model import Incident
from engine.core.changes import ResourceChange
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.resource import Resource
from engine.live.backend import Backend, WriteResult, issues_text
from engine.live.clients import SpApiError
from engine.live.documents import DocumentError, Polling
from engine.live.patches import price_then_quantity
from engine.live.throttle import Timer
from engine.plan.model import Plan, change_from_json, fingerprint
from engine.state import breakers as breaker_store
from engine.state import journal, last_applied
from engine.state.db import StateDB
from engine.state.journal import ANSWER_LOST, NOT_SENT, Change, Entry, Run
from engine.state.lock import ApplyLock, acquire
from engine.watch.breaker import held_back, restores_sale, unacknowledged

EXIT_FAILED = ExitCode.USER_ERROR  # a write Amazon refused, or Amazon kept failing
# How many times a write whose answer was lost is sent again, each time only after live was
# watched for the whole verification wait without showing it.
RESENDS = 2
RESENT = "sent again: the answer to an earlier send was lost and live did not show it"
QUANTITY_HELD = "the new price was written; the quantity was not sent, "
# A two-step write whose quantity a breaker tripped between the steps holds back.
PRICE_WRITTEN = "the quantity (the new price was written and stays live): "
PRICE_NOT_LIVE = (
    QUANTITY_HELD + "so the listing cannot sell at the old price: live did not show the new "
    "price within the verification wait. Plan and apply again once it shows"
)
# What Amazon can make a read or write fail with once the backend's retries ran out.
AMAZON_FAILURES = (SpApiError, httpx.TransportError, DocumentError)


class OtherRunUnfinished(UserError):
    """A run of a different plan is unfinished for the account; nothing was done."""

    exit_code = EXIT_STALE

    def __init__(self, run: Run, plan_digest: str):
        super().__init__(
            f"an apply of another plan did not finish for seller {run.seller_id} (run {run.id}, "
            f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, plan sha256 {run.plan_digest}); "
            f"this plan (sha256 {plan_digest}) was not applied. Finish that run first: "
            "`sync apply` the plan file it was started from resumes it and writes nothing "
            "twice; then plan again. If that file is lost, `sync apply --abandon "
            f"{run.id}` closes the run without writing anything"
        )


class RunFinishedMeanwhile(UserError):
    """`sync apply FILE` found this plan's run unfinished, and by the time it held the lock
    the run was finished (another process resumed it); nothing was written."""

    exit_code = EXIT_STALE

    def __init__(self, plan_digest: str):
        super().__init__(
            f"the unfinished apply of this plan (sha256 {plan_digest}) was finished by another "
            "process meanwhile; nothing was written. Run `sync plan` to see what is left"
        )


class Progress(Protocol):
    """Where the executor reports writes as they go (a progress bar, or nothing)."""

    def start(self, total: int) -> None: ...

    def advance(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an apply did, by address, from the journal of its run (all of it, when the
    run was resumed). `stopped` says why sending stopped early (a stale plan); `skipped`
    also holds the changes a breaker held back."""

    run_id: str | None
    resumed: bool
    applied: tuple[str, ...]  # verified live
    not_visible: tuple[str, ...]  # accepted, not yet visible after the bounded wait
    failed: tuple[tuple[str, str], ...]  # (address, Amazon's issues or the error)
    skipped: tuple[tuple[str, str], ...]  # (address, why it was not sent)
    stopped: str | None = None
    rechecked: RecheckReport = NOTHING_RECHECKED  # earlier runs' not-yet-visible changes
    gave_up: str | None = None  # Amazon kept failing: what it answered (one line)
    lost: LostAnswers | None = None  # writes whose answer was lost, and what became of them
    unconfirmed: tuple[str, ...] = ()  # of not_visible: answer lost, and live unreadable

    @property
    def exit_code(self) -> int:
        if self.gave_up is not None:  # Amazon kept failing: the plan is not all live
            return EXIT_FAILED
        if self.stopped is not None or self.skipped:  # the plan is not all live: plan again
            return EXIT_STALE
        return EXIT_FAILED if self.failed else 0


@dataclass(frozen=True, slots=True)
class LostAnswers:
    """Writes of this apply whose answer was lost: how many, how many live showed (never
    sent again), and how many were sent again after live did not show them. Only those
    could be duplicates: each was sent again after the whole verification wait, longer than
    Amazon takes to process a write, so a duplicate needs a write that landed later still."""

    lost: int
    found_live: int
    resent: int


@dataclass
class _Sending:
    """What sending found, for settling, verifying and the report."""

    accepted: list[Entry] = field(default_factory=list)
    lost: list[Entry] = field(default_factory=list)  # sent, answer lost: live decides
    priced: list[Entry] = field(default_factory=list)  # two steps: price out, quantity owed
    stopped: str | None = None  # a listing went stale
    gave_up: str | None = None  # Amazon kept failing: its answer
    answers_lost: int = 0
    found_live: int = 0
    resent: int = 0

    def lost_answers(self) -> LostAnswers | None:
        if not self.answers_lost:
            return None
        return LostAnswers(self.answers_lost, self.found_live, self.resent)


class Executor:
    """Applies plans to one backend, journaling in `db`. `now` stamps the journal; `timer`
    sleeps between verification polls (tests pass one that moves a virtual clock);
    `after_write` runs after each write is answered, before the answer is journaled (the
    resume tests kill the process there: tests/apply/killed_apply.py); `incidents` are the
    config's acknowledgements, which release tripped breakers as they do for the plan;
    `notice` is told, as it happens, of a lock taken over from a holder that was gone
    (engine.state.lock)."""

    def __init__(
        self,
        backend: Backend,
        db: StateDB,
        *,
        now: Callable[[], datetime],
        timer: Timer,
        holder: str,
        polling: Polling = VERIFY_POLLING,
        progress: Progress | None = None,
        after_write: Callable[[], None] | None = None,
        incidents: Sequence[Incident] = (),
        notice: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.backend = backend
        self.db = db
        self.seller_id = backend.identity.seller_id
        self._now = now
        self._timer = timer
        self._holder = holder
        self._polling = polling
        self._progress = progress or NoProgress()
        self._after_write = after_write or (lambda: None)
        self._incidents = incidents
        self._notice = notice

    def apply(
        self, plan: Plan, plan_digest: str, config_digest: str, *, resume_only: bool = False
    ) -> ApplyReport:
        """Apply `plan` (whose file hashes to `plan_digest`) under the account's apply lock,
        released whatever happens. Raises LockHeld, PlanStale or OtherRunUnfinished (exit 4,
        nothing written). A resumed run takes its changes from the journal, where they were
        written when the run started (after `sync apply` checked the file against a fresh
        plan), not from `plan`; `resume_only` says `plan` was not checked that way, so no new
        run may start from it."""
        lock = self._lock("apply")
        try:
            rechecked = recheck(self.backend, self.db, self.seller_id, self._now())
            report = self._apply(plan, plan_digest, config_digest, resume_only)
            return replace(report, rechecked=rechecked)
        finally:
            lock.release()

    def recheck(self) -> RecheckReport:
        """Only the re-check of earlier not-yet-visible changes, under the apply lock (so
        that no apply re-checks them at the same time); nothing is written to Amazon."""
        with self._lock("recheck"):
            return recheck(self.backend, self.db, self.seller_id, self._now())

    def _lock(self, operation: str) -> ApplyLock:
        lock = acquire(self.db, self.seller_id, self._holder, operation, self._now())
        if lock.took_over is not None:
            self._notice(lock.took_over.line())
        return lock

    def _apply(
        self, plan: Plan, plan_digest: str, config_digest: str, resume_only: bool
    ) -> ApplyReport:
        wrong_account = identity_mismatch(plan, self.backend.identity)
        if wrong_account is not None:
            raise PlanStale([wrong_account])
        with self.db.read() as conn:
            point = journal.resume_point(conn, self.seller_id)
            owed = [] if point is None else journal.entries(conn, point.run.id)
        if point is not None and point.run.plan_digest != plan_digest:
            raise OtherRunUnfinished(point.run, plan_digest)
        stopped = config_mismatch(plan, config_digest)
        if point is None:
            if resume_only:
                raise RunFinishedMeanwhile(plan_digest)
            changes = {change.address: change for change in plan.changes}
            fingerprints = plan.live_fingerprints
            if stopped is not None:
                raise PlanStale([stopped])
            just_read = read_current(self.backend, changes, changes)
            drifted = stale_reasons(fingerprints, just_read)
            if drifted:
                raise PlanStale(drifted)
            if not changes:
                return ApplyReport(None, False, (), (), (), ())
            run, to_send = self._start(plan, plan_digest)
            to_verify: list[Entry] = []
        else:
            run = point.run
            changes = {e.address: change_from_json(e.payload) for e in owed}
            fingerprints = {e.address: e.payload["live_fingerprint"] for e in owed}
            to_send = sorted(
                [*point.to_send, *self._settle_unknown(changes, point.outcome_unknown)],
                key=lambda e: e.seq,
            )
            to_verify = list(point.to_verify)
            just_read = {}
            if not to_send:
                stopped = None  # nothing is left to send, so nothing is held back
        sending = _Sending(stopped=stopped)
        if stopped is None:
            self._progress.start(len(to_send))
            self._send(fingerprints, changes, to_send, sending, just_read=just_read)
            self._settle_lost(fingerprints, changes, sending)
            to_verify += sending.accepted
        else:
            self._skip(to_send, stopped)
        self._verify(changes, to_verify, sending)
        with self.db.write() as conn:
            journal.finish_run(conn, run.id, self._now())
            return _report(run.id, point is not None, journal.entries(conn, run.id), sending)

    # -- steps ------------------------------------------------------------------------------
    def _start(self, plan: Plan, plan_digest: str) -> tuple[Run, list[Entry]]:
        payloads = plan.to_json()["resource_changes"]
        with self.db.write() as conn:
            run = journal.start_run(
                conn,
                self.seller_id,
                plan_digest,
                [
                    Change(c.address, c.action, payload)
                    for c, payload in zip(plan.changes, payloads, strict=True)
                ],
                self._now(),
            )
            return run, journal.entries(conn, run.id)

    def _settle_unknown(
        self, changes: Mapping[str, ResourceChange], unknown: Sequence[Entry]
    ) -> list[Entry]:
        """Entries left `sent` by a killed apply: verified when live shows them (after the
        usual wait: the write may still be processing), else back to pending, returned."""
        if not unknown:
            return []
        # A two-step write killed in its price step cannot show the whole change (its
        # quantity was never sent): it goes back to pending at once, and sending sees
        # whether live shows the price already.
        priced = [e for e in unknown if e.step == "price"]
        unknown = [e for e in unknown if e.step != "price"]
        seen = wait_until_visible(
            self.backend, changes, [e.address for e in unknown], self._timer, self._polling
        )
        again = []
        with self.db.write() as conn:
            again += [self._move(conn, entry, "pending") for entry in priced]
            for entry in unknown:
                if entry.address in seen.visible:
                    self._done(conn, entry, changes[entry.address], "verified")
                else:
                    again.append(self._move(conn, entry, "pending"))
        return again

    def _send(
        self,
        fingerprints: Mapping[str, str],
        changes: Mapping[str, ResourceChange],
        pending: Sequence[Entry],
        sending: _Sending,
        *,
        just_read: Mapping[str, Resource | Unreadable | None] | None = None,
    ) -> None:
        """Write `pending` (re-checked against live first), adding what became of each to
        `sending`. Stops at the first listing gone stale, or when the re-check read kept
        failing; what is left is journaled as not sent. `just_read`: live as the pre-check
        read it a moment ago, with nothing written since; the first batch uses it instead of
        reading the same listings again (a bulk apply's feed is that whole round). The
        quantities of two-step writes go out last (`_send_quantities`)."""
        bulk = len(pending) >= self.backend.bulk_threshold
        self._send_first(fingerprints, changes, pending, sending, bulk, just_read or {})
        self._send_quantities(changes, sending, bulk=bulk)

    def _send_first(
        self,
        fingerprints: Mapping[str, str],
        changes: Mapping[str, ResourceChange],
        pending: Sequence[Entry],
        sending: _Sending,
        bulk: bool,
        just_read: Mapping[str, Resource | Unreadable | None],
    ) -> None:
        """Every write of `pending`, the price step of two-step writes included."""
        # Live is looked at again right before each write: the whole feed's listings at once
        # (read 20 a call) before a bulk write, else the one listing before its own write.
        batches = [pending] if bulk else [[e] for e in pending]
        for done, batch in enumerate(batches):
            rest = [e for later in batches[done:] for e in later]
            addresses = [e.address for e in batch]
            try:
                if done == 0 and just_read and all(a in just_read for a in addresses):
                    current = {a: just_read[a] for a in addresses}
                else:
                    current = read_current(self.backend, changes, addresses)
            except AMAZON_FAILURES as err:
                sending.gave_up = _one_line(err)
                self._skip(rest, f"the run stopped before this write: {_short(err)}")
                return
            first_steps, priced_live = _first_steps(changes, batch, current)
            expected = {
                a: fingerprint(first_steps[a].after) if a in priced_live else fingerprints[a]
                for a in addresses
            }
            drifted = stale_reasons(expected, current)
            if drifted:
                sending.stopped = drifted[0]
                self._skip(rest, sending.stopped)
                return
            batch = self._hold_tripped(changes, batch)
            if batch:
                self._write(
                    changes,
                    batch,
                    sending,
                    bulk=bulk,
                    first_steps=first_steps,
                    priced_live=priced_live,
                )

    def _send_quantities(
        self, changes: Mapping[str, ResourceChange], sending: _Sending, *, bulk: bool
    ) -> None:
        """The second step of two-step writes: once live shows each new price, the quantity
        (journaled step `quantity` first), re-checked against live like any write. A price
        live does not show within the wait, or a run that stopped, leaves the quantity
        unsent: the entry fails."""
        priced, sending.priced = sending.priced, []
        if not priced:
            return
        steps = {e.address: _two_steps(changes[e.address]) for e in priced}
        prices = {a: price for a, (price, _) in steps.items()}
        if sending.gave_up is not None:
            self._fail(priced, f"{QUANTITY_HELD}the run stopped first: {sending.gave_up}")
            return
        try:
            seen = wait_until_visible(
                self.backend, prices, list(prices), self._timer, self._polling
            )
            shown = [e for e in priced if e.address in seen.visible]
            current = read_current(self.backend, prices, [e.address for e in shown])
        except AMAZON_FAILURES as err:
            sending.gave_up = sending.gave_up or _one_line(err)
            self._fail(priced, f"{QUANTITY_HELD}the run stopped first: {_short(err)}")
            return
        self._fail([e for e in priced if e.address not in seen.visible], PRICE_NOT_LIVE)
        drifted = {
            e.address: reason
            for e in shown
            for reason in stale_reasons(
                {e.address: fingerprint(prices[e.address].after)},
                {e.address: current[e.address]},
            )
        }
        for entry in shown:
            if entry.address in drifted:
                sending.stopped = sending.stopped or drifted[entry.address]
                self._fail([entry], QUANTITY_HELD + drifted[entry.address])
        ready = self._hold_tripped(
            changes, [e for e in shown if e.address not in drifted], second_step=True
        )
        if ready:
            quantities = {a: quantity for a, (_, quantity) in steps.items()}
            self._write(quantities, ready, sending, bulk=bulk, second_step=True)

    def _settle_lost(
        self,
        fingerprints: Mapping[str, str],
        changes: Mapping[str, ResourceChange],
        sending: _Sending,
    ) -> None:
        """Let live decide the writes whose answer was lost. Watched for the whole
        verification wait: those that show are `verified` (never sent again); those that do
        not are sent again (re-checked first, like any write), at most RESENDS times; after
        that, or when the run has stopped, they are `failed`: not live, and not sent again."""
        resends = 0
        while sending.lost:
            lost, sending.lost = sending.lost, []
            addresses = [e.address for e in lost]
            try:
                seen = wait_until_visible(
                    self.backend, changes, addresses, self._timer, self._polling
                )
            except AMAZON_FAILURES as err:
                sending.gave_up = sending.gave_up or _one_line(err)
                with self.db.write() as conn:  # might have landed: the re-check follows up
                    for entry in lost:
                        self._done(conn, entry, changes[entry.address], "not_visible")
                return
            halted = sending.stopped is not None or sending.gave_up is not None
            missing = []
            with self.db.write() as conn:
                for entry in lost:
                    if entry.address in seen.visible:
                        self._done(conn, entry, changes[entry.address], "verified")
                        sending.found_live += 1
                    elif resends < RESENDS and not halted:
                        missing.append(self._move(conn, entry, "pending", error=RESENT))
                    else:
                        why = "the run stopped" if halted else f"it was sent {resends + 1} times"
                        self._move(
                            conn,
                            entry,
                            "failed",
                            error=f"{ANSWER_LOST}Amazon's answer to the write was lost and live "
                            f"does not show the change after the wait; not sent again: {why}",
                        )
            if missing:
                resends += 1
                sending.resent += len(missing)
                self._send(fingerprints, changes, missing, sending)

    def _hold_tripped(
        self,
        changes: Mapping[str, ResourceChange],
        batch: Sequence[Entry],
        *,
        second_step: bool = False,
    ) -> list[Entry]:
        """The entries of `batch` that may be written now. A change that would put a listing
        held by a tripped, unacknowledged breaker back on sale is journaled as not sent,
        naming the incident. One state-store read per batch, right before its write.
        `second_step`: the quantities of two-step writes, whose new price is written already
        (and stays: the report says so)."""
        with self.db.read() as conn:
            holding = unacknowledged(breaker_store.tripped(conn, self.seller_id), self._incidents)
        held = {
            e.address: holding[e.address]
            for e in batch
            if e.address in holding and restores_sale(changes[e.address])
        }
        if not held:
            return list(batch)
        with self.db.write() as conn:
            for entry in batch:
                if entry.address in held:
                    written = PRICE_WRITTEN if second_step else ""
                    self._move(
                        conn,
                        entry,
                        "failed",
                        error=NOT_SENT + written + held_back(held[entry.address]),
                    )
                    self._progress.advance()
        return [e for e in batch if e.address not in held]

    def _write(
        self,
        changes: Mapping[str, ResourceChange],
        batch: Sequence[Entry],
        sending: _Sending,
        *,
        bulk: bool,
        first_steps: Mapping[str, ResourceChange] | None = None,
        priced_live: frozenset[str] = frozenset(),
        second_step: bool = False,
    ) -> None:
        """Journal `batch` sent, write it, journal each answer. `first_steps`: the price
        steps to write instead of the whole change of two-step writes (those in
        `priced_live`, whose price live shows already, are not written again); they stay
        `sent` when accepted, their quantity owed (`sending.priced`). `second_step`: the
        entries are `sent` already, and `changes` holds their quantity steps."""
        first_steps = first_steps or {}
        with self.db.write() as conn:
            if second_step:
                sent = [self._step(conn, entry, "quantity") for entry in batch]
            else:
                sent = [
                    self._move(
                        conn, entry, "sent", step="price" if entry.address in first_steps else None
                    )
                    for entry in batch
                ]
        sending.priced += [e for e in sent if e.address in priced_live]
        sent = [e for e in sent if e.address not in priced_live]
        batch_changes = [first_steps.get(e.address) or changes[e.address] for e in sent]
        if not batch_changes:
            results = []
        elif bulk:
            results = self.backend.write_bulk(batch_changes)
        else:
            results = [self.backend.write(change) for change in batch_changes]
        for entry, result in zip(sent, results, strict=True):
            self._after_write()
            if entry.address in first_steps and result.status == "ACCEPTED":
                sending.priced.append(entry)  # stays `sent`, step `price`: quantity owed
                self._progress.advance()
                continue
            with self.db.write() as conn:
                outcome = self._record(conn, entry, result)
            if outcome.state == "accepted":
                sending.accepted.append(outcome)
            elif outcome.state == "sent":
                sending.lost.append(outcome)
                sending.answers_lost += 1
            self._progress.advance()

    def _record(self, conn: sa.Connection, entry: Entry, result: WriteResult) -> Entry:
        if result.status == "UNKNOWN":
            return journal.note_lost_answer(
                conn,
                entry.run_id,
                entry.seq,
                issues_text(result.issues) or "no details given",
                self._now(),
            )
        if result.status == "ACCEPTED":
            return self._move(
                conn,
                entry,
                "accepted",
                submission_id=result.submission_id,
                request_id=result.request_id,
            )
        return self._move(
            conn, entry, "failed", request_id=result.request_id, error=_write_error(result)
        )

    def _skip(self, entries: Sequence[Entry], why: str) -> None:
        self._fail(entries, NOT_SENT + why)

    def _fail(self, entries: Sequence[Entry], error: str) -> None:
        if not entries:
            return
        with self.db.write() as conn:
            for entry in entries:
                self._move(conn, entry, "failed", error=error)

    def _verify(
        self, changes: Mapping[str, ResourceChange], entries: Sequence[Entry], sending: _Sending
    ) -> None:
        """Poll live for the accepted entries; what cannot be read (Amazon kept failing) is
        `not_visible`, which the re-check follows up."""
        if not entries:
            return
        addresses = [e.address for e in entries]
        try:
            seen = wait_until_visible(self.backend, changes, addresses, self._timer, self._polling)
        except AMAZON_FAILURES as err:
            sending.gave_up = sending.gave_up or _one_line(err)
            seen = Visibility(frozenset(), frozenset(addresses))
        with self.db.write() as conn:
            for entry in entries:
                if entry.address in seen.visible:
                    self._done(conn, entry, changes[entry.address], "verified")
                elif entry.state == "accepted":
                    self._done(conn, entry, changes[entry.address], "not_visible")

    def _done(
        self,
        conn: sa.Connection,
        entry: Entry,
        change: ResourceChange,
        state: Literal["verified", "not_visible"],
    ) -> None:
        """Close an entry Amazon took, and remember what was applied."""
        close_accepted(conn, self.seller_id, entry, change, state, self._now())

    def _move(
        self, conn: sa.Connection, entry: Entry, to: journal.EntryState, **outcome: Any
    ) -> Entry:
        return journal.transition(conn, entry.run_id, entry.seq, to, self._now(), **outcome)

    def _step(self, conn: sa.Connection, entry: Entry, step: journal.WriteStep) -> Entry:
        return journal.set_step(conn, entry.run_id, entry.seq, step, self._now())


def close_accepted(
    conn: sa.Connection,
    seller_id: str,
    entry: Entry,
    change: ResourceChange,
    state: Literal["verified", "not_visible"],
    now: datetime,
) -> Entry:
    """Move an entry Amazon took (or that live shows) to `state` and remember the values it
    applied, in the caller's transaction. Not-yet-visible changes are remembered too:
    sellersync wrote them, so when they land later the next plan must not mistake them for
    drift. A delete forgets the listing's values."""
    closed = journal.transition(conn, entry.run_id, entry.seq, state, now)
    if change.after is None:
        last_applied.forget(conn, seller_id, change.address)
    else:
        last_applied.record(conn, seller_id, change.after, now)
    return closed


def _two_steps(change: ResourceChange) -> tuple[ResourceChange, ResourceChange]:
    steps = price_then_quantity(change)
    if steps is None:
        raise ValueError(f"{change.address}: not a two-step write")
    return steps


def _first_steps(
    changes: Mapping[str, ResourceChange],
    batch: Sequence[Entry],
    current: Mapping[str, Resource | Unreadable | None],
) -> tuple[dict[str, ResourceChange], frozenset[str]]:
    """The price steps of the two-step writes in `batch`, by address, and those of them
    live shows already (an earlier send's price landed): their price is not written again."""
    first: dict[str, ResourceChange] = {}
    for entry in batch:
        steps = price_then_quantity(changes[entry.address])
        if steps is not None:
            first[entry.address] = steps[0]
    live_now = frozenset(
        a
        for a, price in first.items()
        if not isinstance(current.get(a), Unreadable) and reflects(price, current.get(a))  # type: ignore[arg-type]
    )
    return first, live_now


def _write_error(result: WriteResult) -> str:
    return f"{result.status}: {issues_text(result.issues) or 'no details given'}"


def _one_line(err: Exception) -> str:
    """What Amazon answered, as the one line a UserError shows."""
    lines = err.lines() if isinstance(err, UserError) else [str(err)]
    return " ".join(" ".join(lines).split())


def _short(err: Exception) -> str:
    """The call that failed and how, for the note on every change a stop left unsent."""
    operation = getattr(err, "operation", None) or "a read"
    where = getattr(err, "marketplace", None)
    call = operation + (f" for {where}" if where else "")
    if isinstance(err, SpApiError):
        return f"Amazon kept answering {call} with HTTP {err.status} {err.code}"
    if isinstance(err, httpx.TransportError):
        return f"no answer from Amazon to {call}"
    return " ".join(str(err).split())


def _report(run_id: str, resumed: bool, entries: Sequence[Entry], sending: _Sending) -> ApplyReport:
    by_state: dict[str, list[Entry]] = {}
    for entry in entries:
        by_state.setdefault(entry.state, []).append(entry)
    failed = by_state.get("failed", [])
    not_visible = by_state.get("not_visible", [])
    return ApplyReport(
        run_id=run_id,
        resumed=resumed,
        applied=tuple(e.address for e in by_state.get("verified", [])),
        not_visible=tuple(e.address for e in not_visible),
        failed=tuple(
            (e.address, e.error or "") for e in failed if not (e.error or "").startswith(NOT_SENT)
        ),
        skipped=tuple(
            (e.address, (e.error or "")[len(NOT_SENT) :])
            for e in failed
            if (e.error or "").startswith(NOT_SENT)
        ),
        stopped=sending.stopped,
        gave_up=sending.gave_up,
        lost=sending.lost_answers(),
        unconfirmed=tuple(
            e.address for e in not_visible if (e.error or "").startswith(ANSWER_LOST)
        ),
    )
