"""The incident scenario: a 99 %-off promo code on the US headphones runs overnight."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta
from decimal import Decimal

import pytest

from engine.sandbox import listings, scenario
from engine.sandbox.clock import VirtualClock
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.promotions import Promotion, PromotionError
from engine.sandbox.runtime import Sandbox
from tests.sandbox.conftest import NOW, SELLER, US, make_resource


def us(sku: str, price: str, **options) -> object:
    return make_resource("US", sku, price, currency="USD", language="en", **options)


@pytest.fixture
def box(tmp_path):
    # The seed suppresses the first listing (price typo), drops the last and drifts the 6th's
    # price: cables take those places so the headphones are live as given.
    resources = [
        us("CBL-0", "9.99"),
        us("HP-100", "49.99", quantity=31),
        us("HP-200", "89.99", quantity=13),
        us("HP-DJ-1", "109.99", quantity=1),
        us("HP-300", "129.99", fba=True),
        us("CBL-1", "9.99", quantity=50),
        us("CBL-9", "9.99"),
    ]
    box = Sandbox.open(tmp_path, seed=(SELLER, resources), clock=VirtualClock.frozen_at(NOW))
    yield box
    box.store.close()


def test_incident_sells_the_mfn_stock_at_about_one_dollar(box):
    summary = scenario.incident(box.account, box.advance, random.Random(11))
    assert "300 units in total" in summary.notes[0] and "HP-100 100" in summary.notes[0]
    assert box.clock.now() == NOW + timedelta(hours=scenario.INCIDENT_HOURS)
    mfn = [o for o in summary.orders if o.channel == "MFN" and o.items[0].sku.startswith("HP-")]
    assert 200 <= len(mfn) <= 300
    assert sum(o.units for o in mfn) == 300
    unit_prices = [o.items[0].paid / o.items[0].quantity for o in mfn]
    assert min(unit_prices) == Decimal("0.50") and max(unit_prices) == Decimal("1.10")
    assert statistics.median(unit_prices) <= Decimal("1.10")
    with box.store.read() as tx:
        (promotion,) = OrderTables(tx).promotions()
        assert promotion.redemptions == len([o for o in summary.orders if o.items[0].promotion_ids])
        for sku in ("HP-100", "HP-200", "HP-DJ-1"):
            assert listings.mfn_quantity(tx.listing(SELLER, sku, US).attributes) == 0
    assert all(o.items[0].promotion_ids == (promotion.promotion_id,) for o in mfn)
    sold_out = {s.sku: s.at for s in summary.sold_out}
    assert set(sold_out) >= {"HP-100", "HP-200", "HP-DJ-1"}
    for order in mfn:
        assert order.purchase_date <= sold_out[order.items[0].sku]
    # The cable is not a headphone: no promotion applies to it.
    cables = [o for o in summary.orders if o.items[0].sku == "CBL-1"]
    assert cables and all(not o.items[0].promotion_ids for o in cables)


def test_a_refused_incident_changes_nothing(box):
    taken = Promotion(
        promotion_id=f"INCIDENT-{NOW:%Y%m%d%H%M}",
        kind="percent-off",
        discount_pct=Decimal(5),
        sku_pattern="CBL-*",
        marketplace_id=US,
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        created_at=NOW,
    )
    scenario.add_promotion(box.account, taken)
    with box.store.read() as tx:
        before = tx.listings(SELLER, [US])
    with pytest.raises(PromotionError, match="already exists"):
        scenario.incident(box.account, box.advance, random.Random(1))
    with box.store.read() as tx:
        assert OrderTables(tx).promotions() == [taken]
        assert tx.listings(SELLER, [US]) == before
    assert box.clock.now() == NOW
