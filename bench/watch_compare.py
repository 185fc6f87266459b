"""Orders leaked by a runaway promotion: follow-mode watchdog, 15-minute cron, or neither.

    .venv/bin/python bench/watch_compare.py             # seeds 1..5, amazon timing, 2 workers

On the sandbox seeded from config/, with the `amazon` timing profile (listing writes show
after 1 to 15 minutes, notifications reach the queue after 1 to 5, some twice and out of
order; engine.sandbox.timing): the incident of bench/night.py (a 99 %-off code on the US
headphones at 22:00, the story's 300 MFN units, ten hours of buyers placed minute by minute)
under two demand profiles:

- incident: the night's buyers (a 99 % discount sells 400 times the base rate, the cap of
  engine.sandbox.demand), about 300 orders over the night;
- spike: the code shared on a deal site, five times as many buyers (the cap raised to 2000).

Each runs with the follow-mode watchdog (`sync watch --follow`'s Follower on the sandbox's
SQS, drained every simulated minute), with a watch pass every 15 minutes (the cron), and
with neither. Per cell, the median over the seeds of: orders and units sold under the code,
minutes from the first such order to the first breaker write, and minutes from it to the
last such order (when the listings stopped selling: breaker write visible, or stock gone).

Then the false-trip week: seven simulated days of normal demand with the declared
promotions only, followed by the follower and by a cron pass every 15 minutes; trips counted
(the goal is none).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from night import PROMOTION_ID, open_demo_sandbox, sandbox_backend, start_incident
from sp_api.auth import access_token_client
from watch_night import NoWaitTimer

from engine.config import load_config
from engine.desired.render import render
from engine.sandbox.demand import MAX_LIFT
from engine.sandbox.scenario import INCIDENT_HOURS
from engine.sandbox.simulation import simulate
from engine.sandbox.timing import AMAZON
from engine.state import breakers as breaker_store
from engine.state.db import open_sqlite
from engine.watch.follow import Follower, FollowSettings, SellerAccount
from engine.watch.run import watch_once

CONFIG = Path(__file__).resolve().parents[1] / "config"
START = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
CRON = timedelta(minutes=15)
DEMANDS = {"incident": MAX_LIFT, "spike": MAX_LIFT * 5}
MODES = ("follow", "cron", "none")
WEEK = timedelta(days=7)
WEEK_STEP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Outcome:
    orders: int
    units: int
    to_write: float | None  # minutes, first runaway order -> first breaker write
    to_stop: float | None  # minutes, first runaway order -> last runaway order


class VirtualMonotonic:
    """The follower's monotonic clock on the sandbox's virtual time (its fallback timing)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._start = now()

    def __call__(self) -> float:
        return (self._now() - self._start).total_seconds()


class Watched:
    """One sandbox with the demo seller, its backend and state store, and a watchdog."""

    def __init__(self, workdir: Path, seed: int, mode: str) -> None:
        access_token_client.cache.clear()  # each sandbox issues its own tokens
        config_dir = workdir / "config"
        shutil.copytree(CONFIG, config_dir)
        self.config = load_config(config_dir)
        self.box = open_demo_sandbox(self.config, START, timing=AMAZON, timing_seed=seed)
        self.backend = sandbox_backend(self.config, self.box, NoWaitTimer())
        self.db = open_sqlite(self.config.state_dir)
        self.mode = mode
        self.follower: Follower | None = None
        self.passes_at: datetime | None = None
        if mode == "follow":
            url = self.box.subscribe_local_queue()
            account = SellerAccount(self.config, self.backend, self.db)
            self.follower = Follower(
                {account.seller_id: account},
                self.box.sqs.client(),
                url,
                settings=FollowSettings(wait_seconds=0, retry_delay_seconds=0),
                monotonic=VirtualMonotonic(self.box.clock.now),
            )
            self.follower.fallback()  # as at start
        self.last_pass = self.box.clock.now()

    def watch(self) -> None:
        now = self.box.clock.now()
        if self.follower is not None:
            while self.follower.poll(0) > 0:
                pass
            if self.follower.fallback_due():
                self.follower.fallback()
        elif self.mode == "cron" and now - self.last_pass >= CRON:
            self.last_pass = now
            watch_once(self.config, self.backend, self.db, render(self.config, now).resources, now)

    def trips(self) -> list:
        with self.db.read() as conn:
            return breaker_store.tripped(conn, self.config.project.seller_id)

    def close(self) -> None:
        self.backend.close()
        self.db.close()
        self.box.stop()
        self.box.store.close()


