"""Benchmark: our keyed diff versus DeepDiff over the whole state, on the same data.

    .venv/bin/pip install -e '.[bench]'                 # DeepDiff: the bench extra only
    python bench/diff_bench.py                          # 10k listings, 1 % changed, 3 runs
    python bench/diff_bench.py --listings 100000 --changed 0.5 --runs 1

Desired and live states are built directly as Resources (no YAML), with a given share of
listings changed in price or quantity. Both sides answer the same question: which listings
differ and in which fields. `engine.plan.diff.diff` walks keys and compares each listing's
managed values as one tuple; DeepDiff gets the two states as address -> dict mappings (the
JSON view every listing already has) and walks everything. Prints the median time of each
and the ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from decimal import Decimal

from deepdiff import DeepDiff

from engine.core.resource import Resource
from engine.plan.diff import diff

MARKETS = [("US", "USD", "en"), ("DE", "EUR", "de"), ("FR", "EUR", "fr"), ("JP", "JPY", "ja")]


def build_states(listings: int, changed: float, seed: int = 11) -> tuple[dict, dict, int]:
    rng = random.Random(seed)
    desired: dict[str, Resource] = {}
    live: dict[str, Resource] = {}
    n_changed = 0
    for i in range(listings):
        market, currency, language = MARKETS[i % len(MARKETS)]
        price = Decimal(rng.randrange(999, 29999)) / 100
        if currency == "JPY":
            price = (price * 150).quantize(Decimal(1))
        fba = i % 3 == 0
        want = Resource(
            marketplace=market,
            sku=f"SKU-{i // len(MARKETS):07d}",
            product_type="HEADPHONES",
            currency=currency,
            language=language,
            fulfillment_channel="FBA" if fba else "MFN",
            our_price=price,
            title=f"Product {i} title in {language}",
            brand="Bench",
            bullet_points=("First point", "Second point"),
            description=f"Description of product {i}.",
            quantity=None if fba else 10 + i % 20,
        )
        have = want
        if rng.random() < changed / 100:
            n_changed += 1
            if fba or rng.random() < 0.5:
                have = replace(want, our_price=want.our_price + 1)
            else:
                have = replace(want, quantity=(want.quantity or 0) + 3)
        desired[want.address] = want
        live[have.address] = have
    return desired, live, n_changed


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=1.0, help="percent of listings changed")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    desired, live, n_changed = build_states(args.listings, args.changed)
    desired_json = {a: r.to_dict() for a, r in desired.items()}
    live_json = {a: r.to_dict() for a, r in live.items()}

    ours, changeset = timed(lambda: diff(desired, live), args.runs)
    theirs, deep = timed(lambda: DeepDiff(live_json, desired_json), args.runs)

    found = {c.address for c in changeset.changes}
    deep_found = {path.split("']")[0].removeprefix("root['") for path in _paths(deep)}
    if found != deep_found or len(found) != n_changed:
        print(f"MISMATCH: keyed diff {len(found)}, DeepDiff {len(deep_found)}, real {n_changed}")
        return 1
    print(f"listings: {args.listings}, changed: {n_changed} ({args.changed} %), runs: {args.runs}")
    for name, seconds in (("keyed diff", ours), ("DeepDiff", theirs)):
        per = seconds / args.listings * 1e6
        print(f"  {name:<12} {seconds * 1000:10.1f} ms  ({per:.2f} µs/listing)")
    print(f"  ratio        {theirs / ours:10.1f}x faster (median of {args.runs})")
    return 0


def _paths(deep: DeepDiff) -> list[str]:
    paths: list[str] = []
    for kind in ("values_changed", "type_changes"):
        paths.extend(deep.get(kind, {}))
    return paths


if __name__ == "__main__":
    sys.exit(main())
