"""The first `sync orders pull` after 12 hours of simulated buyers, in Amazon's time.

For each seed: a copy of the demo config (`config/`) in a temporary directory, its embedded
sandbox seeded from the config with a frozen clock and Amazon's published rate limits on,
12 simulated hours of buyers (`sync sandbox simulate --hours 12`), then the `sync orders
pull` flow itself (engine.flows.ops.pull), which opens the embedded sandbox as the command
does and paces its calls on the sandbox's clock. A frozen clock moves only when the backend
waits for quota, so the virtual time the pull takes is the time Amazon's published limits
make it wait (the sandbox answers at once; network latency is not counted). It prints that
time, the calls by operation and the real seconds, per seed and the median.

    .venv/bin/python bench/orders_pull.py --seeds 1 2 3

The same script measures the code it is run with, so running it on an older checkout gives
the before figure (Orders v0: getOrders, then one getOrderItems per order at 0.5 a second).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sp_api.auth import access_token_client

from engine.config import load_config
from engine.flows.connect import sandbox_seed
from engine.flows.ops import pull
from engine.sandbox.clock import VirtualClock
from engine.sandbox.runtime import Sandbox, saved_clock
from engine.sandbox.simulation import simulate
from engine.state import api_calls
from engine.state.db import open_state

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
HOURS = 12


def _clock(state_dir: Path) -> datetime:
    saved = saved_clock(state_dir)
    assert saved is not None
    return saved.virtual


def run(seed: int, hours: float) -> tuple[float, float, int, Counter[str]]:
    """(virtual seconds, real seconds, orders read, calls by operation) of one first pull."""
    # The library caches access tokens process-wide by refresh token: each seed's sandbox
    # is a new one that knows nothing of the last one's tokens.
    access_token_client.cache.clear()
    with tempfile.TemporaryDirectory(prefix="orders-pull-") as tmp:
        config_dir = Path(tmp) / "config"
        shutil.copytree(REPO / "config", config_dir)
        config = load_config(config_dir)
        box = Sandbox.open(
            config.state_dir,
            seed=sandbox_seed(config, START),
            clock=VirtualClock.frozen_at(START),
        )
        try:
            simulate(box.account, box.advance, timedelta(hours=hours), random.Random(seed))
            box.save_clock()
        finally:
            box.store.close()
        before = _clock(config.state_dir)
        wall = time.perf_counter()
        result = pull(config_dir)
        real = time.perf_counter() - wall
        virtual = (_clock(config.state_dir) - before).total_seconds()
        db = open_state(config.project.state, config.state_dir)
        try:
            with db.read() as conn:
                calls = api_calls.since(conn, config.project.seller_id, before)
        finally:
            db.close()
        read = sum(m.read for m in result.marketplaces)
        return virtual, real, read, Counter(c.operation for c in calls)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--hours", type=float, default=HOURS)
    args = parser.parse_args()
    print(f"first `sync orders pull` after {args.hours:g} simulated hours, demo config")
    figures: list[float] = []
    for seed in args.seeds:
        virtual, real, read, calls = run(seed, args.hours)
        figures.append(virtual)
        ops = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
        print(
            f"seed {seed}: {_minutes(virtual)} in Amazon's time ({read} orders; {ops}; "
            f"{real:.1f} s real)"
        )
    print(f"median: {_minutes(statistics.median(figures))} ({statistics.median(figures):.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
