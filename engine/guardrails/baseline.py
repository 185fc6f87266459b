"""The guardrails in force at the last successful apply: the baseline a change is judged from.

A guardrail cannot be allowed to judge the change that switches it off: a pull request that
declares a 99 % promotion could otherwise set `price_floor` to advisory in the same diff, and
the plan would only warn. So apply records, when it succeeds, the settings it ran under
(levels, limits and floors, per marketplace and for the listings with limits of their own),
the fx rates it priced with, and the approvals of weakenings it saw. The next plan compares
the config with that record (`weakenings`): anything the config relaxes is a finding that
only an approval recorded here, i.e. one applied in an earlier change, can cover. The
fx rates are the reference the fx checks measure a rate edit against: the rates in the edited
fx.yaml cannot vouch for themselves.

Why a record of what apply ran under rather than rates derived from last-applied prices: a
price passes through the tax delta, the ending, rounding, min/max clamps and overrides, so
the rate it implies is off by up to the ending's step (a .99 ending moves a 10.00 price by
5 %), says nothing when a price is clamped or overridden, and is wrong precisely when the
same change edits prices or endings. The recorded rate is the one rendering used.

Pure: the state store keeps the JSON (engine.guardrails.baseline_store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.config.model import Approval, Config
from engine.guardrails.settings import Settings
from engine.guardrails.verdict import LEVELS

WEAKENING_RULE = "guardrail_weakening"

# Limits where a larger number lets more through.
HIGHER_IS_WEAKER = (
    "guardrails.price_change_size.max_change_pct",
    "guardrails.price_change_size.max_fx_deviation_pct",
    "guardrails.fx_rate.max_change_pct",
    "guardrails.blast_radius.max_price_change_share_pct",
    "guardrails.blast_radius.min_price_changes",
    "guardrails.blast_radius.max_deletes",
    "guardrails.account_health.cancellation_rate_warning_pct",
    "guardrails.account_health.odr_block_pct",
)
# Promotion limits layer per listing; the floor is compared apart (two shapes).
LISTING_LIMITS = (
    "promotion_limits.max_discount_pct",
    "promotion_limits.max_duration_days",
    "promotion_limits.max_units_at_promo_price",
)
FLOOR = "promotion_limits.floor"
PROJECT = "*"  # the key prefix of project defaults: what a newly enabled marketplace starts from


@dataclass(frozen=True, slots=True)
class GuardrailBaseline:
    """What the last successful apply ran under. `settings`: flat keys "<M>:<setting>"
    per marketplace, "<M>:<SKU>:<setting>" for listings with promotion limits of their own
    and "*:<setting>" for project defaults, values as JSON-ready text (numbers as decimal
    strings, floors as {"cost_plus_margin_pct"|"amount": text}). `approvals`: the
    identities (Approval.identity) of the weakening approvals in that config."""

    settings: dict[str, Any]
    fx_base: str
    fx_rates: dict[str, Decimal]
    approvals: tuple[dict[str, Any], ...]
    applied_at: datetime
    marketplaces: tuple[str, ...] = field(default=())  # every code it has settings for

    def rate(self, base: str, currency: str) -> Decimal | None:
        """The recorded rate of `currency` per one `base`, None when none was recorded
        against that base."""
        if base != self.fx_base:
            return None
        return Decimal(1) if currency == base else self.fx_rates.get(currency)

    def approved_earlier(self, approval: Approval) -> bool:
        return approval.identity() in self.approvals

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "fx": {"base": self.fx_base, "rates": {c: f"{r:f}" for c, r in self.fx_rates.items()}},
            "approvals": list(self.approvals),
            "applied_at": self.applied_at.isoformat(),
            "marketplaces": list(self.marketplaces),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GuardrailBaseline:
        fx = data["fx"]
        return cls(
            settings=dict(data["settings"]),
            fx_base=fx["base"],
            fx_rates={code: Decimal(str(rate)) for code, rate in fx["rates"].items()},
            approvals=tuple(data["approvals"]),
            applied_at=datetime.fromisoformat(data["applied_at"]),
            marketplaces=tuple(data.get("marketplaces", ())),
        )


def snapshot(config: Config, settings: Settings, marketplaces: Iterable[str]) -> dict[str, Any]:
    """The guardrail settings in force for `marketplaces`, plus the project defaults. Per
    listing only where a product or override sets a promotion limit of its own: the rest
    inherit, and a catalog of a million listings has few of those."""
    out: dict[str, Any] = {}
    for prefix, code in ((PROJECT, None), *((c, c) for c in marketplaces)):
        for rule in settings.rules:
            out[f"{prefix}:guardrails.{rule}.level"] = settings.level(rule, code)
        for key in (*HIGHER_IS_WEAKER, *LISTING_LIMITS):
            out[f"{prefix}:{key}"] = _number(settings.marketplace(key, code))
        out[f"{prefix}:{FLOOR}"] = _floor(settings.marketplace(FLOOR, code))
    with_limits = _own_limits(config)
    for code in marketplaces:
        mkt = config.marketplaces[code]
        overridden = [
            sku
            for sku, override in mkt.overrides.items()
            if _sets_limits(override.settings) and sku in config.products
        ]
        for sku in dict.fromkeys([*with_limits, *overridden]):
            if not mkt.lists(sku):
                continue
            for key in LISTING_LIMITS:
                out[f"{code}:{sku}:{key}"] = _number(settings.listing(key, code, sku))
            out[f"{code}:{sku}:{FLOOR}"] = _floor(settings.listing(FLOOR, code, sku))
    return out


def _own_limits(config: Config) -> list[str]:
    """SKUs whose product sets a promotion limit: one pass over the catalog, whatever the
    number of marketplaces (nearly every product sets none, and an empty dict is falsy)."""
    return [sku for sku, product in config.products.items() if _sets_limits(product.settings)]


def _sets_limits(layer: Mapping[str, Any]) -> bool:
    return bool(layer) and any(key.startswith("promotion_limits.") for key in layer)


def advance(
    previous: GuardrailBaseline | None,
    config: Config,
    settings: Settings,
    marketplaces: Sequence[str],
    now: datetime,
) -> GuardrailBaseline:
    """The baseline after an apply of `marketplaces` succeeded under `config`: their
    settings and currencies replace what was recorded; the marketplaces the apply did not
    cover keep theirs (their guardrails were not judged by it). Project defaults are
    replaced only by an apply of every enabled marketplace."""
    codes = [c for c in config.marketplaces if c in marketplaces]
    every = len(codes) == len(config.marketplaces)
    kept: dict[str, Any] = {}
    rates: dict[str, Decimal] = {}
    recorded: list[str] = []
    if previous is not None:
        replaced = {*codes, PROJECT} if every else set(codes)
        kept = {k: v for k, v in previous.settings.items() if k.split(":", 1)[0] not in replaced}
        if not every and not any(k.startswith(f"{PROJECT}:") for k in kept):
            kept.update(_project_only(snapshot(config, settings, ())))
        if previous.fx_base == config.fx.base_currency:
            rates = dict(previous.fx_rates)
        recorded = [c for c in previous.marketplaces if c not in codes]
    elif not every:
        kept = _project_only(snapshot(config, settings, ()))
    for code in codes:
        cur = config.marketplaces[code].info.currency
        if cur != config.fx.base_currency:
            rates[cur] = config.fx.rate(cur)
    return GuardrailBaseline(
        settings={**kept, **snapshot(config, settings, codes)},
        fx_base=config.fx.base_currency,
        fx_rates=rates,
        approvals=tuple(a.identity() for a in config.approvals if a.rule == WEAKENING_RULE),
        applied_at=now,
        marketplaces=tuple([*recorded, *codes]),
    )


def _project_only(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snap.items() if k.startswith(f"{PROJECT}:")}


@dataclass(frozen=True, slots=True)
class Weakening:
    """One setting the config relaxes against the baseline."""

    marketplace: str
    sku: str | None
    setting: str  # the dotted key
    before: Any
    after: Any
    why: str

    @property
    def value(self) -> Decimal | str:
        """What an approval's `approves.value` names: the new level, limit or floor."""
        if isinstance(self.after, dict):
            return Decimal(next(iter(self.after.values())))
        return Decimal(self.after) if _is_number(self.after) else str(self.after)


