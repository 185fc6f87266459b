"""Orders leaked by a runaway promotion: follow-mode watchdog, 15-minute cron, or neither.

    .venv/bin/python bench/watch_compare.py             # seeds 1..5, amazon timing, 2 workers
    .venv/bin/python bench/watch_compare.py --timing amazon --cap 10 --no-week

On the sandbox seeded from config/, with the `amazon` timing profile (listing writes show
after 1 to 15 minutes, notifications reach the queue after 1 to 5, some twice and out of
order; engine.sandbox.timing): the incident of bench/night.py (a 99 %-off code on the US
headphones at 22:00, the story's 300 MFN units, ten hours of buyers placed minute by minute)
under two demand profiles:

- incident: the night's buyers (a 99 % discount sells 400 times the base rate, the cap of
  engine.sandbox.demand), about 300 orders over the night;
- spike: the code shared on a deal site, five times as many buyers (the cap raised to 2000).

Each runs with the follow-mode watchdog (`sync watch --follow`'s Follower on the sandbox's
SQS, drained every simulated minute, its periodic cycle run after each drain), with a watch
pass every 15 minutes (the cron), and with neither: all three without exposure caps, the
story's 300 units advertised. Then `follow+cap` and `cron+cap`: the same watchdogs with the
exposure caps of config/project.yaml (engine.desired.exposure): the 300 units stay on the
shelf, each US merchant-fulfilled headphone advertises its cap, and the watchdog refills it
when nothing holds it. `--cap N` sets every cap to N (floor = ceiling = N) instead of what
the example's floor and ceiling give a listing of the bench's empty sales history (its
floor, 2). The FBA headphones are never capped (Amazon holds their stock): only the breaker
stops them, so their orders are counted apart. Per cell, the median over the seeds of:
orders and units sold under the code (and of those, merchant-fulfilled units, what caps
bound), minutes from the first such order to the first breaker write, and minutes from it
to the last such order (when the listings stopped selling: breaker write visible, or stock
gone).

Then the false-trip week: seven simulated days of normal demand with the declared
promotions only, followed by the follower and by a cron pass every 15 minutes; trips counted
(the goal is none).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from night import (
    PROMOTION_ID,
    open_demo_sandbox,
    sandbox_backend,
    start_incident,
    without_exposure,
)
from sp_api.auth import access_token_client
from watch_night import NoWaitTimer

from engine.config import load_config
from engine.desired.render import render
from engine.sandbox.demand import MAX_LIFT
from engine.sandbox.scenario import INCIDENT_HOURS
from engine.sandbox.simulation import simulate
from engine.sandbox.timing import PROFILES
from engine.state import breakers as breaker_store
from engine.state.db import open_sqlite
from engine.watch.follow import Follower, FollowSettings, SellerAccount
from engine.watch.run import watch_once

CONFIG = Path(__file__).resolve().parents[1] / "config"
START = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
CRON = timedelta(minutes=15)
DEMANDS = {"incident": MAX_LIFT, "spike": MAX_LIFT * 5}
MODES = ("follow", "cron", "none", "follow+cap", "cron+cap")
LABELS = {
    "follow": "follow",
    "cron": "cron, 15 min",
    "none": "none",
    "follow+cap": "follow + exposure cap",
    "cron+cap": "cron, 15 min + exposure cap",
}
WEEK = timedelta(days=7)
WEEK_STEP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Outcome:
    orders: int
    units: int
    mfn_units: int  # of `units`, merchant-fulfilled: what an exposure cap bounds
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

    def __init__(
        self, workdir: Path, seed: int, mode: str, timing: str = "amazon", cap: int | None = None
    ) -> None:
        access_token_client.cache.clear()  # each sandbox issues its own tokens
        config_dir = workdir / "config"
        shutil.copytree(CONFIG, config_dir)
        self.capped = mode.endswith("+cap")
        if self.capped and cap is not None:
            _set_cap(config_dir / "project.yaml", cap)
        config = load_config(config_dir)
        self.config = config if self.capped else without_exposure(config)
        self.box = open_demo_sandbox(self.config, START, timing=PROFILES[timing], timing_seed=seed)
        self.backend = sandbox_backend(self.config, self.box, NoWaitTimer())
        self.db = open_sqlite(self.config.state_dir)
        mode = mode.removesuffix("+cap")
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
            self.follower.cycle()
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


def _set_cap(project_yaml: Path, cap: int) -> None:
    """Every exposure cap of the example set to `cap` units (floor = ceiling)."""
    text = project_yaml.read_text(encoding="utf-8")
    for key in ("floor", "ceiling"):
        text, found = re.subn(rf"(?m)^(    {key}: )\d+$", rf"\g<1>{cap}", text, count=1)
        if found != 1:
            raise LookupError(f"no exposure {key} in {project_yaml}")
    project_yaml.write_text(text, encoding="utf-8")


def night(seed: int, demand: str, mode: str, timing: str, cap: int | None) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        watched = Watched(Path(tmp), seed, mode, timing, cap)
        try:
            return _run_night(watched, random.Random(seed), DEMANDS[demand])
        finally:
            watched.close()


def _run_night(watched: Watched, rng: random.Random, max_lift: float) -> Outcome:
    box = watched.box
    start_incident(box, advertise_all=not watched.capped)
    end = box.clock.now() + timedelta(hours=INCIDENT_HOURS)
    orders = units = mfn_units = 0
    first = last = written = None
    while box.clock.now() < end:
        placed = simulate(box.account, box.advance, MINUTE, rng, step=MINUTE, max_lift=max_lift)
        for order in placed.orders:
            if any(PROMOTION_ID in item.promotion_ids for item in order.items):
                orders += 1
                units += order.units
                mfn_units += order.units if order.channel == "MFN" else 0
                first = first or order.purchase_date
                last = order.purchase_date
        watched.watch()
        if written is None and (tripped := watched.trips()):
            written = min(b.tripped_at for b in tripped)

    def minutes(at: datetime | None) -> float | None:
        return None if at is None or first is None else (at - first).total_seconds() / 60

    return Outcome(orders, units, mfn_units, minutes(written), minutes(last))


def week(seed: int, mode: str, timing: str) -> int:
    """Breakers tripped over a normal week with declared promotions only."""
    with tempfile.TemporaryDirectory() as tmp:
        watched = Watched(Path(tmp), seed, mode, timing)
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
    parser.add_argument("--timing", choices=sorted(PROFILES), default="amazon")
    parser.add_argument(
        "--cap", type=int, help="every exposure cap at this many units (floor = ceiling)"
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES)
    )
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    seeds = range(1, args.seeds + 1)
    began = time.monotonic()
    cells = [(d, m) for d in DEMANDS for m in modes]
    with ProcessPoolExecutor(args.workers) as pool:
        runs = {
            (d, m, s): pool.submit(night, s, d, m, args.timing, args.cap)
            for d, m in cells
            for s in seeds
        }
        weeks = (
            {}
            if args.no_week
            else {
                (m, s): pool.submit(week, s, m, args.timing)
                for m in ("follow", "cron")
                for s in seeds
            }
        )
        results = {key: future.result() for key, future in runs.items()}
        trips = {key: future.result() for key, future in weeks.items()}
    cap = "config's caps" if args.cap is None else f"caps of {args.cap} units"
    print(f"{args.timing} timing, seeds 1..{args.seeds}, medians over the seeds ({cap})")
    print()
    print(
        "| demand | watchdog | orders leaked | units leaked (MFN) | first order -> breaker "
        "write (min) | first order -> selling stops (min) |"
    )
    print("|---|---|---|---|---|---|")
    for demand, mode in cells:
        got = [results[(demand, mode, s)] for s in seeds]
        print(
            f"| {demand} | {LABELS[mode]} | {_median([o.orders for o in got])} "
            f"| {_median([o.units for o in got])} ({_median([o.mfn_units for o in got])}) "
            f"| {_median([o.to_write for o in got])} | {_median([o.to_stop for o in got])} |"
        )
    for demand, mode in cells:
        got = [results[(demand, mode, s)] for s in seeds]
        print(
            f"  {demand}/{mode} per seed, orders (units, MFN units): "
            + ", ".join(f"{o.orders} ({o.units}, {o.mfn_units})" for o in got)
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
