"""Demonstration: orders leaked by a runaway promotion with the order watchdog and without.

    .venv/bin/python bench/watch_night.py               # seeds 1..3, amazon timing
    .venv/bin/python bench/watch_night.py --seeds 5 --timing fast --interval 3
    .venv/bin/python bench/watch_night.py --no-exposure  # every unit advertised, as in the story

On the sandbox seeded from config/: a 99 %-off promo code on the US headphones made in the
Seller Central stand-in at 22:00, the story's 300 MFN units, ten simulated hours of buyers.
One night runs a watch pass (what `sync watch --once` does) every `--interval` simulated
minutes (15 by default, the cron's), the other runs none. Prints, per seed, the orders sold
under the code before the first breaker tripped, the orders and units sold under it all
night in each (and of the units, the merchant-fulfilled ones: the code also reaches the FBA
headphones, which no cap bounds), and when the first breaker tripped. The sandbox runs on
the `amazon` timing profile by default (a breaker write shows after 1 to 15 minutes;
engine.sandbox.timing), seeded with the night's seed. Runs on a frozen virtual clock with
rate limits off, so a night takes seconds (a minute or so per seed: buyers are simulated
minute by minute).

`--interval 3` is as often as passes can run all night on searchOrders' sustained 0.0056
calls/s (Orders API 2026-01-01: one call every 179 s a region) with one call per region
(three for the demo seller's nine marketplaces); with one call per marketplace (nine calls)
it would be every 9 minutes.

config/ caps merchant-fulfilled listings (`exposure`): the listings advertise their caps and
the story's units stay on the shelf, refilled by the watch passes. `--no-exposure` turns the
caps off, so the listings advertise the story's 300 units.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from night import (  # bench/ is first on sys.path
    Night,
    open_demo_sandbox,
    run_night,
    sandbox_backend,
    without_exposure,
)
from sp_api.auth import access_token_client

from engine.config import load_config
from engine.sandbox.timing import PROFILES, TimingProfile
from engine.state.db import open_sqlite

CONFIG = Path(__file__).resolve().parents[1] / "config"
START = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


class NoWaitTimer:
    """Client-side pacing without real waiting (the sandbox's limits are off)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def night(
    workdir: Path,
    seed: int,
    watchdog: bool,
    timing: TimingProfile,
    interval: timedelta,
    exposure: bool = True,
) -> Night:
    # The library caches access tokens per refresh token, process-wide; each night's sandbox
    # issues its own.
    access_token_client.cache.clear()
    config_dir = workdir / ("guarded" if watchdog else "unguarded") / "config"
    shutil.copytree(CONFIG, config_dir)
    config = load_config(config_dir)
    if not exposure:
        config = without_exposure(config)
    box = open_demo_sandbox(config, START, timing=timing, timing_seed=seed)
    backend = sandbox_backend(config, box, NoWaitTimer())
    db = open_sqlite(config.state_dir)
    try:
        return run_night(
            config, box, backend, db, random.Random(seed), watchdog=watchdog, step=interval
        )
    finally:
        backend.close()
        db.close()
        box.stop()
        box.store.close()


def leaked(night: Night) -> str:
    return f"{night.leaked_orders} ({night.leaked_units}; {night.leaked_mfn_units})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--watchdog-only",
        action="store_true",
        help="skip the night without a watchdog (it does not depend on the watchdog's code)",
    )
    parser.add_argument("--timing", choices=sorted(PROFILES), default="amazon")
    parser.add_argument("--interval", type=float, default=15.0, help="minutes between watch passes")
    parser.add_argument(
        "--no-exposure",
        action="store_true",
        help="turn the config's exposure caps off: the listings advertise the story's 300 units",
    )
    args = parser.parse_args()
    timing = PROFILES[args.timing]
    interval = timedelta(minutes=args.interval)
    exposure = not args.no_exposure
    print(
        f"timing {args.timing}, a watch pass every {args.interval:g} min, "
        f"exposure caps {'on' if exposure else 'off'}"
    )
    print(
        "seed | leaked before first trip | leaked orders (units; MFN units), watchdog "
        "| leaked orders (units; MFN units), none | first trip"
    )
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            guarded = night(Path(tmp) / str(seed), seed, True, timing, interval, exposure)
            unguarded = None
            if not args.watchdog_only:
                unguarded = night(Path(tmp) / str(seed), seed, False, timing, interval, exposure)
        with_watch = leaked(guarded)
        without = "-" if unguarded is None else leaked(unguarded)
        print(
            f"{seed:>4} | {guarded.leaked_before_trip:>24} | {with_watch:>42} | {without:>37} | "
            f"after {guarded.minutes_to_trip} min ({guarded.passes} passes)"
        )


if __name__ == "__main__":
    main()
