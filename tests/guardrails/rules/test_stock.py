"""Open orders (advertised plus owed units against on hand; deletes) and the account-health
gate over stock cuts and deletes."""

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.config.model import Config
from engine.core.changes import Changeset
from engine.core.resource import Resource
from engine.desired.render import render
from engine.desired.stock import Reservation
from engine.guardrails.context import AccountHealth, GuardrailContext
from engine.guardrails.evaluate import evaluate
from engine.guardrails.report import GuardrailReport
from engine.plan.diff import diff
from tests.conftest import NOW
from tests.guardrails.conftest import HP_DE, HP_JP, HP_US, check, found

# The minimal config renders HP-100 with 10 units in the US and 9 in DE.


def live_quantity(address: str, quantity: int):
    def edit(live: dict[str, Resource]) -> None:
        live[address] = replace(live[address], quantity=quantity)

    return edit


def orders(units: int) -> GuardrailContext:
    return GuardrailContext(open_order_units={("US", "HP-100"): units})


def planned_with_orders(
    config: Config, live_quantities: dict[tuple[str, str], int], open_units: dict
) -> tuple[Changeset, GuardrailReport]:
    """The plan `sync plan` makes once orders are pulled, and its verdicts: the desired state
    rendered from `live_quantities` with the open orders' units reserved, diffed against a
    live state holding those quantities."""
    reserved: dict[str, int] = {}
    for (_, sku), units in open_units.items():
        reserved[sku] = reserved.get(sku, 0) + units
    reservation = Reservation(reserved, {}, {code: NOW for code in config.marketplaces})
    desired = render(config, NOW, live_quantities, reservation=reservation)
    live = {
        a: replace(r, quantity=live_quantities.get(r.key, r.quantity))
        for a, r in desired.resources.items()
    }
    changes = diff(desired.resources, live)
    context = GuardrailContext(open_order_units=open_units)
    return changes, evaluate(changes, config, desired, now=NOW, context=context)


def test_a_cut_below_the_open_orders_that_stock_allocation_reserved_passes(make_config):
    # 12 units sold in DE: 30 on hand - 12 owed - buffer 2 leaves 16 to advertise, and live
    # holds 24, so allocation takes DE, furthest above its alert level, from 14 down to 6.
    live = {("US", "HP-100"): 5, ("DE", "HP-100"): 14, ("JP", "HP-100"): 5}
    changes, report = planned_with_orders(make_config(), live, {("DE", "HP-100"): 12})
    [cut] = changes.changes
    assert (cut.address, cut.before.quantity, cut.after.quantity) == (HP_DE, 14, 6)
    assert not found(report, "open_orders")
    [passed] = [v for v in report.verdicts if v.rule == "open_orders"]
    assert passed.message == (
        "MFN stock advertised plus units owed to open orders fits on hand; no listing with open "
        "orders is deleted"
    )


def test_a_desired_state_promising_more_than_on_hand_is_flagged_in_every_marketplace_selling_it(
    make_config,
):
    # Rendered without the orders reserved: 28 advertised (30 on hand - buffer 2), and 3
    # units owed on top, in two marketplaces. The plan changes nothing: the state is checked.
    context = GuardrailContext(open_order_units={("DE", "HP-100"): 1, ("US", "HP-100"): 2})
    report = check(make_config(), context=context)
    verdicts = found(report, "open_orders")
    assert [(v.address, v.level, v.outcome) for v in verdicts] == [
        (HP_US, "soft-mandatory", "block"),
        (HP_DE, "soft-mandatory", "block"),
        (HP_JP, "soft-mandatory", "block"),
    ]
    assert {v.message for v in verdicts} == {
        "HP-100: 28 unit(s) advertised (US 10, DE 9, JP 9) plus 3 owed to open unshipped orders "
        "(US 2, DE 1) is 31, above the 30 on hand: 1 unit(s) could not ship"
    }
    assert report.blocked


@pytest.mark.parametrize(("open_units", "flagged"), [(0, False), (2, False), (3, True)])
def test_advertised_plus_owed_may_reach_on_hand_but_not_exceed_it(make_config, open_units, flagged):
    report = check(make_config(), context=orders(open_units))
    assert bool(found(report, "open_orders")) is flagged


