"""Blast radius on a synthetic marketplace of 20 listings: the share rule and deletes."""

from dataclasses import replace
from decimal import Decimal

from engine.core.resource import Resource
from engine.guardrails.context import GuardrailContext
from tests.guardrails.conftest import HP_US, check, found


def reprice_us(count: int):
    """Live has `count` extra US listings (unmanaged) plus HP-100 at another price."""

    def edit(live: dict[str, Resource]) -> None:
        live[HP_US] = replace(live[HP_US], our_price=Decimal("58.00"))
        for i in range(count):
            stray = replace(live[HP_US], sku=f"OLD-{i}")
            live[stray.address] = stray

    return edit


def test_repricing_a_large_share_needs_approval_from_the_minimum_count_on(make_config):
    config = make_config()
    # One price change among 2 US listings is 50 %, but below min_price_changes (5).
    assert not found(check(config, reprice_us(0)), "blast_radius")
    # With live counts known, 1 of 4 is 25 % > 20 %: still one change, still below 5.
    context = GuardrailContext(live_listing_counts={"US": 4})
    assert not found(check(config, reprice_us(0), context=context), "blast_radius")


def test_share_is_measured_against_the_live_count(make_config):
    us = """\
        marketplace: US
        guardrails:
          blast_radius: {min_price_changes: 1, max_price_change_share_pct: 20}
        """
    config = make_config({"marketplaces/US.yaml": us})
    small = GuardrailContext(live_listing_counts={"US": 4})
    [verdict] = found(check(config, reprice_us(0), context=small), "blast_radius")
    assert (verdict.marketplace, verdict.address, verdict.outcome) == ("US", None, "block")
    assert verdict.message.startswith("1 of 4 live listings change a price or price bound (25%)")
    large = GuardrailContext(live_listing_counts={"US": 10})
    assert not found(check(config, reprice_us(0), context=large), "blast_radius")
    # Without live counts: the 2 managed US listings (HP-100, SPK-1) -> 50 %.
    [unknown] = found(check(config, reprice_us(0)), "blast_radius")
    assert unknown.message.startswith("1 of 2 live listings change a price or price bound (50%)")


def test_deletes_beyond_the_allowance_need_approval(make_config):
    prune = lambda marketplace, sku: sku.startswith("OLD-")  # noqa: E731
    [verdict] = found(check(make_config(), reprice_us(2), prune=prune), "blast_radius")
    assert verdict.message == "2 listing(s) deleted; more than 0 in one apply needs approval"
    us = "marketplace: US\nguardrails:\n  blast_radius: {max_deletes: 2}\n"
    report = check(make_config({"marketplaces/US.yaml": us}), reprice_us(2), prune=prune)
    assert not found(report, "blast_radius")
