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
