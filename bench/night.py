"""The demonstration night on the sandbox: the incident story with and without the watchdog.

At the start a promo code of 99 % off every US headphone (HP-*) is created in the sandbox's
Seller Central stand-in (meant as 10 %, as in the story; config declares no such code) and
the US merchant-fulfilled headphones get the story's 300 units. Buyers then order for ten
hours in 15-minute steps; with the watchdog, a pass (what `sync watch --once` runs) follows
every step. Leaked orders are those that got the runaway code.

With exposure caps on (config/project.yaml `exposure`), the story's units stay on the shelf:
the listings advertise their caps (the sandbox is seeded from the capped render) and each
watch pass refills them when nothing holds them. `without_exposure` gives the night as the
story had it, every unit advertised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.config.model import Config, Layer
from engine.core.marketplaces import MARKETPLACES
from engine.desired.exposure import uses_exposure
from engine.desired.render import render
from engine.live.backend import Backend
from engine.live.clients import Connection
from engine.live.spapi import SpApiBackend
from engine.live.throttle import Timer
from engine.sandbox.clock import VirtualClock
from engine.sandbox.promotions import Promotion
from engine.sandbox.runtime import Sandbox
from engine.sandbox.scenario import (
    INCIDENT_CODE,
    INCIDENT_DISCOUNT,
    INCIDENT_HOURS,
    INCIDENT_MARKETPLACE,
    INCIDENT_SKUS,
    add_promotion,
    set_incident_stock,
)
from engine.sandbox.simulation import simulate
from engine.state.db import StateDB
from engine.watch.run import watch_once

STEP = timedelta(minutes=15)
# Buyers see the listing as it is each minute: with Amazon's timing a breaker write shows
# minutes after it is sent, and orders placed meanwhile must still leak.
BUYER_STEP = timedelta(minutes=1)
PROMOTION_ID = "SC-RUNAWAY-99"


@dataclass(slots=True)
class Night:
    """What one night sold under the runaway code, and when the watchdog tripped."""

    start: datetime
    watchdog: bool
    leaked_orders: int = 0
    leaked_units: int = 0
    leaked_mfn_units: int = 0  # of those, merchant-fulfilled: what exposure caps bound
    leaked_before_trip: int = 0  # orders under the code placed before the first breaker
    passes: int = 0
    first_trip: datetime | None = None
    tripped: list[str] = field(default_factory=list)

    @property
    def minutes_to_trip(self) -> int | None:
        if self.first_trip is None:
            return None
        return int((self.first_trip - self.start).total_seconds() // 60)


def open_demo_sandbox(config: Config, start: datetime, **options: Any) -> Sandbox:
    """A running sandbox seeded from `config`, its clock frozen at `start`, rate limits off
    (`options` go to Sandbox.open: the timing profile and its seed)."""
    resources = list(render(config, start).resources.values())
    box = Sandbox.open(
        config.state_dir,
        seed=(config.project.seller_id, resources),
        clock=VirtualClock.frozen_at(start),
        rate_limits=False,
        **options,
    )
    box.start()
    return box


def sandbox_backend(config: Config, box: Sandbox, timer: Timer, **options: Any) -> SpApiBackend:
    """The SP-API backend pointed at `box`, pacing on `timer` (`options` go to it)."""
    return SpApiBackend(
        Connection(box.credentials.as_spapi_credentials(), endpoint=box.url),
        config.project.seller_id,
        state_dir=config.state_dir,
        now=box.clock.now,
        kind="sandbox",
        timer=timer,
        **options,
    )


def without_exposure(config: Config) -> Config:
    """`config` with every exposure cap off: listings advertise all they are allocated."""

    def plain(layer: Layer) -> Layer:
        return {key: value for key, value in layer.items() if not key.startswith("exposure.")}

    project = replace(config.project, defaults=plain(config.project.defaults))
    products = {sku: replace(p, settings=plain(p.settings)) for sku, p in config.products.items()}
    marketplaces = {
        code: replace(
            mkt,
            settings=plain(mkt.settings),
            overrides={
                sku: replace(o, settings=plain(o.settings)) for sku, o in mkt.overrides.items()
            },
        )
        for code, mkt in config.marketplaces.items()
    }
    return replace(config, project=project, products=products, marketplaces=marketplaces)


def start_incident(box: Sandbox, *, advertise_all: bool = True) -> None:
    """The runaway code; `advertise_all`: the story's 300 units put on the listings too
    (without caps), else they stay on the shelf and the listings show their caps."""
    now = box.clock.now()
    add_promotion(
        box.account,
        Promotion(
            promotion_id=PROMOTION_ID,
            kind="promo-code",
            code=INCIDENT_CODE,
            discount_pct=Decimal(INCIDENT_DISCOUNT),
            sku_pattern=INCIDENT_SKUS,
            marketplace_id=MARKETPLACES[INCIDENT_MARKETPLACE].marketplace_id,
            starts_at=now,
            ends_at=now + timedelta(hours=INCIDENT_HOURS),
            created_at=now,
        ),
    )
    if advertise_all:
        set_incident_stock(box.account)


def run_night(
    config: Config,
    box: Sandbox,
    backend: Backend,
    db: StateDB,
    rng: random.Random,
    *,
    watchdog: bool,
    step: timedelta = STEP,
) -> Night:
    """The night, on a sandbox seeded from `config` and a backend pointed at it; a watch
    pass every `step`. A config with exposure caps keeps the story's units on the shelf."""
    start_incident(box, advertise_all=not uses_exposure(config))
    night = Night(box.clock.now(), watchdog)
    end = night.start + timedelta(hours=INCIDENT_HOURS)
    while box.clock.now() < end:
        for order in simulate(box.account, box.advance, step, rng, step=BUYER_STEP).orders:
            if any(PROMOTION_ID in item.promotion_ids for item in order.items):
                night.leaked_orders += 1
                night.leaked_units += order.units
                if order.channel == "MFN":
                    night.leaked_mfn_units += order.units
                if night.first_trip is None:
                    night.leaked_before_trip += 1
        if not watchdog:
            continue
        now = box.clock.now()
        report = watch_once(config, backend, db, render(config, now).resources, now)
        night.passes += 1
        if report.tripped and night.first_trip is None:
            night.first_trip = now
        night.tripped += [b.incident_id for b in report.tripped]
    return night
