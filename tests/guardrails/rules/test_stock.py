"""Open orders and the account-health gate, over stock cuts and deletes."""

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.desired.resource import Resource
from engine.guardrails.context import AccountHealth, GuardrailContext
from tests.guardrails.conftest import HP_DE, HP_US, check, found

# The minimal config renders HP-100 with 10 units in the US and 9 in DE.


def live_quantity(address: str, quantity: int):
    def edit(live: dict[str, Resource]) -> None:
        live[address] = replace(live[address], quantity=quantity)

    return edit


def orders(units: int) -> GuardrailContext:
    return GuardrailContext(open_order_units={("US", "HP-100"): units})


@pytest.mark.parametrize(("open_units", "flagged"), [(0, False), (10, False), (12, True)])
def test_a_stock_cut_below_open_orders_is_flagged(make_config, open_units, flagged):
    report = check(make_config(), live_quantity(HP_US, 25), context=orders(open_units))
    verdicts = found(report, "open_orders")
    assert [v.address for v in verdicts] == ([HP_US] if flagged else [])
    if flagged:
        assert verdicts[0].message.startswith(
            "cutting MFN quantity 25 -> 10 with 12 unit(s) in open unshipped orders"
        )


def test_raising_stock_is_never_a_cancellation_risk(make_config):
    assert not found(
        check(make_config(), live_quantity(HP_US, 2), context=orders(50)), "open_orders"
    )


def test_deleting_a_listing_with_open_orders_is_flagged(make_config):
    def stray(live: dict[str, Resource]) -> None:
        old = replace(live[HP_US], sku="OLD-1")
        live[old.address] = old

    context = GuardrailContext(open_order_units={("US", "OLD-1"): 1})
    report = check(make_config(), stray, context=context, prune=lambda m, s: s == "OLD-1")
    [verdict] = found(report, "open_orders")
    assert verdict.address == 'listing.US["OLD-1"]'
    assert verdict.message.startswith("deleting the listing with 1 unit(s)")


def test_unknown_orders_leave_cuts_unchecked_as_a_warning(make_config):
    report = check(make_config(), live_quantity(HP_US, 25))
    [verdict] = found(report, "open_orders")
    assert (verdict.marketplace, verdict.address, verdict.outcome) == ("US", None, "warn")
    assert verdict.message == "1 stock cut(s) or delete(s) not checked: open orders were not read"
    assert not report.blocked


@pytest.mark.parametrize(
    ("health", "flagged"),
    [
        (AccountHealth(Decimal("1.2"), Decimal("0.3")), False),
        (AccountHealth(Decimal("2.0"), Decimal("0.3")), True),  # at the warning level
        (AccountHealth(Decimal("0.5"), Decimal("0.8")), True),  # ODR at its limit
    ],
)
def test_account_health_gate_blocks_stock_cuts(make_config, health, flagged):
    context = GuardrailContext(open_order_units={}, account_health={"US": health})
    report = check(make_config(), live_quantity(HP_US, 25), context=context)
    verdicts = found(report, "account_health")
    assert [(v.address, v.outcome) for v in verdicts] == ([(HP_US, "block")] if flagged else [])
    if flagged:
        assert verdicts[0].message.startswith("cutting MFN quantity 25 -> 10 while the ")


def test_the_gate_only_looks_at_marketplaces_with_cuts(make_config):
    bad = AccountHealth(Decimal("3.1"), Decimal("1.5"))
    context = GuardrailContext(
        account_health={"DE": bad, "US": AccountHealth(Decimal("1"), Decimal("0.1"))}
    )
    assert not found(
        check(make_config(), live_quantity(HP_US, 25), context=context), "account_health"
    )
    report = check(make_config(), live_quantity(HP_DE, 25), context=context)
    [verdict] = found(report, "account_health")
    assert verdict.message == (
        "cutting MFN quantity 25 -> 9 while the 7-day cancellation rate is 3.1% (warning level "
        "2%) and the order defect rate is 1.5% (limit 0.8%)"
    )


def test_unknown_health_is_a_warning_not_a_pass(make_config):
    report = check(make_config(), live_quantity(HP_US, 25))
    [verdict] = found(report, "account_health")
    assert verdict.outcome == "warn" and "account health for US is not fully known" in (
        verdict.message
    )
