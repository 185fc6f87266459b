"""Benchmark: requests per second the SP-API sandbox sustains for simple GETs.

    /work/venv/bin/python bench/sandbox_rps.py                 # 5 runs × 3000 GETs, 4 clients
    /work/venv/bin/python bench/sandbox_rps.py --runs 3 --requests 5000 --clients 8
    /work/venv/bin/python bench/sandbox_rps.py --cpu            # server CPU per request


The sandbox must not be the bottleneck of other benchmarks: target ≥ 500 getListingsItem
calls per second on a 2-core machine, rate limits off. The server runs in its own process
(werkzeug's threaded server on 127.0.0.1, state in SQLite), seeded with a synthetic catalog;
the load comes from this process over keep-alive connections, one per client thread. Prints
each run and the median.

`--cpu` measures the server's own cost instead: the same GETs through werkzeug's test client
in this process (no sockets, no threads), as requests per CPU-second of this process
(`time.process_time`). On a shared machine this is steadier than wall-clock throughput, so it
resolves changes of a few percent in the request path that the HTTP figure's noise hides.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

SEED = """
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from engine.core.resource import Resource
from engine.sandbox.clock import VirtualClock
from engine.sandbox.runtime import Sandbox

resources = [
    Resource(marketplace=m, sku=f"BENCH-{i:05d}", product_type="HEADPHONES", currency="EUR",
             language=lang, fulfillment_channel="MFN", our_price=Decimal("19.99") + i,
             title=f"Bench item {i}", brand="Sonora", bullet_points=("One", "Two"),
             description="Synthetic.", minimum_seller_allowed_price=Decimal("1.00"),
             maximum_seller_allowed_price=Decimal("99999.00"), quantity=i % 50)
    for m, lang in (("DE", "de"), ("FR", "fr"))
    for i in range(skus)
]
box = Sandbox.open(Path(state), seed=("A2BENCHSELLER", resources),
                   clock=VirtualClock(datetime(2026, 11, 22, tzinfo=UTC)), rate_limits=False,
                   reseed=True)
"""

SERVER = (
    "import sys\nstate, skus = sys.argv[1], int(sys.argv[2])\n"
    + SEED
    + """
print(box.start(), flush=True)
print(box.credentials.refresh_token, box.credentials.client_id, box.credentials.client_secret,
      flush=True)
sys.stdin.read()  # run until the parent closes our stdin
box.stop()
"""
)


def token(url: str, refresh: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def run_once(url: str, access: str, requests: int, clients: int, skus: int) -> float:
    """Requests per second for `requests` GETs spread over `clients` threads."""
    per_client = requests // clients
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def worker(offset: int) -> None:
        with httpx.Client(base_url=url, headers={"x-amz-access-token": access}) as client:
            client.get(
                f"/listings/2021-08-01/items/A2BENCHSELLER/BENCH-{offset:05d}",
                params={"marketplaceIds": "A1PA6795UKMFR9"},
            )  # warm the connection
            barrier.wait()
            for n in range(per_client):
                sku = f"BENCH-{(offset * 7919 + n * 31) % skus:05d}"
                response = client.get(
                    f"/listings/2021-08-01/items/A2BENCHSELLER/{sku}",
                    params={"marketplaceIds": "A1PA6795UKMFR9"},
                )
                if response.status_code != 200:
                    errors.append(f"{sku}: {response.status_code}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return per_client * clients / elapsed


def cpu_runs(runs: int, requests: int, skus: int) -> list[float]:
    """Requests per CPU-second of getListingsItem handled in this process (see --cpu)."""
    from werkzeug.test import Client

    with tempfile.TemporaryDirectory(prefix="sellersync-sandbox-bench-") as state:
        scope: dict[str, object] = {"state": state, "skus": skus}
        exec(SEED, scope)
        box = scope["box"]
        client = Client(box.app)  # type: ignore[attr-defined]
        creds = box.credentials  # type: ignore[attr-defined]
        form = {
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
        headers = {
            "x-amz-access-token": client.post("/auth/o2/token", data=form).json["access_token"]
        }
        results = []
        for i in range(runs):
            started = time.process_time()
            for n in range(requests):
                response = client.get(
                    f"/listings/2021-08-01/items/A2BENCHSELLER/BENCH-{n * 31 % skus:05d}",
                    query_string={"marketplaceIds": "A1PA6795UKMFR9"},
                    headers=headers,
                )
                if response.status_code != 200:
                    raise RuntimeError(f"getListingsItem answered {response.status_code}")
            results.append(requests / (time.process_time() - started))
            print(f"run {i + 1}: {results[-1]:7.0f} req/CPU-s")
        box.store.close()  # type: ignore[attr-defined]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--cpu", action="store_true", help="server CPU per request, in-process")
    args = parser.parse_args()
    if args.cpu:
        median = statistics.median(cpu_runs(args.runs, args.requests, args.skus))
        print(
            f"median: {median:.0f} getListingsItem per CPU-second in-process "
            f"({args.requests} requests/run, {args.skus * 2} listings, rate limits off)"
        )
        return 0

    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="sellersync-sandbox-bench-") as state:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, state, str(args.skus)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=repo,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            refresh, client_id, secret = server.stdout.readline().split()
            access = token(url, refresh, client_id, secret)
            results = []
            for i in range(args.runs):
                rps = run_once(url, access, args.requests, args.clients, args.skus)
                results.append(rps)
                print(f"run {i + 1}: {rps:7.0f} req/s")
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=30)
    median = statistics.median(results)
    print(
        f"median: {median:.0f} req/s getListingsItem ({args.clients} clients, "
        f"{args.requests} requests/run, {args.skus * 2} listings, rate limits off); "
        f"target >= 500"
    )
    return 0 if median >= 500 else 1


if __name__ == "__main__":
    sys.exit(main())
