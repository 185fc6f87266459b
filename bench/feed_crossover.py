"""Benchmark: from how many changes a JSON_LISTINGS_FEED beats per-item writes.

    .venv/bin/python bench/feed_crossover.py                    # amazon timing, seeds 1,2,3
    .venv/bin/python bench/feed_crossover.py --timing fast --sizes 50,100,200,400,800,1600

For each size N, N plan changes to DE listings (half price changes, half quantity changes:
engine catalog.changes) go live once per item and once as a feed, on fresh SKUs each time,
and the time is measured in the sandbox's virtual seconds from the first call until the
last change is visible through getListingsItem (polled every virtual second):

- per item: `SpApiBackend.write` per change from `--workers` threads, as an apply would,
  paced to patchListingsItem's 5/s (burst 5), plus the offer reads of the price changes;
- feed: `SpApiBackend.write_bulk` with the bulk threshold at 1: the offers read with
  searchListingsItems (20 a call), createFeedDocument, upload, createFeed, getFeed polled
  with the backend's default backoff, the processing report, then the listing update.

The sandbox enforces Amazon's published limits. With the `amazon` timing profile (the
default; engine.sandbox.timing) a feed is queued and processed in 5 to 45 minutes and a
listing write shows 1 to 15 minutes after it is accepted, drawn at random: one sandbox per
seed (`--seeds 1,2,3`), and the median of the seeds' crossovers is the figure for
DEFAULT_BULK_THRESHOLD in engine/live/spapi.py. `--timing fast` is the fixed 90-second feed
the first measurement used. The clock runs `--speed` times real time. Prints each seed's
table and crossover (interpolated between the sizes where the winner changes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from statistics import median

from catalog import backend_for, changes, sandbox_process
from sp_api.auth import access_token_client

from engine.core.changes import ResourceChange
from engine.live.backend import WriteResult, issues_text
from engine.live.spapi import SpApiBackend
from engine.sandbox.clock import ClockTimer, VirtualClock
from engine.sandbox.timing import PROFILES


def visible(backend: SpApiBackend, change: ResourceChange) -> bool:
    listing = backend.read_listing(change.marketplace, change.sku)
    return listing is not None and all(
        getattr(listing.resource, f.field) == getattr(change.after, f.field) for f in change.fields
    )


def timed(
    clock: VirtualClock,
    backend: SpApiBackend,
    work: list[ResourceChange],
    write: Callable[[list[ResourceChange]], list[WriteResult]],
) -> float:
    """Virtual seconds from the start of `write(work)` until its last change is visible."""
    timer = ClockTimer(clock)
    started = timer.monotonic()
    results = write(work)
    refused = [r for r in results if r.status != "ACCEPTED"]
    if refused:
        first = refused[0]
        raise SystemExit(
            f"{len(refused)} writes did not go through, e.g. {first.address} {first.status}: "
            f"{issues_text(first.issues)}"
        )
    while not visible(backend, work[-1]):
        timer.sleep(1.0)
    return timer.monotonic() - started


def crossover_at(rows: list[tuple[int, float, float]]) -> float | None:
    """Where feed time falls below per-item time, interpolated linearly between sizes;
    the first size if the feed already wins there, None if it never does."""
    for (n0, item0, feed0), (n1, item1, feed1) in pairwise(rows):
        lead0, lead1 = feed0 - item0, feed1 - item1
        if lead0 > 0 >= lead1:
            return n0 + (n1 - n0) * lead0 / (lead0 - lead1)
    if rows and rows[0][2] <= rows[0][1]:
        return float(rows[0][0])
    return None


def crossover(rows: list[tuple[int, float, float]]) -> str:
    at = crossover_at(rows)
    if at is None:
        return "crossover: per item wins at every size measured"
    if rows and at == rows[0][0] and rows[0][2] <= rows[0][1]:
        return f"crossover: the feed wins already at {rows[0][0]} changes"
    return f"crossover: the feed wins from about {at:.0f} changes"


def measure(
    sizes: list[int], speed: float, workers: int, timing: str, seed: int
) -> list[tuple[int, float, float]]:
    """One sandbox (timing profile `timing`, drawn from `seed`): the table of sizes."""
    # python-amazon-sp-api caches access tokens process-wide by refresh token: the last
    # seed's sandbox's token would be refused (403) by this one's.
    access_token_client.cache.clear()
    total = 2 * sum(sizes)
    rows = []
    with (
        sandbox_process(
            total + 1, ("DE",), speed=speed, rate_limits=True, timing=timing, timing_seed=seed
        ) as (url, clock),
        tempfile.TemporaryDirectory(prefix="sellersync-bench-cache-") as cache,
    ):
        per_item = backend_for(url, clock, Path(cache))
        feed = backend_for(url, clock, Path(cache), bulk_threshold=1)
        pool = ThreadPoolExecutor(workers)
        try:
            first = 0
            for size in sizes:
                one = changes(range(first, first + size))
                other = changes(range(first + size, first + 2 * size))
                first += 2 * size
                item_s = timed(clock, per_item, one, lambda w: list(pool.map(per_item.write, w)))
                feed_s = timed(clock, feed, other, feed.write_bulk)
                rows.append((size, item_s, feed_s))
                print(
                    f"seed {seed} {size:>6} changes: "
                    f"per item {item_s:7.1f} s, feed {feed_s:7.1f} s",
                    flush=True,
                )
        finally:
            pool.shutdown()
            per_item.close()
            feed.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400,800,1600,3200,6400")
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timing", choices=sorted(PROFILES), default="amazon")
    parser.add_argument("--seeds", default="1,2,3", help="one sandbox per seed (a list)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    found = []
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        rows = measure(sizes, args.speed, args.workers, args.timing, seed)
        print(f"seed {seed}: {crossover(rows)}", flush=True)
        at = crossover_at(rows)
        if at is not None:
            found.append(at)
    if found:
        print(
            f"timing {args.timing}, seeds {args.seeds}: the feed wins from about "
            f"{median(found):.0f} changes (median; per seed "
            f"{', '.join(f'{a:.0f}' for a in found)})"
        )
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