def test_an_on_hand_count_that_dropped_below_what_is_advertised_is_flagged(make_config):
    # The warehouse counted 5 after the orders were taken; live still advertises 4 in the
    # US (the SKU is in no other marketplace's stock): 4 + 3 owed is 7 of 5.
    config = make_config({"stock.csv": "sku,on_hand\nHP-100,5\nSPK-1,12\n"})
    live = {("US", "HP-100"): 4, ("DE", "HP-100"): 0, ("JP", "HP-100"): 0}
    desired = render(config, NOW, live)  # orders never reserved: 5 - buffer 2 = 3 kept
    assert desired.resources[HP_US].quantity == 3
    changed = {HP_US: replace(desired.resources[HP_US], quantity=4)}  # set by hand
    resources = {**desired.resources, **changed}
    report = evaluate(
        diff(resources, resources),
        config,
        replace(desired, resources=resources),
        now=NOW,
        context=orders(3),
    )
    [verdict] = found(report, "open_orders")
    assert verdict.address == HP_US
    assert verdict.message == (
        "HP-100: 4 unit(s) advertised (US 4) plus 3 owed to open unshipped orders (US 3) is 7, "
        "above the 5 on hand: 2 unit(s) could not ship"
    )


def test_skus_without_an_on_hand_count_or_fulfilled_by_amazon_are_not_checked(make_config):
    # HP-100 is not in the stock file (its live quantities are kept) and SPK-1 is FBA: Amazon
    # ships its orders from its own stock.
    config = make_config({"stock.csv": "sku,on_hand\nSPK-1,12\n"})
    live = {("US", "HP-100"): 50, ("DE", "HP-100"): 0, ("JP", "HP-100"): 0}
    open_units = {("US", "HP-100"): 40, ("US", "SPK-1"): 100}
    context = GuardrailContext(open_order_units=open_units)
    desired = render(config, NOW, live)
    assert desired.resources[HP_US].quantity == 50
    report = evaluate(
        diff(desired.resources, desired.resources), config, desired, now=NOW, context=context
    )
    assert not found(report, "open_orders")


def test_deleting_a_listing_with_open_orders_is_flagged(make_config):
    def stray(live: dict[str, Resource]) -> None:
        for sku in ("OLD-1", "OLD-2"):
            old = replace(live[HP_US], sku=sku)
            live[old.address] = old

    context = GuardrailContext(open_order_units={("US", "OLD-1"): 1, ("DE", "OLD-2"): 4})
    report = check(make_config(), stray, context=context, prune=lambda m, s: s.startswith("OLD"))
    [verdict] = found(report, "open_orders")  # OLD-2's orders are in DE, not on this listing
    assert (verdict.address, verdict.outcome) == ('listing.US["OLD-1"]', "block")
    assert verdict.message == (
        "deleting the listing with 1 unit(s) in open unshipped orders: deleting cancels none of "
        "them and they still have to ship; delete it once they have shipped"
    )


def test_unknown_orders_leave_deletes_and_quantity_increases_unchecked_as_a_warning(
    make_config,
):
    def edit(live: dict[str, Resource]) -> None:
        live[HP_US] = replace(live[HP_US], quantity=2)  # the plan raises it to 10
        live[HP_DE] = replace(live[HP_DE], quantity=25)  # the plan cuts it to 9
        old = replace(live[HP_US], sku="OLD-1")
        live[old.address] = old

    def edit_de_too(live: dict[str, Resource]) -> None:
        edit(live)
        old = replace(live[HP_DE], sku="OLD-2")
        live[old.address] = old

    report = check(make_config(), edit_de_too, prune=lambda m, s: s.startswith("OLD-"))
    verdicts = found(report, "open_orders")
    # Once for the plan, whatever the number of marketplaces: orders are pulled per account.
    assert [(v.marketplace, v.address, v.outcome, v.message) for v in verdicts] == [
        (
            None,
            None,
            "warn",
            "2 delete(s) (US 1, DE 1) and 1 MFN quantity increase(s) (US 1) not checked: "
            "open orders were not read (`sync orders pull`)",
        )
    ]


def test_a_quantity_cut_alone_is_neither_a_finding_nor_unchecked(make_config):
    assert not found(check(make_config(), live_quantity(HP_US, 25)), "open_orders")
    assert not found(
        check(make_config(), live_quantity(HP_US, 25), context=orders(0)), "open_orders"
    )


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
    def cut_both(live: dict[str, Resource]) -> None:
        live_quantity(HP_US, 25)(live)
        live_quantity(HP_DE, 25)(live)

    report = check(make_config(), cut_both)
    [verdict] = found(report, "account_health")  # one warning, not one per marketplace
    assert (verdict.outcome, verdict.scope) == ("warn", "plan")
    assert verdict.message.startswith(
        "2 stock cut(s) or delete(s) not checked (US 1, DE 1): account health is not fully known"
    )
