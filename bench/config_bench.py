"""Benchmark: load + validate + render a synthetic catalog; prints wall time and peak RSS.

    python bench/config_bench.py                    # 10k SKUs × 10 marketplaces, 3 runs
    python bench/config_bench.py --skus 100000 --runs 1

Each run is a fresh process (so peak RSS is that run's own), timing the phases the CLI
goes through: load (read + parse + schema + semantic checks) and render. Targets on a
2-core machine: 10k × 10 in ≤ 3 s; 100k × 10 (1M listings) in ≤ 30 s and ≤ 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
from engine.config import load_config
from engine.desired.render import render
t0 = time.perf_counter()
config = load_config(Path(sys.argv[1]))
t1 = time.perf_counter()
state = render(config, datetime(2026, 11, 22, tzinfo=UTC))
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "render": t2 - t1, "total": t2 - t0,
                  "listings": len(state.resources),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_peak_rss_mib":
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--marketplaces", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="reuse/generate the config here")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).parent))
    from config_gen import generate

    data = args.data or Path(tempfile.gettempdir()) / (
        f"sellersync-bench-{args.skus}x{args.marketplaces}"
    )
    if not (data / "project.yaml").exists():
        generate(data, args.skus, args.marketplaces)
    size_mib = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 2**20
    results = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(data)], capture_output=True, text=True, check=True
        )
        results.append(json.loads(out.stdout))
    med = {
        k: statistics.median(r[k] for r in results)
        for k in ("load", "render", "total", "peak_rss_mib", "worker_peak_rss_mib")
    }
    print(
        f"config: {args.skus} SKUs × {args.marketplaces} marketplaces, "
        f"{results[0]['listings']} listings, {size_mib:.0f} MiB of YAML ({data})"
    )
    print(f"runs: {args.runs} (median)")
    print(f"  load+validate  {med['load']:7.2f} s")
    print(f"  render         {med['render']:7.2f} s")
    print(f"  total          {med['total']:7.2f} s")
    print(f"  peak RSS       {med['peak_rss_mib']:7.0f} MiB (main process)")
    if med["worker_peak_rss_mib"]:
        print(f"  parser worker  {med['worker_peak_rss_mib']:7.0f} MiB (largest parse worker)")
    print(f"  per listing    {med['total'] / results[0]['listings'] * 1e6:7.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
