"""Guardrail fixtures: the minimal config (US, DE in EUR, JP in JPY; HP-100 MFN costing
20.00 USD, SPK-1 FBA) rendered at NOW, a live state derived from it, and one call that runs
every rule the way `sync plan` will."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from engine.config import load_config
from engine.config.model import Config
from engine.core.resource import Resource
from engine.desired.render import render
from engine.guardrails.baseline import GuardrailBaseline, advance
from engine.guardrails.context import UNKNOWN, GuardrailContext
from engine.guardrails.evaluate import evaluate
from engine.guardrails.report import GuardrailReport
from engine.guardrails.rules import BUILTIN_RULES
from engine.guardrails.settings import Settings
from engine.guardrails.verdict import ApprovalUsed, Verdict
from engine.plan.diff import diff
from tests.conftest import NOW
from tests.minimal_config import write_config
from tests.state.conftest import backend, db, pg_dsn  # noqa: F401  (fixtures of the store tests)

HP_US = 'listing.US["HP-100"]'
HP_DE = 'listing.DE["HP-100"]'
HP_JP = 'listing.JP["HP-100"]'

# Sample verdicts as a plan carries them.
APPROVAL = ApprovalUsed(
    "price_change_size",
    ("US",),
    ("HP-*",),
    "Launch price",
    "maria.keller",
    NOW + timedelta(days=2),
    "value 59.99",
)
BLOCK = Verdict(
    "price_floor",
    "hard-mandatory",
    "block",
    "0.60 USD below 22.00 USD",
    "US",
    'listing.US["HP-100"]',
)
APPROVED = Verdict(
    "price_change_size",
    "soft-mandatory",
    "approved",
    "+33.3%",
    "US",
    'listing.US["HP-100"]',
    APPROVAL,
)
WARN = Verdict(
    "allowed_price_bounds", "advisory", "warn", "no minimum", "US", 'listing.US["HP-100"]'
)

LiveEdit = Callable[[dict[str, Resource]], None]


def check(
    config: Config,
    edit_live: LiveEdit | None = None,
    *,
    now: datetime = NOW,
    context: GuardrailContext = UNKNOWN,
    prune: Callable[[str, str], bool] | None = None,
) -> GuardrailReport:
    """Render at `now`, diff against a live state equal to the desired one except for what
    `edit_live` changes, and evaluate."""
    desired = render(config, now)
    live = dict(desired.resources)
    if edit_live is not None:
        edit_live(live)
    return evaluate(
        diff(desired.resources, live, prune=prune), config, desired, now=now, context=context
    )


def check_change(
    before: Config,
    after: Config,
    *,
    now: datetime = NOW,
    context: GuardrailContext | None = None,
    baseline: GuardrailBaseline | bool | None = True,
) -> GuardrailReport:
    """The plan of `after` against a live state that `before` was applied to: live is
    `before` rendered, and the baseline is what applying `before` recorded (`baseline=True`;
    None: no apply recorded one; or a baseline given)."""
    live = render(before, now).resources
    desired = render(after, now)
    recorded = baseline_of(before) if baseline is True else baseline or None
    facts = replace(context or UNKNOWN, baseline=recorded)
    return evaluate(diff(desired.resources, dict(live)), after, desired, now=now, context=facts)


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Config]:
    """configs({"file": "text"}) -> the minimal config with those changes, each in a folder
    of its own (hypothesis runs many examples per test; the function-scoped make_config
    would share one folder between them)."""
    base = tmp_path_factory.mktemp("configs")
    count = itertools.count()

    def build(changes: dict[str, str | None] | None = None) -> Config:
        return load_config(write_config(base / str(next(count)) / "config", changes))

    return build


def found(report: GuardrailReport, rule: str) -> list[Verdict]:
    """The verdicts of `rule`'s findings (not its pass, nor reports of unused approvals:
    every finding has a fingerprint)."""
    return [v for v in report.verdicts if v.rule == rule and v.fingerprint is not None]


def unused_approvals(report: GuardrailReport) -> list[Verdict]:
    """The warnings about approvals that matched no finding."""
    return [v for v in report.verdicts if v.outcome == "warn" and v.fingerprint is None]


def baseline_of(config: Config, *, at: datetime = NOW) -> GuardrailBaseline:
    """The baseline a successful apply of every marketplace under `config` records."""
    settings = Settings(config, {rule.id: rule.default_level for rule in BUILTIN_RULES})
    return advance(None, config, settings, tuple(config.marketplaces), at)


def applied(config: Config, **facts: object) -> GuardrailContext:
    """A context whose baseline is `config` applied (nothing weakened, no rate moved)."""
    return GuardrailContext(baseline=baseline_of(config), **facts)  # type: ignore[arg-type]


def live_price(address: str, price: str) -> LiveEdit:
    """Live has `price` where desired has its rendered price (so the plan changes it)."""

    def edit(live: dict[str, Resource]) -> None:
        live[address] = replace(live[address], our_price=Decimal(price))

    return edit


def promotion(
    ident: str,
    discount: str,
    *,
    marketplaces: str = "[US]",
    skus: str = "[HP-100]",
    start: str = "2026-11-25T00:00:00Z",
    end: str = "2026-11-30T00:00:00Z",
    kind: str = "coupon",
) -> str:
    """One promotions.yaml entry; `discount` is YAML such as "{percent: 10}"."""
    return f"""\
  - id: {ident}
    kind: {kind}
    discount: {discount}
    marketplaces: {marketplaces}
    skus: {skus}
    start: "{start}"
    end: "{end}"
"""


def sale(
    ident: str,
    price_or_pct: str,
    *,
    marketplaces: str = "[US]",
    skus: str = "[HP-100]",
    start: str = "2026-11-25T00:00:00Z",
    end: str = "2026-11-30T00:00:00Z",
) -> str:
    """One sales.yaml entry; `price_or_pct` is YAML such as 'price: "39.99"'."""
    return f"""\
  - id: {ident}
    marketplaces: {marketplaces}
    skus: {skus}
    {price_or_pct}
    start: "{start}"
    end: "{end}"
"""


# A range wide enough for every numeric finding value in these tests: for tests about
# scope and expiry rather than what an approval pins.
ANY_AMOUNT = '{min: "0", max: "1000000"}'


def approval(
    rule: str,
    *,
    scope: str = "{}",
    expires: str = "2026-12-31T00:00:00Z",
    approves: str = ANY_AMOUNT,
) -> str:
    """One approvals.yaml entry; `approves` is YAML such as '{value: "19.99"}'."""
    return f"""\
  - rule: {rule}
    scope: {scope}
    approves: {approves}
    reason: Reviewed in the pull request
    approver: maria.keller
    expires: "{expires}"
"""


def files(
    *,
    promotions: tuple[str, ...] = (),
    sales: tuple[str, ...] = (),
    approvals: tuple[str, ...] = (),
) -> dict[str, str]:
    """Config file texts for make_config from entries built above."""
    out = {}
    for name, items in (("promotions", promotions), ("sales", sales), ("approvals", approvals)):
        if items:
            out[f"{name}.yaml"] = f"{name}:\n" + "".join(items)
    return out
