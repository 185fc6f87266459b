"""Exposure caps: a merchant-fulfilled listing advertises only what it normally sells between
two refills, never every unit on hand.

A runaway promotion (a 99 % code typed for 10 %) can sell only what a listing advertises, and
it sells it in minutes, before any watch pass sees an order. With a cap, what it can take is
the cap, not the warehouse. The `exposure` settings (layered like `stock`) size it:

    cap = ceil(units sold over the last HISTORY_DAYS days × refill_every / HISTORY_DAYS days)
          clamped to [floor, ceiling]

and stock allocation never gives a capped listing more than its cap (engine.desired.render
feeds the cap to engine.desired.stock as the listing's alert level and maximum), nor more
than allocation would anyway.

Refills are gated: a capped listing is raised back to its cap (by a plan, or by a watch
pass) only while no refill hold is on it. The watchdog puts one on a listing when it sees
something suspicious there (a detection) or orders it could not judge yet (Pending, so not
priced: the floor and promotion rules cannot see them), and lifts it when those orders turn
out clean, or when incidents.yaml acknowledges an incident of the listing after the hold
began. A held listing keeps the quantity it has live, or less: never more.

FBA listings are never capped: Amazon holds their stock, so only the breaker protects them.

Pure: history, holds and settings are passed in; nothing here reads a clock or a store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.config.model import Config, Incident, Layer

# The trailing window a cap is sized from: the watchdog keeps a week of order lines.
HISTORY_DAYS = 7
DEFAULT_FLOOR = 1
_INTERVAL = re.compile(r"^([1-9][0-9]*)([mhd])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
Key = tuple[str, str]  # (marketplace, sku)


def parse_interval(text: str) -> timedelta:
    """`30m`, `4h`, `1d` as a timedelta (the schema admits only these shapes, and its
    error names the file and line).

    No duration library: the schema's pattern already decides the syntax, and what is left
    is one multiplication; pytimeparse2 would also take 1.5h or 1h30m, which the schema
    refuses, isodate only ISO 8601 (PT30M). See engine.cli.watch_cmds for --interval."""
    match = _INTERVAL.match(text.strip())
    if match is None:
        raise ValueError(f"expected an interval such as 30m, 4h or 1d, got {text!r}")
    return int(match[1]) * _UNITS[match[2]]


@dataclass(frozen=True, slots=True)
class ExposureRule:
    """A listing's effective `exposure` settings."""

    refill_every: timedelta
    floor: int = DEFAULT_FLOOR
    ceiling: int | None = None


def exposure_rule(layer: Layer) -> ExposureRule | None:
    """The exposure rule of a settings layer, or None when the cap is off (no
    `exposure.refill_every`, or null)."""
    every = layer.get("exposure.refill_every")
    if every is None or every.value is None:
        return None
    floor = layer.get("exposure.floor")
    ceiling = layer.get("exposure.ceiling")
    return ExposureRule(
        parse_interval(str(every.value)),
        DEFAULT_FLOOR if floor is None else int(floor.value),
        None if ceiling is None else int(ceiling.value),
    )


@dataclass(frozen=True, slots=True)
class RefillHold:
    """Why the watchdog holds a listing's refills, and since when."""

    marketplace: str
    sku: str
    since: datetime
    reason: str

    def line(self) -> str:
        return f"refill held since {self.since:%Y-%m-%d %H:%M} UTC: {self.reason}"


@dataclass(frozen=True, slots=True)
class SalesHistory:
    """What caps are sized from and what gates refills, as the state store had them:
    units sold per listing over the last `days` days, and the watchdog's refill holds.
    Empty (the default) means nothing is known: every cap sits at its floor."""

    units: Mapping[Key, int] = field(default_factory=dict)
    days: int = HISTORY_DAYS
    holds: Mapping[Key, RefillHold] = field(default_factory=dict)

    def hold(self, key: Key, incidents: Sequence[Incident]) -> RefillHold | None:
        """The hold on a listing, unless incidents.yaml acknowledged an incident of that
        listing at or after the hold began (a person has looked: refills may resume)."""
        hold = self.holds.get(key)
        if hold is None:
            return None
        for incident in incidents:
            if (
                incident.marketplace,
                incident.sku,
            ) == key and incident.acknowledged_at >= hold.since:
                return None
        return hold


@dataclass(frozen=True, slots=True)
class Cap:
    """A listing's exposure cap and the figures behind it."""

    units: int
    expected: int  # units sold per refill interval at the trailing rate, rounded up
    sold: int
    days: int
    rule: ExposureRule

    def describe(self) -> str:
        rule = self.rule
        every = _interval_text(rule.refill_every)
        bounds = f"floor {rule.floor}" + (
            "" if rule.ceiling is None else f", ceiling {rule.ceiling}"
        )
        return (
            f"exposure cap {self.units}: {self.sold} unit(s) sold in the last {self.days} days "
            f"make {self.expected} per refill interval of {every} (rounded up), within {bounds}"
        )


def exposure_cap(rule: ExposureRule, sold: int, days: int = HISTORY_DAYS) -> Cap:
    """The most units a listing that sold `sold` units over `days` days may advertise."""
    expected = -(-max(sold, 0) * rule.refill_every // timedelta(days=days))  # rounded up
    units = max(rule.floor, expected)
    if rule.ceiling is not None:
        units = min(rule.ceiling, units)
    return Cap(units, expected, max(sold, 0), days, rule)


def _interval_text(interval: timedelta) -> str:
    minutes = int(interval.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def uses_exposure(config: Config) -> bool:
    """Whether any layer of the config sets an exposure cap (else no history is read)."""
    layers = [config.project.defaults]
    for mkt in config.marketplaces.values():
        layers.append(mkt.settings)
        layers += [o.settings for o in mkt.overrides.values()]
    layers += [p.settings for p in config.products.values()]
    return any("exposure.refill_every" in layer for layer in layers)


def listing_rule(config: Config, marketplace: str, sku: str) -> ExposureRule | None:
    """The exposure rule of one listing after layering; None when it is not capped (off,
    an FBA product, or a listing the config does not describe)."""
    mkt, product = config.marketplaces.get(marketplace), config.products.get(sku)
    if mkt is None or product is None or product.fulfillment != "MFN":
        return None
    override = mkt.overrides.get(sku)
    layer = {**config.project.defaults, **mkt.settings, **product.settings}
    if override is not None:
        layer.update(override.settings)
    return exposure_rule(layer)