def night(seed: int, demand: str, mode: str) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        watched = Watched(Path(tmp), seed, mode)
        try:
            return _run_night(watched, random.Random(seed), DEMANDS[demand])
        finally:
            watched.close()


def _run_night(watched: Watched, rng: random.Random, max_lift: float) -> Outcome:
    box = watched.box
    start_incident(box)
    end = box.clock.now() + timedelta(hours=INCIDENT_HOURS)
    orders = units = 0
    first = last = written = None
    while box.clock.now() < end:
        placed = simulate(box.account, box.advance, MINUTE, rng, step=MINUTE, max_lift=max_lift)
        for order in placed.orders:
            if any(PROMOTION_ID in item.promotion_ids for item in order.items):
                orders += 1
                units += order.units
                first = first or order.purchase_date
                last = order.purchase_date
        watched.watch()
        if written is None and (tripped := watched.trips()):
            written = min(b.tripped_at for b in tripped)

    def minutes(at: datetime | None) -> float | None:
        return None if at is None or first is None else (at - first).total_seconds() / 60

    return Outcome(orders, units, minutes(written), minutes(last))


def week(seed: int, mode: str) -> int:
    """Breakers tripped over a normal week with declared promotions only."""
    with tempfile.TemporaryDirectory() as tmp:
        watched = Watched(Path(tmp), seed, mode)
        try:
            rng = random.Random(seed)
            end = watched.box.clock.now() + WEEK
            while watched.box.clock.now() < end:
                simulate(watched.box.account, watched.box.advance, WEEK_STEP, rng, step=WEEK_STEP)
                watched.watch()
            return len(watched.trips())
        finally:
            watched.close()


def _median(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    text = f"{statistics.median(known):.0f}"
    return text if len(known) == len(values) else f"{text} ({len(known)}/{len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-week", action="store_true", help="skip the false-trip week")
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    began = time.monotonic()
    cells = [(d, m) for d in DEMANDS for m in MODES]
    with ProcessPoolExecutor(args.workers) as pool:
        runs = {(d, m, s): pool.submit(night, s, d, m) for d, m in cells for s in seeds}
        weeks = (
            {}
            if args.no_week
            else {(m, s): pool.submit(week, s, m) for m in ("follow", "cron") for s in seeds}
        )
        results = {key: future.result() for key, future in runs.items()}
        trips = {key: future.result() for key, future in weeks.items()}
    print(f"amazon timing, seeds 1..{args.seeds}, medians over the seeds")
    print()
    print(
        "| demand | watchdog | orders leaked | units leaked | first order -> breaker write "
        "(min) | first order -> selling stops (min) |"
    )
    print("|---|---|---|---|---|---|")
    for demand, mode in cells:
        got = [results[(demand, mode, s)] for s in seeds]
        label = {"follow": "follow", "cron": "cron, 15 min", "none": "none"}[mode]
        print(
            f"| {demand} | {label} | {_median([o.orders for o in got])} "
            f"| {_median([o.units for o in got])} | {_median([o.to_write for o in got])} "
            f"| {_median([o.to_stop for o in got])} |"
        )
    for demand, mode in cells:
        got = [results[(demand, mode, s)] for s in seeds]
        print(
            f"  {demand}/{mode} per seed, orders (units): "
            + ", ".join(f"{o.orders} ({o.units})" for o in got)
        )
    if trips:
        print()
        for mode in ("follow", "cron"):
            per_seed = [trips[(mode, s)] for s in seeds]
            print(
                f"false-trip week ({mode}, declared promotions only, 7 days): "
                f"{sum(per_seed)} trips over {len(per_seed)} seeds ({per_seed})"
            )
    print(f"wall time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