def weakenings(
    baseline: GuardrailBaseline,
    now: Mapping[str, Any],
    marketplaces: Iterable[str],
    listed: Callable[[str, str], bool],
) -> Iterator[Weakening]:
    """Every setting of `marketplaces` in the `now` snapshot weaker than the baseline's. A
    marketplace the baseline never recorded is compared with the baseline's project
    defaults, a listing with limits of its own with its marketplace's before; a listing
    that had limits of its own and now inherits (`listed` says it is still in the config)
    is compared with its marketplace's now."""
    wanted = set(marketplaces)
    known = set(baseline.marketplaces)
    before_settings = baseline.settings

    def before(code: str, sku: str, setting: str) -> Any:
        prefix = code if code in known else PROJECT
        if sku:
            own = before_settings.get(f"{prefix}:{sku}:{setting}")
            if own is not None:
                return own
        return before_settings.get(f"{prefix}:{setting}")

    for key, after in now.items():
        code, sku, setting = _split(key)
        if code not in wanted:
            continue
        why = _weaker(setting, before(code, sku, setting), after)
        if why is not None:
            yield Weakening(code, sku or None, setting, before(code, sku, setting), after, why)
    for key, was in before_settings.items():
        code, sku, setting = _split(key)
        if not sku or code not in wanted or key in now or not listed(code, sku):
            continue
        after = now.get(f"{code}:{setting}")  # it inherits now
        why = _weaker(setting, was, after)
        if why is not None:
            yield Weakening(code, sku, setting, was, after, why)


