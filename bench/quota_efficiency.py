"""Benchmark: how much of Amazon's quota a per-item apply uses, and how often it meets a 429.

    .venv/bin/python bench/quota_efficiency.py                  # 2,000 changes at speed 20
    .venv/bin/python bench/quota_efficiency.py --changes 500 --speed 100 --workers 2

2,000 changes to 2,000 DE listings, half of them price changes (a getListingsItem to read
the live offer, then a patchListingsItem: read-merge-replace) and half quantity changes (one
patch), each through `SpApiBackend.write`, from `--workers` threads as an apply would. The
sandbox enforces Amazon's published limits (patchListingsItem 5/s burst 5, getListingsItem
5/s burst 10) on its virtual clock running `--speed` times real time; the backend paces by
the same clock. The quota is the patch limit: every change needs exactly one patch, so a
perfect run applies 5 changes per virtual second (after the first burst). Prints achieved
changes per virtual second as a share of that, and the share of calls answered 429.
Target: >= 90 % of the quota, <= 1 % 429s.

The default speed is 20. At speed 50 the quota is ~400 calls per real second (1.6 calls per
change), about what the sandbox serves on a shared 2-core machine (werkzeug closes every
connection, so each call is a new TCP connection and server thread): measured 90-95 % of
the quota, and 58 % while another benchmark ran. The real calls per second printed show
when the machine, not the pacing, is the limit; stalls also cost a few 429s, because a
bucket that sits full while a late request is on its way refills nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalog import backend_for, changes, sandbox_process

from engine.core.spapi_limits import LIMITS
from engine.live.recording import MemoryRecorder

PATCH = LIMITS["patchListingsItem"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    work = changes(range(args.changes))
    # One SKU more than changed: the seed leaves the last one unlisted (engine.sandbox.seed).
    with (
        sandbox_process(args.changes + 1, ("DE",), speed=args.speed, rate_limits=True) as (
            url,
            clock,
        ),
        tempfile.TemporaryDirectory(prefix="sellersync-bench-cache-") as cache,
    ):
        backend = backend_for(url, clock, Path(cache))
        try:
            started, wall = clock.now(), time.perf_counter()
            with ThreadPoolExecutor(args.workers) as pool:
                results = list(pool.map(backend.write, work))
            elapsed = (clock.now() - started).total_seconds()
            wall = time.perf_counter() - wall
        finally:
            backend.close()
    recorder = backend.recorder
    assert isinstance(recorder, MemoryRecorder)
    statuses = Counter(r.status for r in results)
    calls = recorder.calls
    by_op = Counter(c.operation for c in calls)
    throttled = sum(c.status == 429 for c in calls)
    achieved = statuses["ACCEPTED"] / elapsed
    share = achieved / PATCH.rate
    print(
        f"{len(work)} changes ({by_op['getListingsItem']} offer reads), {args.workers} workers, "
        f"clock x{args.speed:g}: {dict(statuses)}"
    )
    print(f"calls: {dict(by_op)}; 429s {throttled} of {len(calls)} ({throttled / len(calls):.2%})")
    print(
        f"elapsed {elapsed:.1f} virtual s ({wall:.1f} real s, {len(calls) / wall:.0f} calls per "
        f"real s); achieved {achieved:.2f} "
        f"changes/s = {share:.1%} of the {PATCH.rate:g}/s patch quota (target >= 90 %, "
        f"429s <= 1 %)"
    )
    print("command: .venv/bin/python " + " ".join(sys.argv))
    ok = share >= 0.9 and throttled <= 0.01 * len(calls) and statuses["ACCEPTED"] == len(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
