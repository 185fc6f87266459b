"""`sync status`: the KPIs of a seller account, from the state store and the snapshot cache.

- sync success rate (target >= 99.5 %): changes that apply (or the breaker) finished in the
  window that went through (verified, accepted, accepted but not yet visible) / all finished
  ones (those, failed ones, and those an abandoned run left with an unknown outcome).
  Pending and sent changes are not finished and do not count either way;
- changes not yet visible: accepted by Amazon, not seen live yet, of any age (the re-check,
  engine.apply.recheck, settles them);
- API success rate: SP-API attempts answered with a status below 500 other than 429 / all
  attempts in the window (a throttled or failed attempt counts even when its retry worked:
  it is the error rate the account sees);
- API latency p50 / p95 per operation (target p95 <= 800 ms), nearest-rank percentiles;
- inventory deviation (target <= 0.5 %), from the last cached live snapshot;
- the last run and last success of each activity (plan, apply, watch, pull, ...), from the
  heartbeats; apply also from its own runs table (apply runs only: a breaker write made
  while an apply is unfinished is no apply).
Pure where it matters: `figures` takes rows and `now`; `gather` only reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.state import api_calls, heartbeats
from engine.state.api_calls import ApiCall
from engine.state.db import StateDB
from engine.state.heartbeats import Heartbeat
from engine.state.tables import apply_runs, journal_entries

WINDOW = timedelta(days=7)
SYNC_SUCCESS_TARGET_PCT = Decimal("99.5")
LATENCY_P95_TARGET_MS = 800
DEVIATION_TARGET_PCT = Decimal("0.5")
ACTIVITIES = ("plan", "apply", "watch", "pull")
SUCCEEDED_STATES = ("verified", "accepted", "not_visible")
FINISHED_STATES = (*SUCCEEDED_STATES, "failed", "unknown")
PERCENT_QUANTUM = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Latency:
    operation: str
    calls: int
    p50_ms: int
    p95_ms: int


@dataclass(frozen=True, slots=True)
class StatusFigures:
    window_start: datetime
    now: datetime
    sync_success_rate_pct: Decimal | None
    changes_finished: int
    api_success_rate_pct: Decimal | None
    api_calls: int
    latency: tuple[Latency, ...]
    inventory_deviation_pct: Decimal | None
    last_success: Mapping[str, datetime | None] = field(default_factory=dict)
    last_run_ok: Mapping[str, bool | None] = field(default_factory=dict)
    not_visible: int = 0  # changes accepted and not yet seen live, whatever their age

    @property
    def breaches(self) -> list[str]:
        """Targets missed; unknown figures are not breaches."""
        out = []
        rate = self.sync_success_rate_pct
        if rate is not None and rate < SYNC_SUCCESS_TARGET_PCT:
            out.append(f"sync success rate {rate}% is below {SYNC_SUCCESS_TARGET_PCT}%")
        out += [
            f"{lat.operation} p95 latency {lat.p95_ms} ms is above {LATENCY_P95_TARGET_MS} ms"
            for lat in self.latency
            if lat.p95_ms > LATENCY_P95_TARGET_MS
        ]
        dev = self.inventory_deviation_pct
        if dev is not None and dev > DEVIATION_TARGET_PCT:
            out.append(f"inventory deviation {dev}% is above {DEVIATION_TARGET_PCT}%")
        return out

    def to_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else f"{value:f}"

        return {
            "window_start": self.window_start.isoformat(),
            "now": self.now.isoformat(),
            "sync_success_rate_pct": text(self.sync_success_rate_pct),
            "changes_finished": self.changes_finished,
            "api_success_rate_pct": text(self.api_success_rate_pct),
            "api_calls": self.api_calls,
            "latency": [
                {"operation": x.operation, "calls": x.calls, "p50_ms": x.p50_ms, "p95_ms": x.p95_ms}
                for x in self.latency
            ],
            "inventory_deviation_pct": text(self.inventory_deviation_pct),
            "last_success": {
                k: None if v is None else v.isoformat() for k, v in self.last_success.items()
            },
            "last_run_ok": dict(self.last_run_ok),
            "changes_not_visible": self.not_visible,
            "breaches": self.breaches,
        }


def percentile(values: Sequence[int], share: float) -> int:
    """Nearest-rank percentile of `values` (not empty): the smallest value with at least
    `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _rate(good: int, total: int) -> Decimal | None:
    return None if not total else (Decimal(100) * good / total).quantize(PERCENT_QUANTUM)


def api_ok(status: int) -> bool:
    return 0 < status < 500 and status != 429


def figures(
    now: datetime,
    change_states: Iterable[str],
    calls: Iterable[ApiCall],
    beats: Mapping[str, Heartbeat],
    last_apply: datetime | None,
    deviation_pct: Decimal | None,
    window: timedelta = WINDOW,
    not_visible: int = 0,
) -> StatusFigures:
    """The KPIs from rows already limited to the window (pure); `not_visible` is not
    windowed: a change stays not visible until the re-check settles it."""
    states = list(change_states)
    calls = list(calls)
    by_operation: dict[str, list[int]] = {}
    for call in calls:
        by_operation.setdefault(call.operation, []).append(call.latency_ms)
    latency = tuple(
        Latency(op, len(ms), percentile(ms, 0.50), percentile(ms, 0.95))
        for op, ms in sorted(by_operation.items())
    )
    last_success: dict[str, datetime | None] = {}
    last_ok: dict[str, bool | None] = {}
    for activity in sorted({*ACTIVITIES, *beats}):
        beat = beats.get(activity)
        last_success[activity] = None if beat is None else beat.last_success_at
        last_ok[activity] = None if beat is None else beat.last_ok
    if last_apply is not None:
        known = last_success.get("apply")
        last_success["apply"] = last_apply if known is None else max(known, last_apply)
    return StatusFigures(
        window_start=now - window,
        now=now,
        sync_success_rate_pct=_rate(sum(s in SUCCEEDED_STATES for s in states), len(states)),
        changes_finished=len(states),
        api_success_rate_pct=_rate(sum(api_ok(c.status) for c in calls), len(calls)),
        api_calls=len(calls),
        latency=latency,
        inventory_deviation_pct=deviation_pct,
        last_success=last_success,
        last_run_ok=last_ok,
        not_visible=not_visible,
    )


def gather(
    db: StateDB,
    seller_id: str,
    now: datetime,
    deviation_pct: Decimal | None,
    window: timedelta = WINDOW,
) -> StatusFigures:
    """Read the window's rows from the store and compute the figures."""
    start = now - window
    with db.read() as conn:
        states = conn.execute(
            sa.select(journal_entries.c.state).where(
                journal_entries.c.seller_id == seller_id,
                journal_entries.c.updated_at >= start,
                journal_entries.c.state.in_(FINISHED_STATES),
            )
        ).scalars()
        change_states = list(states)
        not_visible = conn.execute(
            sa.select(sa.func.count()).where(
                journal_entries.c.seller_id == seller_id,
                journal_entries.c.state == "not_visible",
            )
        ).scalar_one()
        calls = api_calls.since(conn, seller_id, start)
        beats = heartbeats.all_beats(conn, seller_id)
        last_apply = conn.execute(
            sa.select(sa.func.max(apply_runs.c.finished_at)).where(
                apply_runs.c.seller_id == seller_id,
                apply_runs.c.kind == "apply",  # not a breaker's or an incident's run
                apply_runs.c.status == "succeeded",
            )
        ).scalar_one_or_none()
    return figures(now, change_states, calls, beats, last_apply, deviation_pct, window, not_visible)
