"""Benchmark: how long apply's look at live before writing takes, batched versus one by one.

    .venv/bin/python bench/stale_checks.py                  # 2,000 listings at speed 50
    .venv/bin/python bench/stale_checks.py --listings 10000 --speed 200

Before writing anything, apply reads every listing a plan touches and compares it with the
plan's fingerprint, and reads them again right before a bulk batch. This measures one such
round over `--listings` DE listings against the sandbox, which enforces Amazon's published
limits (getListingsItem 5/s burst 10, searchListingsItems 5/s burst 5: engine/core/spapi_limits.py)
on its virtual clock running `--speed` times real time:

- one by one: a getListingsItem per listing (how the checks read before issue 13, item 6);
- batched: `engine.apply.verify.read_current`, searchListingsItems 20 SKUs a call (now).

Prints the virtual time each round takes and the calls it made; the ratio is what a bulk
apply saves per round (it makes two rounds before its first write).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from catalog import backend_for, changes, sandbox_process

from engine.apply.verify import read_current
from engine.live.recording import MemoryRecorder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=2000)
    parser.add_argument("--speed", type=float, default=50.0)
    args = parser.parse_args()

    work = {c.address: c for c in changes(range(args.listings))}
    with (
        sandbox_process(args.listings + 1, ("DE",), speed=args.speed, rate_limits=True) as (
            url,
            clock,
        ),
        tempfile.TemporaryDirectory(prefix="sellersync-bench-cache-") as cache,
    ):
        backend = backend_for(url, clock, Path(cache))
        try:
            rounds = {}
            for name, read in (
                (
                    "one by one",
                    lambda: [backend.read_listing(c.marketplace, c.sku) for c in work.values()],
                ),
                ("batched", lambda: read_current(backend, work, work)),
            ):
                before = len(_recorder(backend).calls)
                started, wall = clock.now(), time.perf_counter()
                read()
                elapsed = (clock.now() - started).total_seconds()
                made = Counter(c.operation for c in _recorder(backend).calls[before:])
                rounds[name] = elapsed
                real = time.perf_counter() - wall
                print(
                    f"{name:>10}: {elapsed:8.1f} virtual s ({real:.1f} real s), calls {dict(made)}"
                )
        finally:
            backend.close()
    print(
        f"{args.listings} listings: batched takes {rounds['batched'] / rounds['one by one']:.1%} "
        f"of the one-by-one round ({rounds['one by one'] / rounds['batched']:.1f}x faster)"
    )
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


def _recorder(backend) -> MemoryRecorder:
    recorder = backend.recorder
    assert isinstance(recorder, MemoryRecorder)
    return recorder


if __name__ == "__main__":
    sys.exit(main())
