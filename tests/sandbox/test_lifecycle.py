"""Order lifecycle: planned fates replayed over time, and what cancellation allows."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta

import pytest

from engine.sandbox import lifecycle
from tests.sandbox.conftest import NOW
from tests.sandbox.orderfixtures import make_order


def test_advance_replays_payment_then_shipment():
    order = make_order(1, NOW)
    assert lifecycle.advance(order, NOW + timedelta(minutes=4)).status == "Pending"
    paid = lifecycle.advance(order, NOW + timedelta(minutes=5))
    assert (paid.status, paid.updated) == ("Unshipped", NOW + timedelta(minutes=5))
    shipped = lifecycle.advance(order, NOW + timedelta(days=1))
    assert shipped.status == "Shipped" and shipped.shipped_at == NOW + timedelta(hours=20)
    assert shipped.updated == shipped.shipped_at and not shipped.late
    assert shipped.next_event() is None


def test_a_buyer_cancellation_request_stops_the_warehouse():
    order = make_order(1, NOW, cancel_request_after=timedelta(hours=1))
    later = lifecycle.advance(order, NOW + timedelta(days=3))
    assert later.status == "Unshipped" and later.buyer_requested_cancel
    assert later.updated == NOW + timedelta(hours=1)


def test_late_shipment_and_defects():
    order = make_order(1, NOW, ship_after=timedelta(days=3), defect="a_to_z_claim")
    shipped = lifecycle.advance(order, NOW + timedelta(days=4))
    assert shipped.late
    assert shipped.defect_by(NOW + timedelta(days=4)) is None
    assert shipped.defect_by(NOW + timedelta(days=5)) == "a_to_z_claim"


def test_cancel_only_before_shipment():
    order = lifecycle.advance(make_order(1, NOW), NOW + timedelta(hours=1))
    canceled = lifecycle.cancel(order, NOW + timedelta(hours=1), by="seller", reason="NoInventory")
    assert (canceled.status, canceled.canceled_by) == ("Canceled", "seller")
    assert canceled.next_event() is None
    with pytest.raises(lifecycle.OrderStateError, match="is Canceled"):
        lifecycle.cancel(canceled, NOW + timedelta(hours=2), by="seller", reason="NoInventory")


def test_planned_fates_match_the_documented_shares():
    rng = random.Random(5)
    latest = NOW + timedelta(days=2)
    fates = [lifecycle.plan_fate(rng, "MFN", NOW, latest) for _ in range(20000)]

    def share(hits: Iterable[bool]) -> float:
        return sum(hits) / len(fates)

    assert share(f.ship_at > latest for f in fates) == pytest.approx(0.03, abs=0.005)
    assert share(not f.valid_tracking for f in fates) == pytest.approx(0.03, abs=0.005)
    assert share(f.cancel_request_at is not None for f in fates) == pytest.approx(0.02, abs=0.004)
    assert share(f.defect is not None for f in fates) == pytest.approx(0.008, abs=0.003)
    assert all(NOW < f.paid_at <= NOW + timedelta(minutes=30) for f in fates)
    afn = lifecycle.plan_fate(random.Random(5), "AFN", NOW, NOW + timedelta(days=1))
    assert afn.valid_tracking and afn.ship_at <= afn.paid_at + timedelta(hours=24)
