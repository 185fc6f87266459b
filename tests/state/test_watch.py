"""Breakers stay tripped across runs until reset; checkpoints only move forward."""

from __future__ import annotations

from datetime import timedelta

from engine.state import watch
from engine.state.watch import Breaker
from tests.state.conftest import NOW, OTHER_SELLER, SELLER

TRIP = Breaker("US", "HP-100", NOW, "41 orders at 1.00 USD in 10 min", "INC-2026-001")


def test_a_tripped_breaker_is_kept_until_reset(db):
    with db.write() as conn:
        assert watch.trip(conn, SELLER, TRIP) == TRIP
    with db.read() as conn:
        assert watch.tripped(conn, SELLER) == [TRIP]
        assert watch.tripped(conn, OTHER_SELLER) == []
    with db.write() as conn:
        assert watch.reset(conn, SELLER, "US", "HP-100") is True
        assert watch.reset(conn, SELLER, "US", "HP-100") is False
        assert watch.tripped(conn, SELLER) == []


def test_tripping_again_keeps_the_first_incident(db):
    again = Breaker("US", "HP-100", NOW + timedelta(minutes=5), "more orders", "INC-2026-002")
    with db.write() as conn:
        watch.trip(conn, SELLER, TRIP)
        assert watch.trip(conn, SELLER, again) == TRIP
        assert watch.tripped(conn, SELLER) == [TRIP]


def test_checkpoints_move_forward_only_per_marketplace(db):
    later = NOW + timedelta(hours=1)
    with db.write() as conn:
        assert watch.checkpoint(conn, SELLER, "US") is None
        assert watch.advance_checkpoint(conn, SELLER, "US", NOW) == NOW
        assert watch.advance_checkpoint(conn, SELLER, "US", later) == later
        assert watch.advance_checkpoint(conn, SELLER, "US", NOW) == later
        assert watch.advance_checkpoint(conn, SELLER, "DE", NOW) == NOW
    with db.read() as conn:
        assert watch.checkpoint(conn, SELLER, "US") == later
        assert watch.checkpoint(conn, SELLER, "DE") == NOW
        assert watch.checkpoint(conn, OTHER_SELLER, "US") is None


def _line(item: str, sku: str, minutes: int, units: int = 1) -> watch.OrderUnits:
    return watch.OrderUnits(item, f"O-{item}", "US", sku, NOW + timedelta(minutes=minutes), units)


def test_order_lines_read_twice_count_once_and_old_history_is_dropped(db):
    lines = [_line("1", "HP-100", 0, 2), _line("2", "HP-100", 30), _line("3", "SPK-1", 90)]
    with db.write() as conn:
        watch.record_units(conn, SELLER, lines)
        watch.record_units(conn, SELLER, lines[:2])  # the overlap window reads them again
    hour = NOW + timedelta(hours=1)
    with db.read() as conn:
        assert watch.units_by_sku(conn, SELLER, "US", NOW, hour) == {"HP-100": 3}
        assert watch.units_by_sku(conn, SELLER, "US", NOW, hour + timedelta(hours=1)) == {
            "HP-100": 3,
            "SPK-1": 1,
        }
        assert watch.units_by_sku(conn, SELLER, "DE", NOW, hour) == {}
        assert watch.units_by_sku(conn, OTHER_SELLER, "US", NOW, hour) == {}
    with db.write() as conn:
        assert watch.forget_units_before(conn, SELLER, hour) == 2
    with db.read() as conn:
        assert watch.units_by_sku(conn, SELLER, "US", NOW, hour + timedelta(hours=1)) == {
            "SPK-1": 1
        }


def test_order_lines_of_a_window_come_back_oldest_first(db):
    lines = [_line("2", "HP-100", 30), _line("1", "HP-100", 0, 2), _line("3", "SPK-1", 90)]
    with db.write() as conn:
        watch.record_units(conn, SELLER, lines)
    with db.read() as conn:
        found = watch.order_lines(conn, SELLER, "US", NOW, NOW + timedelta(hours=1))
    assert found == [lines[1], lines[0]]
