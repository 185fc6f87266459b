"""Benchmark: `sync plan --no-refresh` end to end, from a cached live snapshot (no API calls).

    python bench/plan_bench.py                                # 1,000 SKUs x 10 = 10k listings
    python bench/plan_bench.py --skus 100000 --marketplaces 10   # 1M listings

Prepares (once per size, under bench/out/) a synthetic config from bench/config_gen.py and a
snapshot cache in engine.live.bulk_read's format, built from the rendered desired state with
`--changed` percent of listings differing in price or quantity. Then, in a fresh process so
that peak RSS is the plan's alone, it runs the same `build_plan` (engine.flows.plan) the CLI
runs, through an SpApiBackend that is never allowed to make a call, and renders the plan as
text. Prints wall
and CPU time per phase (phases are timed by wrapping the functions build_plan calls) and peak
RSS. The first phase is `load_for_plan`, as `sync plan --no-refresh` runs it: the config's
parse workers and the reading of the snapshot cache (in this process) overlap. By default it
measures twice: with a cold config (the parse cache emptied: every YAML file is parsed) and
warm (unchanged files from the parse cache the cold run wrote, as on any later plan).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config_gen import generate  # bench/ is the script's folder, first on sys.path

from engine.config import load_config
from engine.desired.render import render
from engine.flows import plan as build
from engine.live.backend import LiveListing
from engine.live.bulk_read import CachedListing, Snapshot, SnapshotCache
from engine.live.clients import Connection
from engine.live.spapi import SpApiBackend
from engine.plan.text import render_text
from engine.state.db import open_state

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OUT = Path(__file__).resolve().parent / "out"
NO_CALLS = "http://127.0.0.1:9"  # discard port: any call would fail loudly


def prepare(folder: Path, skus: int, marketplaces: int, changed: float) -> None:
    """The config, and a cached snapshot per marketplace that differs from it by `changed` %."""
    config = load_config(generate(folder / "config", skus, marketplaces))
    desired = render(config, NOW)
    rng = random.Random(5)
    by_market: dict[str, dict[str, CachedListing]] = defaultdict(dict)
    for r in desired.resources.values():
        live = r
        if rng.random() < changed / 100:
            if r.quantity is None or rng.random() < 0.5:
                live = replace(r, our_price=r.our_price + 1)
            else:
                live = replace(r, quantity=r.quantity + 3)
        by_market[r.marketplace][r.sku] = CachedListing("bench", LiveListing(live))
    cache = SnapshotCache(config.state_dir)
    for code, entries in by_market.items():
        cache.save(Snapshot(code, NOW, entries))


def rss_mib() -> float:
    """Resident memory now (Linux /proc), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(folder: Path) -> dict[str, list[float]]:
    """Plan from the cache; per phase [wall s, CPU s, RSS MiB after it] (CPU shows what a
    loaded machine takes away from wall time; RSS where the memory goes)."""
    phases: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name][0] += time.perf_counter() - wall
                phases[name][1] += time.process_time() - cpu
                phases[name][2] = rss_mib()

        return run

    build.render = timed("render", build.render)  # type: ignore[assignment]
    build.allocate_stock = timed("allocate stock", build.allocate_stock)  # type: ignore[assignment]
    build.diff = timed("diff", build.diff)  # type: ignore[assignment]
    build.evaluate = timed("guardrails", build.evaluate)  # type: ignore[assignment]
    build.Plan.build = timed("plan (fingerprints)", build.Plan.build)  # type: ignore[method-assign]
    started, cpu = time.perf_counter(), time.process_time()
    # As `sync plan --no-refresh` does: the cache is read while the parse workers run.
    config, cached = timed("load + read cache", build.load_for_plan)(
        folder / "config", refresh=False
    )
    state = open_state(config.project.state, config.state_dir)
    backend = SpApiBackend(
        Connection({"refresh_token": "-", "lwa_app_id": "-", "lwa_client_secret": "-"}, NO_CALLS),
        config.project.seller_id,
        state_dir=config.state_dir,
        now=lambda: NOW,
        preloaded=cached,
    )
    backend.read_listings = timed("live state", backend.read_listings)  # type: ignore[method-assign]
    run = build.build_plan(config, backend, state, now=NOW, refresh=False)
    text = timed("render text", render_text)(run.plan.changeset)
    phases["total"] = [time.perf_counter() - started, time.process_time() - cpu, rss_mib()]
    backend.close()
    state.close()
    calls = len(backend.recorder.calls)  # type: ignore[attr-defined]
    if calls:
        raise SystemExit(f"the cached plan made {calls} API call(s)")
    print(
        f"  {len(run.desired.resources):,} listings, {len(run.plan.changes):,} changes, "
        f"{len(text):,} characters of text"
    )
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--marketplaces", type=int, default=10)
    parser.add_argument("--changed", type=float, default=1.0, help="percent of listings changed")
    parser.add_argument(
        "--config",
        choices=("cold", "warm", "both"),
        default="both",
        help="cold: parse every config file (no parse cache); warm: unchanged files from "
        "the parse cache the cold run left, as on a seller's second plan",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per config; prints medians")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        phases = measure(args.measure)
        print(f"  {'phase':<20} {'wall':>8}   {'CPU':>8}   {'RSS after':>9}")
        for name, (wall, cpu, rss) in phases.items():
            print(f"  {name:<20} {wall:8.2f} s {cpu:8.2f} s {rss:8.0f} MiB")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(f"  {'peak RSS':<20} {peak:8.0f} MiB")
        return 0
    folder = OUT / f"plan-{args.skus}x{args.marketplaces}-{args.changed}"
    if not (folder / "config").is_dir():
        started = time.perf_counter()
        prepare(folder, args.skus, args.marketplaces, args.changed)
        print(f"prepared {folder} in {time.perf_counter() - started:.1f} s")
    for run in ("cold", "warm") if args.config == "both" else (args.config,):
        totals: list[tuple[float, float]] = []
        for attempt in range(1, args.repeat + 1):
            if run == "cold":
                shutil.rmtree(folder / ".sellersync" / "cache" / "config", ignore_errors=True)
            print(
                f"plan --no-refresh: {args.skus:,} SKUs x {args.marketplaces} marketplaces, "
                f"{run} config ({'every file parsed' if run == 'cold' else 'from the parse cache'})"
                f", run {attempt} of {args.repeat}"
            )
            done = subprocess.run(
                [sys.executable, __file__, "--measure", str(folder)],
                capture_output=True,
                text=True,
                check=False,
            )
            print(done.stdout, end="", flush=True)
            if done.returncode:
                print(done.stderr, end="", file=sys.stderr)
                return done.returncode
            total_line, peak_line = done.stdout.splitlines()[-2:]  # "total ...", "peak RSS ..."
            totals.append((float(total_line.split()[1]), float(peak_line.split()[2])))
        if args.repeat > 1:
            print(
                f"{run} config: median of {args.repeat} runs: "
                f"{statistics.median(t for t, _ in totals):.2f} s total, "
                f"{statistics.median(p for _, p in totals):.0f} MiB peak RSS"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
