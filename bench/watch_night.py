"""Demonstration: orders leaked by a runaway promotion with the order watchdog and without.

    .venv/bin/python bench/watch_night.py               # seeds 1..3
    .venv/bin/python bench/watch_night.py --seeds 5

On the sandbox seeded from config/: a 99 %-off promo code on the US headphones made in the
Seller Central stand-in at 22:00, the story's 300 MFN units, ten simulated hours of buyers.
One night runs a watch pass (what `sync watch --once` does) every 15 simulated minutes, the
other runs none. Prints, per seed, the orders and units sold under the code in each, and
when the first breaker tripped. Runs on a frozen virtual clock with rate limits off, so a
night takes seconds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sp_api.auth import access_token_client

from engine.config import load_config
from engine.state.db import open_sqlite
from engine.watch.night import Night, open_demo_sandbox, run_night, sandbox_backend

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


def night(workdir: Path, seed: int, watchdog: bool) -> Night:
    # The library caches access tokens per refresh token, process-wide; each night's sandbox
    # issues its own.
    access_token_client.cache.clear()
    config_dir = workdir / ("guarded" if watchdog else "unguarded") / "config"
    shutil.copytree(CONFIG, config_dir)
    config = load_config(config_dir)
    box = open_demo_sandbox(config, START)
    backend = sandbox_backend(config, box, NoWaitTimer())
    db = open_sqlite(config.state_dir)
    try:
        return run_night(config, box, backend, db, random.Random(seed), watchdog=watchdog)
    finally:
        backend.close()
        db.close()
        box.stop()
        box.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print("seed | leaked orders (units), watchdog | leaked orders (units), none | first trip")
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            guarded = night(Path(tmp) / str(seed), seed, watchdog=True)
            unguarded = night(Path(tmp) / str(seed), seed, watchdog=False)
        with_watch = f"{guarded.leaked_orders} ({guarded.leaked_units})"
        without = f"{unguarded.leaked_orders} ({unguarded.leaked_units})"
        print(
            f"{seed:>4} | {with_watch:>31} | {without:>26} | "
            f"after {guarded.minutes_to_trip} min ({guarded.passes} passes)"
        )


if __name__ == "__main__":
    main()
