"""Benchmark: SP-API calls to refresh 10k SKUs x 5 marketplaces, ours versus naive.

    .venv/bin/python bench/refresh_calls.py                     # 10,000 SKUs x 5, 1 % changed
    .venv/bin/python bench/refresh_calls.py --skus 2000 --changed 0.05 --naive-all

Ours is `SpApiBackend.read_listings(refresh=True)`: a GET_MERCHANT_LISTINGS_ALL_DATA report
per marketplace plus searchListingsItems detail (20 SKUs a call) for rows that need it. It
runs three ways:

- first adoption: empty snapshot cache and nothing applied yet, so every row needs detail;
- warm: the cache that first read left, after `--changed` of the listings were repriced out
  of band (as in Seller Central), with the catalog as last applied;
- CI runner: after the same changes, an empty cache (the runner kept nothing) but the
  catalog as last applied in the state store: rows that agree with it need no detail.

1 % of the catalog is on sale and needs detail on every refresh, because the report does not
show sale prices.

The naive way (the seller's original script) is one getListingsItem per SKU per marketplace.
By default a sample of `--naive-sample` SKUs per marketplace is run through the backend's
read_listing and checked to cost exactly one call each, so the naive count is stated as
SKUs x marketplaces; `--naive-all` runs every one of them instead. Counted on the sandbox
with rate limits off and a frozen virtual clock that the backend's waits advance (so report
polling takes no real time). Target: warm and CI-runner refresh >= 100x fewer calls.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from catalog import MARKETS, backend_for, catalog, open_sandbox, sku

from engine.core.fields import MANAGED_FIELDS
from engine.core.resource import Resource
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.sandbox import faults

TARGET = 100


def calls(backend: SpApiBackend) -> Counter[str]:
    recorder = backend.recorder
    assert isinstance(recorder, MemoryRecorder)
    return recorder.count()


def as_applied(resources: list[Resource]) -> dict[str, dict[str, object]]:
    """The last-applied values the state store would hold had sellersync applied these."""
    return {r.address: {f: getattr(r, f) for f in MANAGED_FIELDS} for r in resources}


def refresh(
    backend: SpApiBackend, label: str, applied: dict[str, dict[str, object]] | None = None
) -> int:
    before = calls(backend)
    started = time.perf_counter()
    state = backend.read_listings(MARKETS, refresh=True, applied=applied)
    made = calls(backend) - before
    total = sum(made.values())
    by_op = ", ".join(f"{op} {n}" for op, n in sorted(made.items()))
    print(
        f"{label:<22} {total:>7} calls  ({by_op}); {len(state.listings)} listings, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return total


def naive(backend: SpApiBackend, skus: int, sample: int) -> int:
    """getListingsItem per SKU per marketplace: run (all or a sample), check one call each."""
    before = sum(calls(backend).values())
    ran = 0
    for code in MARKETS:
        for n in range(min(skus, sample)):
            if backend.read_listing(code, sku(n)) is None:
                raise SystemExit(f"naive read of {sku(n)} in {code} found nothing")
            ran += 1
    made = sum(calls(backend).values()) - before
    if made != ran:
        raise SystemExit(f"naive reads cost {made} calls for {ran} listings, not one each")
    exact = skus * len(MARKETS)
    how = "all run" if ran == exact else f"{ran} run, 1 call each, so SKUs x marketplaces"
    print(f"{'naive getListingsItem':<22} {exact:>7} calls  ({how})")
    return exact


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share changed out of band")
    parser.add_argument("--naive-sample", type=int, default=200, help="SKUs per marketplace")
    parser.add_argument("--naive-all", action="store_true")
    args = parser.parse_args()

    print(f"{args.skus} SKUs x {len(MARKETS)} marketplaces ({', '.join(MARKETS)})")
    resources = catalog(args.skus)
    applied = as_applied(resources)
    with (
        open_sandbox(resources, rate_limits=False) as box,
        tempfile.TemporaryDirectory(prefix="sellersync-bench-cache-") as cache,
        tempfile.TemporaryDirectory(prefix="sellersync-bench-runner-") as runner_cache,
    ):
        backend = backend_for(box.url, box.clock, Path(cache))
        runner = backend_for(box.url, box.clock, Path(runner_cache))
        try:
            adoption = refresh(backend, "ours, first adoption")
            step = max(1, round(1 / args.changed)) if args.changed > 0 else 0
            changed = range(0, args.skus, step) if step else range(0)
            for code in MARKETS:
                for n in changed:
                    faults.out_of_band_price(box.account, code, sku(n), Decimal("250.00"))
            print(f"changed out of band: {len(changed) * len(MARKETS)} listings")
            warm = refresh(backend, "ours, warm cache", applied)
            ci = refresh(runner, "ours, CI runner", applied)
            baseline = naive(backend, args.skus, args.skus if args.naive_all else args.naive_sample)
        finally:
            backend.close()
            runner.close()
    print(
        f"naive / ours: first adoption {baseline / adoption:.1f}x, warm {baseline / warm:.1f}x, "
        f"CI runner {baseline / ci:.1f}x (target: >= {TARGET}x warm and CI runner)"
    )
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0 if min(baseline / warm, baseline / ci) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