def _split(key: str) -> tuple[str, str, str]:
    """(marketplace or "*", SKU or "", setting) of a snapshot key."""
    code, _, rest = key.partition(":")
    sku, _, setting = rest.rpartition(":")
    return code, sku, setting


def _weaker(setting: str, before: Any, after: Any) -> str | None:
    """Why `after` is weaker than `before`, or None when it is not (or nothing was
    recorded to compare with: a setting a newer sellersync added)."""
    if before is None or after is None or before == after:
        return None
    if setting.endswith(".level"):
        if before in LEVELS and after in LEVELS and LEVELS.index(after) < LEVELS.index(before):
            return f"level lowered from {before} to {after}"
        return None
    if setting == FLOOR:
        return _floor_weaker(before, after)
    if Decimal(after) > Decimal(before):
        return f"limit raised from {before} to {after}"
    return None


def _floor_weaker(before: dict[str, str], after: dict[str, str]) -> str | None:
    (kind_before, was), (kind_after, now) = next(iter(before.items())), next(iter(after.items()))
    if kind_before != kind_after:
        return (
            f"floor basis changed from {_floor_text(before)} to {_floor_text(after)}: "
            "the floor of some listings can fall"
        )
    if Decimal(now) < Decimal(was):
        return f"floor lowered from {_floor_text(before)} to {_floor_text(after)}"
    return None


def _floor_text(floor: dict[str, str]) -> str:
    kind, value = next(iter(floor.items()))
    return f"cost + {value}%" if kind == "cost_plus_margin_pct" else f"amount {value}"


def _number(value: Any) -> str:
    return f"{Decimal(str(value)).normalize():f}"


def _floor(value: Mapping[str, Any]) -> dict[str, str]:
    kind, amount = next(iter(value.items()))
    return {kind: _number(amount)}


def _is_number(value: Any) -> bool:
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True
