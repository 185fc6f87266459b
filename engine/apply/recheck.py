"""Following up changes that Amazon accepted but that were not live when their apply ended.

Apply waits about five minutes (engine.apply.verify) for each accepted write to show live.
What has not shown by then is journaled `not_visible` and the run ends, but Amazon may still
process it (it can take hours) or refuse it later: a listing issue, or live simply never
taking the value. The re-check looks again at the start of every apply, under its lock, and
on its own with `sync apply --recheck`. Each entry of a finished run still `not_visible` is
judged by `judge`, pure (the entry, the listing as live shows it, now):

- live shows every field the change set: `verified`, and its last-applied values stay;
- not yet, and less than VISIBILITY_DEADLINE has passed since apply stopped waiting for it:
  it stays `not_visible` and is looked at again next time;
- still not after the deadline: `failed`, with what live shows instead and any issue Amazon
  reports on the listing. Its last-applied values are withdrawn, so that drift detection
  does not take the value that never landed for ours and blame Seller Central.

A listing issue does not fail an entry before the deadline: it may predate the write (a
price correction meant to clear a suppressed offer shows the old issue until it lands).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from engine.apply.verify import reflects
from engine.core.changes import ResourceChange
from engine.core.resource import Resource, address
from engine.live.backend import Backend, LiveListing, issues_text
from engine.plan.model import change_from_json
from engine.plan.text import field_text
from engine.state import journal, last_applied
from engine.state.db import StateDB
from engine.state.journal import Entry

# How long after apply stopped waiting (about five minutes after Amazon accepted the write)
# a change may still land. Amazon processes nearly every listing write within minutes and
# the slowest within hours; a day covers both with margin and is still soon enough to act.
VISIBILITY_DEADLINE = timedelta(hours=24)

Outcome = Literal["verified", "not_visible", "failed"]


@dataclass(frozen=True, slots=True)
class Recheck:
    """What one re-check found for a not-yet-visible entry; `reason` says why it failed."""

    entry: Entry
    outcome: Outcome
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecheckReport:
    """Every not-yet-visible change of earlier runs looked at, by what became of it."""

    checked: tuple[Recheck, ...] = ()

    def _with(self, outcome: Outcome) -> tuple[Recheck, ...]:
        return tuple(r for r in self.checked if r.outcome == outcome)

    @property
    def verified(self) -> tuple[Recheck, ...]:
        return self._with("verified")

    @property
    def failed(self) -> tuple[Recheck, ...]:
        return self._with("failed")

    @property
    def still_not_visible(self) -> tuple[Recheck, ...]:
        return self._with("not_visible")


NOTHING_RECHECKED = RecheckReport()


def judge(
    entry: Entry,
    live: LiveListing | None,
    now: datetime,
    deadline: timedelta = VISIBILITY_DEADLINE,
    *,
    unreadable: str | None = None,
) -> Recheck:
    """What a `not_visible` entry becomes, given its listing as live shows it now (None: no
    such listing), or `unreadable`: why live could not be read as a listing (an offer taken
    down, say), which shows nothing. The deadline counts from the entry's last update, when
    apply stopped waiting for it."""
    change = change_from_json(entry.payload)
    if unreadable is None and reflects(change, live.resource if live is not None else None):
        return Recheck(entry, "verified")
    if now - entry.updated_at < deadline:
        return Recheck(entry, "not_visible")
    hours = int(deadline.total_seconds() // 3600)
    waited = f"not live {hours} h after apply stopped waiting for it"
    if unreadable is not None:
        return Recheck(entry, "failed", f"{waited}: live cannot be read as a listing: {unreadable}")
    return Recheck(entry, "failed", f"{waited}: {_what_live_shows(change, live)}")


def recheck(backend: Backend, db: StateDB, seller_id: str, now: datetime) -> RecheckReport:
    """Judge every not-yet-visible entry of the account's finished runs against live (20
    listings a read, as verification reads them: a bulk apply can leave thousands; nothing
    written to Amazon) and journal what changed. The caller holds the account's apply
    lock."""
    with db.read() as conn:
        waiting = journal.not_visible_entries(conn, seller_id)
    checked = _judge_live(backend, waiting, now)
    with db.write() as conn:
        for found in checked:
            entry = found.entry
            if found.outcome == "not_visible":
                continue
            journal.transition(
                conn, entry.run_id, entry.seq, found.outcome, now, error=found.reason
            )
            if found.outcome == "failed" and (after := entry.payload["change"]["after"]):
                last_applied.withdraw(conn, seller_id, Resource.from_dict(after))
    return RecheckReport(tuple(checked))


def _judge_live(backend: Backend, entries: Sequence[Entry], now: datetime) -> list[Recheck]:
    by_marketplace: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_marketplace[entry.payload["marketplace"]].append(entry)
    judged: dict[tuple[str, int], Recheck] = {}  # by (run id, seq)
    for marketplace, group in by_marketplace.items():
        found, unreadable = backend.read_details(marketplace, [e.payload["sku"] for e in group])
        for entry in group:
            sku = entry.payload["sku"]
            why = unreadable.get(address(marketplace, sku))
            if why is not None:
                judged[(entry.run_id, entry.seq)] = judge(entry, None, now, unreadable=why)
            else:
                judged[(entry.run_id, entry.seq)] = judge(entry, found.get(sku), now)
    return [judged[(entry.run_id, entry.seq)] for entry in entries]


def _what_live_shows(change: ResourceChange, live: LiveListing | None) -> str:
    if change.action == "delete":
        return "the listing is still live"
    if live is None:
        return "the listing does not exist live"
    currency = live.resource.currency
    shown = "; ".join(
        f"{f.field} is {field_text(getattr(live.resource, f.field), f.field, currency)} live, "
        f"not {field_text(f.after, f.field, currency)}"
        for f in change.fields
        if getattr(live.resource, f.field) != f.after
    )
    return f"{shown}{_issues(live.issues)}"


def _issues(issues: Iterable[Mapping[str, Any]]) -> str:
    errors = issues_text(issue for issue in issues if issue.get("severity") == "ERROR")
    return f"; Amazon reports {errors}" if errors else ""
