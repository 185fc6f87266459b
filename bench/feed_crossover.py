"""Benchmark: from how many changes a JSON_LISTINGS_FEED beats per-item writes.

    .venv/bin/python bench/feed_crossover.py                    # sizes 50 .. 1600, speed 20
    .venv/bin/python bench/feed_crossover.py --sizes 100,400,1000 --speed 10

For each size N, N plan changes to DE listings (half price changes, half quantity changes:
engine catalog.changes) go live once per item and once as a feed, on fresh SKUs each time,
and the time is measured in the sandbox's virtual seconds from the first call until the
last change is visible through getListingsItem (polled every virtual second):

- per item: `SpApiBackend.write` per change from `--workers` threads, as an apply would,
  paced to patchListingsItem's 5/s (burst 5), plus the offer reads of the price changes;
- feed: `SpApiBackend.write_bulk` with the bulk threshold at 1: the offers read with
  searchListingsItems (20 a call), createFeedDocument, upload, createFeed, getFeed polled
  with the backend's default backoff, the processing report, then the listing update.

The sandbox enforces Amazon's published limits and takes the same time to process any feed
(30 s queued, 60 s processing; Amazon's take longer and vary); its clock runs `--speed`
times real time. Prints the table and the crossover (interpolated between the sizes
where the winner changes): the figure for DEFAULT_BULK_THRESHOLD in engine/live/spapi.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

from catalog import backend_for, changes, sandbox_process

from engine.core.changes import ResourceChange
from engine.live.backend import WriteResult
from engine.live.spapi import SpApiBackend
from engine.sandbox.clock import ClockTimer, VirtualClock


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
    statuses = {r.status for r in write(work)}
    if statuses != {"ACCEPTED"}:
        raise SystemExit(f"writes did not all go through: {statuses}")
    while not visible(backend, work[-1]):
        timer.sleep(1.0)
    return timer.monotonic() - started


def crossover(rows: list[tuple[int, float, float]]) -> str:
    """Where feed time falls below per-item time, interpolated linearly between sizes."""
    for (n0, item0, feed0), (n1, item1, feed1) in pairwise(rows):
        lead0, lead1 = feed0 - item0, feed1 - item1
        if lead0 > 0 >= lead1:
            at = n0 + (n1 - n0) * lead0 / (lead0 - lead1)
            return f"crossover: the feed wins from about {at:.0f} changes"
    if rows and rows[0][2] <= rows[0][1]:
        return f"crossover: the feed wins already at {rows[0][0]} changes"
    return "crossover: per item wins at every size measured"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,400,800,1600")
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    total = 2 * sum(sizes)
    rows = []
    with (
        sandbox_process(total + 1, ("DE",), speed=args.speed, rate_limits=True) as (url, clock),
        tempfile.TemporaryDirectory(prefix="sellersync-bench-cache-") as cache,
    ):
        per_item = backend_for(url, clock, Path(cache))
        feed = backend_for(url, clock, Path(cache), bulk_threshold=1)
        pool = ThreadPoolExecutor(args.workers)
        try:
            first = 0
            for size in sizes:
                one = changes(range(first, first + size))
                other = changes(range(first + size, first + 2 * size))
                first += 2 * size
                item_s = timed(clock, per_item, one, lambda w: list(pool.map(per_item.write, w)))
                feed_s = timed(clock, feed, other, feed.write_bulk)
                rows.append((size, item_s, feed_s))
                print(f"{size:>6} changes: per item {item_s:7.1f} s, feed {feed_s:7.1f} s")
        finally:
            pool.shutdown()
            per_item.close()
            feed.close()
    print(crossover(rows))
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
