"""Benchmark: what share of an application-wide SP-API quota N processes use together.

    .venv/bin/python bench/app_quota.py                       # 4 processes, app limit 10/s, 10 s
    .venv/bin/python bench/app_quota.py --processes 8 --app-rate 20 --seconds 20
    .venv/bin/python bench/app_quota.py --no-shared           # each process paces only itself

Amazon limits getListingsItem to 5 requests a second per seller account and 100 per
application over all of them (engine.core.spapi_limits cites the page). Here N processes, each
standing for one seller account with its own per-seller buckets (5/s, burst 10 by default),
call getListingsItem as fast as their pacing lets them against one sandbox served from this
process (real-time clock, the sandbox's own rate limits off, so only the clients pace). With
the application-wide limiter (engine.state.app_quota, a bucket in PostgreSQL) they share a
small application limit, `--app-rate` per second with burst `--app-burst`; with `--no-shared`
they do not. Prints the calls each process made, the combined rate over the whole window and
over the window after its first second (the burst spent), each as a share of the application
limit. A share above 100 % is what Amazon would answer with 429s.

PostgreSQL: `--dsn` (default $SELLERSYNC_BENCH_DSN, else postgres@127.0.0.1:5432/test); the
bucket lives in a schema made for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.core.resource import Resource
from engine.core.spapi_limits import LIMITS, Limit
from engine.live.clients import Connection
from engine.live.invoke import Invoker
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.live.throttle import SystemTimer, TokenBuckets
from engine.state.app_quota import SharedBuckets
from engine.state.db import open_postgresql

OPERATION = "getListingsItem"
SELLER = "A2BENCHSELLER"
SKUS = 20  # the seed leaves some out or changes them (its demo drift); APPQ-000 is there
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
SETTLE = 1.0  # seconds: the steady rate leaves out the first, where the buckets' bursts go


@dataclass(frozen=True, slots=True)
class Job:
    """What one process does: call getListingsItem until `seconds` have passed."""

    index: int
    url: str
    credentials: dict[str, str]  # the sandbox's demo LWA credentials
    dsn: str | None  # None: no application-wide limiter
    application: str
    app_limit: Limit
    seller_limit: Limit
    seconds: float
    state_dir: str


@dataclass(frozen=True, slots=True)
class Result:
    app_limit: Limit
    seconds: float
    per_process: tuple[int, ...]  # calls each process sent inside the window
    calls: int
    steady_calls: int  # calls sent after the first SETTLE seconds
    statuses: dict[int | None, int]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def share(self) -> float:
        return self.rate / self.app_limit.rate

    @property
    def steady_rate(self) -> float:
        return self.steady_calls / (self.seconds - SETTLE)

    @property
    def steady_share(self) -> float:
        return self.steady_rate / self.app_limit.rate


def limit(rate: float, burst: int) -> Limit:
    return Limit(rate=rate, burst=burst, header=str(rate))


def _resources() -> list[Resource]:
    return [
        Resource(
            marketplace="DE",
            sku=f"APPQ-{n:03d}",
            product_type="HEADPHONES",
            currency="EUR",
            language="de",
            fulfillment_channel="MFN",
            our_price=Decimal("29.99"),
            title=f"Quota headphones {n}",
            brand="Bench",
            bullet_points=("Foldable",),
            description="Synthetic.",
            minimum_seller_allowed_price=Decimal("5.00"),
            maximum_seller_allowed_price=Decimal("999.00"),
            quantity=10,
        )
        for n in range(SKUS)
    ]


def _worker(job: Job, barrier: Any, results: Any) -> None:
    """One seller's process: its own per-seller bucket, the shared one when there is a DSN.
    Puts (its index, the wall-clock times its calls were sent, their statuses) on
    `results`."""
    timer = SystemTimer()
    db = open_postgresql(job.dsn, "--dsn") if job.dsn else None
    shared = (
        SharedBuckets(db, job.application, limits={OPERATION: job.app_limit})
        if db is not None
        else None
    )
    recorder = MemoryRecorder()
    invoker = Invoker(
        TokenBuckets(timer, {OPERATION: job.seller_limit}),
        recorder,
        timer,
        lambda: datetime.now(UTC),
        app_limiter=shared,
    )
    backend = SpApiBackend(
        Connection(job.credentials, endpoint=job.url),
        SELLER,
        state_dir=Path(job.state_dir),
        now=lambda: datetime.now(UTC),
        kind="sandbox",
        timer=timer,
        invoker=invoker,
    )
    try:
        backend.read_listing("DE", "APPQ-000")  # the access token, outside the window
        barrier.wait()
        done = time.time() + job.seconds
        while time.time() < done:
            backend.read_listing("DE", "APPQ-000")
        calls = recorder.calls[1:]
        results.put((job.index, [c.at.timestamp() for c in calls], [c.status for c in calls]))
    finally:
        backend.close()
        if db is not None:
            db.close()


def run(
    dsn: str | None,
    seller_limits: Sequence[Limit],
    app_limit: Limit,
    seconds: float,
) -> Result:
    """One process per entry of `seller_limits` against one sandbox served here, sharing
    `app_limit` through the PostgreSQL `dsn` (None: not shared)."""
    # Here, not at the top: the worker processes import this module and need no server.
    from engine.sandbox.clock import VirtualClock
    from engine.sandbox.runtime import Sandbox

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(seller_limits) + 1)
    results = ctx.Queue()
    application = f"bench-{uuid.uuid4().hex[:12]}"
    with (
        tempfile.TemporaryDirectory(prefix="sellersync-appq-") as state,
        Sandbox.open(
            Path(state) / "sandbox",
            seed=(SELLER, _resources()),
            clock=VirtualClock(datetime.now(UTC)),
            rate_limits=False,
        ) as box,
    ):
        jobs = [
            Job(
                i,
                box.url,
                dict(box.credentials.as_spapi_credentials()),
                dsn,
                application,
                app_limit,
                seller,
                seconds,
                f"{state}/p{i}",
            )
            for i, seller in enumerate(seller_limits)
        ]
        procs = [ctx.Process(target=_worker, args=(job, barrier, results)) for job in jobs]
        for proc in procs:
            proc.start()
        try:
            barrier.wait(timeout=120)
            start = time.time()
            gathered = sorted(results.get(timeout=seconds + 120) for _ in procs)
        finally:
            for proc in procs:
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.kill()
    end = start + seconds
    per_process = tuple(sum(start <= t < end for t in times) for _, times, _ in gathered)
    every = [t for _, times, _ in gathered for t in times if start <= t < end]
    statuses: dict[int | None, int] = {}
    for _, _, codes in gathered:
        for code in codes:
            statuses[code] = statuses.get(code, 0) + 1
    return Result(
        app_limit,
        seconds,
        per_process,
        len(every),
        sum(t >= start + SETTLE for t in every),
        statuses,
    )


@contextmanager
def bench_schema(server: str) -> Iterator[str]:
    """A DSN whose search_path is a schema made for this run, dropped after it."""
    admin = sa.create_engine(sa.make_url(server).set(drivername="postgresql+psycopg"))
    schema = f"sellersync_bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        joiner = "&" if "?" in server else "?"
        yield f"{server}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--app-rate", type=float, default=10.0)
    parser.add_argument("--app-burst", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-shared", action="store_true", help="no application-wide limiter")
    parser.add_argument("--dsn", default=os.environ.get("SELLERSYNC_BENCH_DSN", DEFAULT_SERVER))
    args = parser.parse_args(argv)
    seller = LIMITS[OPERATION]
    app = limit(args.app_rate, args.app_burst)
    sellers = [seller] * args.processes
    if args.no_shared:
        result = run(None, sellers, app, args.seconds)
    else:
        with bench_schema(args.dsn) as dsn:
            result = run(dsn, sellers, app, args.seconds)
    print(
        f"{args.processes} processes, per-seller {seller.rate:g}/s burst {seller.burst}, "
        f"application {app.rate:g}/s burst {app.burst}, "
        f"{'no shared limiter' if args.no_shared else 'shared through PostgreSQL'}, "
        f"{args.seconds:g} s"
    )
    print(f"calls per process: {', '.join(map(str, result.per_process))}")
    print(
        f"combined: {result.calls} calls, {result.rate:.2f}/s = {result.share:.1%} of the "
        f"application quota; after the first {SETTLE:g} s: {result.steady_rate:.2f}/s = "
        f"{result.steady_share:.1%}"
    )
    print(f"statuses: {dict(sorted(result.statuses.items(), key=str))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
