"""Rules over stock cuts and deletes: the changes that turn into cancelled orders, and
cancellations are what account health counts."""

from __future__ import annotations

from collections.abc import Iterator

from engine.guardrails.rules.base import Finding, Inputs, Rule, percent_text
from engine.plan.diff import ResourceChange


def check_open_orders(inputs: Inputs) -> Iterator[Finding]:
    """Stock against open orders: cutting an MFN quantity below the units in open
    unshipped orders, or deleting a listing that still has open orders, leaves orders the
    seller may not be able to ship; each cancelled one counts against the 2.5 %
    cancellation-rate target. Without order data the cuts are listed as unchecked."""
    cuts = list(inputs.stock_cuts())
    units = inputs.context.open_order_units
    if units is None:
        yield from _unchecked(cuts, "open orders were not read")
        return
    for change in cuts:
        open_units = units.get((change.marketplace, change.sku), 0)
        after = change.after.quantity if change.after else None
        if open_units and (after is None or after < open_units):
            yield Finding(
                change.marketplace,
                change.sku,
                f"{_describe(change)} with {open_units} unit(s) in open unshipped orders: "
                "orders that cannot ship will be cancelled",
            )


def check_account_health(inputs: Inputs) -> Iterator[Finding]:
    """Account-health gate: while a marketplace's 7-day cancellation rate is at its warning
    level (default 2.0 %, below Amazon's 2.5 % target) or its order defect rate at 0.8 %
    (target under 1 %), plans that cut stock or delete listings there are blocked: that is
    when one more wave of cancellations can get the account suspended."""
    settings = inputs.settings
    known = inputs.context.account_health or {}
    by_market: dict[str, list[ResourceChange]] = {}
    for change in inputs.stock_cuts():
        by_market.setdefault(change.marketplace, []).append(change)
    for code, cuts in by_market.items():
        health = known.get(code)
        warn_at = settings.percent("guardrails.account_health.cancellation_rate_warning_pct", code)
        odr_at = settings.percent("guardrails.account_health.odr_block_pct", code)
        reasons = []
        rate = health.cancellation_rate_pct if health else None
        odr = health.order_defect_rate_pct if health else None
        if rate is not None and rate >= warn_at:
            reasons.append(
                f"the 7-day cancellation rate is {percent_text(rate)} "
                f"(warning level {percent_text(warn_at)})"
            )
        if odr is not None and odr >= odr_at:
            reasons.append(
                f"the order defect rate is {percent_text(odr)} (limit {percent_text(odr_at)})"
            )
        if reasons:
            for change in cuts:
                yield Finding(
                    code, change.sku, f"{_describe(change)} while {' and '.join(reasons)}"
                )
        elif rate is None or odr is None:
            yield from _unchecked(cuts, f"account health for {code} is not fully known")


def _unchecked(cuts: list[ResourceChange], why: str) -> Iterator[Finding]:
    counts: dict[str, int] = {}
    for change in cuts:
        counts[change.marketplace] = counts.get(change.marketplace, 0) + 1
    for code, count in counts.items():
        yield Finding(
            code, None, f"{count} stock cut(s) or delete(s) not checked: {why}", unknown=True
        )


def _describe(change: ResourceChange) -> str:
    if change.action == "delete":
        return "deleting the listing"
    assert change.before is not None and change.after is not None
    return f"cutting MFN quantity {change.before.quantity} -> {change.after.quantity}"


RULES = (
    Rule(
        "open_orders",
        "soft-mandatory",
        "no stock cut or delete leaves open orders unshippable",
        check_open_orders,
    ),
    Rule(
        "account_health",
        "soft-mandatory",
        "no stock cut or delete while account health is at its warning level",
        check_account_health,
    ),
)
