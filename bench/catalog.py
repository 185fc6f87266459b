"""Synthetic live catalogs, seeded straight into a sandbox, for the backend benchmarks.

`catalog()` builds N SKUs x M marketplaces of Resources (deterministic: every 5th SKU FBA,
every 100th on sale) and `changes()` a plan's changes to them. `open_sandbox()` seeds them
into a sandbox in a temporary state directory (engine.sandbox.seed, as `sync sandbox reset`
does, without rendering a config) and serves it on 127.0.0.1 in this process;
`sandbox_process()` does the same in a child process, so that on a small machine the server
and the benchmark do not share one GIL (the child's clock is resumed here from the state it
saves, so both keep the same virtual time). `backend_for()` points an SpApiBackend at
either, pacing by the sandbox's virtual clock (engine.sandbox.clock.ClockTimer) and
recording every call.

    python bench/catalog.py STATE_DIR SKUS MARKETS SPEED RATE_LIMITS [TIMING SEED]  # the child
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.core import jsonio
from engine.core.changes import ResourceChange
from engine.core.marketplaces import MARKETPLACES
from engine.core.resource import Resource
from engine.core.sale import SalePrice
from engine.live.clients import Connection
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.plan.diff import diff
from engine.sandbox.app import SANDBOX_CREDENTIALS
from engine.sandbox.clock import ClockState, ClockTimer, VirtualClock
from engine.sandbox.runtime import Sandbox
from engine.sandbox.store import Store
from engine.sandbox.timing import DEFAULT_SEED, profile_named

SELLER = "A2BENCHSELLER"
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MARKETS = ("DE", "FR", "IT", "ES", "NL")  # EUR marketplaces in one region (EU)
FBA_EVERY = 5
SALE_EVERY = 100


def sku(n: int) -> str:
    return f"BENCH-{n:06d}"


def resource(code: str, n: int) -> Resource:
    mkt = MARKETPLACES[code]
    fba = n % FBA_EVERY == FBA_EVERY - 1
    price = Decimal(19 + n % 200) + Decimal("0.99")
    sale = None
    if n % SALE_EVERY == SALE_EVERY - 1:
        sale = SalePrice(price - 5, START - timedelta(days=1), START + timedelta(days=6))
    return Resource(
        marketplace=code,
        sku=sku(n),
        product_type="HEADPHONES",
        currency=mkt.currency,
        language=mkt.language,
        fulfillment_channel="FBA" if fba else "MFN",
        our_price=price,
        title=f"Bench headphones {n} ({code})",
        brand="Bench",
        bullet_points=("Long battery life", "Foldable"),
        description=f"Synthetic listing {n}.",
        sale=sale,
        minimum_seller_allowed_price=Decimal("5.00"),
        maximum_seller_allowed_price=Decimal("999.00"),
        quantity=None if fba else 10 + n % 90,
    )


def catalog(skus: int, markets: tuple[str, ...] = MARKETS) -> list[Resource]:
    return [resource(code, n) for code in markets for n in range(skus)]


def changes(numbers: range) -> list[ResourceChange]:
    """A change to each DE listing numbered in `numbers`, as a plan would make it: even ones
    reprice (a read of the live offer, then a patch), odd ones restock (one patch; FBA ones
    reprice too, their quantity being Amazon's)."""
    result = []
    for n in numbers:
        have = resource("DE", n)
        if n % 2 == 0 or have.quantity is None:
            want = replace(have, our_price=have.our_price + 1)
        else:
            want = replace(have, quantity=have.quantity + 1)
        result += diff({want.address: want}, {have.address: have}).changes
    return result


@contextmanager
def open_sandbox(resources: list[Resource], **options: Any) -> Iterator[Sandbox]:
    """A seeded sandbox serving on 127.0.0.1 from this process. Its clock is frozen at
    START and moves only by the backend's waits."""
    with (
        tempfile.TemporaryDirectory(prefix="sellersync-bench-") as state,
        Sandbox.open(
            Path(state), seed=(SELLER, resources), clock=VirtualClock.frozen_at(START), **options
        ) as box,
    ):
        yield box


@contextmanager
def sandbox_process(
    skus: int,
    markets: tuple[str, ...],
    *,
    speed: float,
    rate_limits: bool,
    timing: str = "fast",
    timing_seed: int = DEFAULT_SEED,
) -> Iterator[tuple[str, VirtualClock]]:
    """A seeded sandbox served by a child process: its URL and its clock. `timing` names
    its timing profile (engine.sandbox.timing), drawn from `timing_seed`."""
    with tempfile.TemporaryDirectory(prefix="sellersync-bench-") as state:
        argv = [state, str(skus), ",".join(markets), str(speed), str(rate_limits)]
        argv += [timing, str(timing_seed)]
        child = subprocess.Popen(
            [sys.executable, __file__, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert child.stdout is not None
            url = child.stdout.readline().decode().strip()
            if not url:
                raise RuntimeError("the sandbox process did not start")
            store = Store(Path(state))
            with store.read() as tx:
                saved = ClockState.from_dict(jsonio.loads(tx.meta("clock") or "{}"))
            store.close()
            yield url, VirtualClock.resume(saved)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=60)


def _serve(
    state: str,
    skus: str,
    markets: str,
    speed: str,
    rate_limits: str,
    timing: str = "fast",
    timing_seed: str = str(DEFAULT_SEED),
) -> None:
    resources = catalog(int(skus), tuple(markets.split(",")))
    clock = VirtualClock(START, speed=float(speed))
    box = Sandbox.open(
        Path(state),
        seed=(SELLER, resources),
        clock=clock,
        rate_limits=rate_limits == "True",
        timing=profile_named(timing),
        timing_seed=int(timing_seed),
    )
    print(box.start(), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    box.stop()
    box.store.close()


def backend_for(url: str, clock: VirtualClock, state_dir: Path, **options: Any) -> SpApiBackend:
    return SpApiBackend(
        Connection(SANDBOX_CREDENTIALS.as_spapi_credentials(), endpoint=url),
        SELLER,
        state_dir=state_dir,
        now=clock.now,
        kind="sandbox",
        timer=ClockTimer(clock),
        recorder=MemoryRecorder(),
        **options,
    )


if __name__ == "__main__":
    _serve(*sys.argv[1:])
