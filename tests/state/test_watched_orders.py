"""The watchdog's order memory: checkpoints move forward only, order lines count once."""

from __future__ import annotations

from datetime import timedelta

from engine.state import watched_orders
from tests.state.conftest import NOW, OTHER_SELLER, SELLER


def test_checkpoints_move_forward_only_per_marketplace(db):
    later = NOW + timedelta(hours=1)
    with db.write() as conn:
        assert watched_orders.checkpoint(conn, SELLER, "US") is None
        assert watched_orders.advance_checkpoint(conn, SELLER, "US", NOW) == NOW
        assert watched_orders.advance_checkpoint(conn, SELLER, "US", later) == later
        assert watched_orders.advance_checkpoint(conn, SELLER, "US", NOW) == later
        assert watched_orders.advance_checkpoint(conn, SELLER, "DE", NOW) == NOW
    with db.read() as conn:
        assert watched_orders.checkpoint(conn, SELLER, "US") == later
        assert watched_orders.checkpoint(conn, SELLER, "DE") == NOW
        assert watched_orders.checkpoint(conn, OTHER_SELLER, "US") is None


def _line(item: str, sku: str, minutes: int, units: int = 1) -> watched_orders.OrderUnits:
    return watched_orders.OrderUnits(
        item, f"O-{item}", "US", sku, NOW + timedelta(minutes=minutes), units
    )


def test_order_lines_read_twice_count_once_and_old_history_is_dropped(db):
    lines = [_line("1", "HP-100", 0, 2), _line("2", "HP-100", 30), _line("3", "SPK-1", 90)]
    with db.write() as conn:
        watched_orders.record_units(conn, SELLER, lines)
        watched_orders.record_units(conn, SELLER, lines[:2])  # the overlap window reads them again
    hour = NOW + timedelta(hours=1)
    with db.read() as conn:
        assert watched_orders.units_by_sku(conn, SELLER, "US", NOW, hour) == {"HP-100": 3}
        assert watched_orders.units_by_sku(conn, SELLER, "US", NOW, hour + timedelta(hours=1)) == {
            "HP-100": 3,
            "SPK-1": 1,
        }
        assert watched_orders.units_by_sku(conn, SELLER, "DE", NOW, hour) == {}
        assert watched_orders.units_by_sku(conn, OTHER_SELLER, "US", NOW, hour) == {}
    with db.write() as conn:
        assert watched_orders.forget_units_before(conn, SELLER, hour) == 2
    with db.read() as conn:
        assert watched_orders.units_by_sku(conn, SELLER, "US", NOW, hour + timedelta(hours=1)) == {
            "SPK-1": 1
        }


def test_order_lines_of_a_window_come_back_oldest_first(db):
    lines = [_line("2", "HP-100", 30), _line("1", "HP-100", 0, 2), _line("3", "SPK-1", 90)]
    with db.write() as conn:
        watched_orders.record_units(conn, SELLER, lines)
    with db.read() as conn:
        found = watched_orders.order_lines(conn, SELLER, "US", NOW, NOW + timedelta(hours=1))
    assert found == [lines[1], lines[0]]
