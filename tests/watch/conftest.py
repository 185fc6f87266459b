"""Watchdog fixtures: orders built directly, and the demo seller running in the sandbox
with its SP-API backend and a state store (frozen virtual clock, no real waiting)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bench.night import open_demo_sandbox, sandbox_backend
from engine.config import Config, load_config
from engine.core.orders import Order, OrderItem
from engine.core.resource import Resource
from engine.desired.render import render
from engine.live.documents import Polling
from engine.live.invoke import Invoker
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.live.throttle import TokenBuckets
from engine.sandbox.runtime import Sandbox
from engine.sandbox.simulation import simulate
from engine.state.db import StateDB, open_sqlite
from engine.watch.run import WatchReport, watch_once
from tests.live.conftest import FakeTimer
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (fixture)

NOW = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # a Friday night
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config"
STEP = timedelta(minutes=15)


def make_order(
    sku: str = "HP-100",
    *,
    price: str = "59.99",
    discount: str = "0",
    quantity: int = 1,
    marketplace: str = "US",
    currency: str = "USD",
    status: str = "Unshipped",
    channel: str = "MFN",
    at: datetime = NOW,
    promotions: tuple[str, ...] = (),
    order_id: str = "111-0000001-0000001",
    buyer_cancel: bool = False,
) -> Order:
    """An order of one line; `price` is the unit price, `discount` the promotion's per unit."""
    priced = status != "Pending"
    item = OrderItem(
        order_item_id=f"{order_id}-1",
        sku=sku,
        asin="B0TEST0001",
        quantity=quantity,
        quantity_shipped=0,
        item_price=Decimal(price) * quantity if priced else None,
        promotion_discount=Decimal(discount) * quantity if priced else None,
        promotion_ids=promotions,
        buyer_requested_cancel=buyer_cancel,
    )
    return Order(
        amazon_order_id=order_id,
        marketplace=marketplace,
        status=status,
        channel=channel,
        currency=currency,
        purchase_date=at,
        last_update=at,
        latest_ship_date=at + timedelta(days=2),
        ship_country=marketplace,
        order_total=None if not priced else item.item_price - item.promotion_discount,
        items=(item,),
    )


def drop_exposure(project_yaml: Path) -> None:
    """Take the `exposure` block of `defaults` (and the comment above it) out of a copy of
    the example project.yaml."""
    kept: list[str] = []
    inside = False
    for line in project_yaml.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("  exposure:"):
            while kept and kept[-1].startswith("  #"):
                kept.pop()
            inside = True
        elif not (inside and line.startswith("    ")):
            inside = False
            kept.append(line)
    project_yaml.write_text("".join(kept), encoding="utf-8")


@dataclass
class Demo:
    """The demo seller in a running sandbox, as `sync watch` sees it."""

    config_dir: Path
    config: Config
    box: Sandbox
    backend: SpApiBackend
    db: StateDB
    rng: random.Random

    @property
    def desired(self) -> dict[str, Resource]:
        return render(self.config, self.box.clock.now()).resources

    def watch(self) -> WatchReport:
        return watch_once(self.config, self.backend, self.db, self.desired, self.box.clock.now())

    def buyers(self, duration: timedelta = STEP) -> list:
        return simulate(self.box.account, self.box.advance, duration, self.rng).orders


@pytest.fixture
def open_demo(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    opened: list[Demo] = []

    def build(name: str = "seller", *, moving_clock: bool = False, exposure: bool = False) -> Demo:
        """A copy of the example config in tmp_path/`name` (its state beside it), served by a
        sandbox. `moving_clock`: the backend's waits (pacing, feed polls) move virtual time,
        as submitting a feed needs; otherwise a watch pass takes no virtual time at all.
        `exposure`: keep the example's exposure caps (off by default: most tests here are
        about the watchdog over listings that advertise all they are allocated)."""
        config_dir = tmp_path / name / "config"
        shutil.copytree(DEMO_CONFIG, config_dir)
        if not exposure:
            drop_exposure(config_dir / "project.yaml")
        config = load_config(config_dir)
        box = open_demo_sandbox(config, NOW)
        timer = FakeTimer(box.clock if moving_clock else None)
        backend = sandbox_backend(
            config,
            box,
            timer,
            invoker=Invoker(TokenBuckets(timer), MemoryRecorder(), timer, box.clock.now),
            polling=Polling(first=1, longest=8, give_up=600),
        )
        demo = Demo(
            config_dir, config, box, backend, open_sqlite(config.state_dir), random.Random(11)
        )
        opened.append(demo)
        return demo

    yield build
    for demo in opened:
        demo.backend.close()
        demo.db.close()
        demo.box.stop()
        demo.box.store.close()


@pytest.fixture
def demo(open_demo: Callable[..., Demo]) -> Demo:
    return open_demo()
