"""Tripped breakers in the state store: kept until reset, first incident wins."""

from __future__ import annotations

from datetime import timedelta

from engine.state import breakers as breaker_store
from engine.state.breakers import Breaker
from tests.state.conftest import NOW, OTHER_SELLER, SELLER

TRIP = Breaker("US", "HP-100", NOW, "41 orders at 1.00 USD in 10 min", "INC-2026-001")


def test_a_tripped_breaker_is_kept_until_reset(db):
    with db.write() as conn:
        assert breaker_store.trip(conn, SELLER, TRIP) == TRIP
    with db.read() as conn:
        assert breaker_store.tripped(conn, SELLER) == [TRIP]
        assert breaker_store.tripped(conn, OTHER_SELLER) == []
    with db.write() as conn:
        assert breaker_store.reset(conn, SELLER, "US", "HP-100") is True
        assert breaker_store.reset(conn, SELLER, "US", "HP-100") is False
        assert breaker_store.tripped(conn, SELLER) == []


def test_tripping_again_keeps_the_first_incident(db):
    again = Breaker("US", "HP-100", NOW + timedelta(minutes=5), "more orders", "INC-2026-002")
    with db.write() as conn:
        breaker_store.trip(conn, SELLER, TRIP)
        assert breaker_store.trip(conn, SELLER, again) == TRIP
        assert breaker_store.tripped(conn, SELLER) == [TRIP]
