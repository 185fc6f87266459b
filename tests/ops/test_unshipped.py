"""Units sold but not shipped: what stock allocation reserves and the guardrails check."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.ops.unshipped import read_reservation, stored_reservation, unshipped_units
from engine.state import orders as order_store
from tests.ops.stored_orders import NOW, SELLER, order

PULLED_UNTIL = NOW - timedelta(minutes=2)


def test_unshipped_units_count_what_mfn_orders_placed_still_have_to_ship():
    orders = [
        order(1, "DE", "Unshipped"),
        order(2, "DE", "PartiallyShipped", shipped=2),
        order(3, "DE", "Pending", quantity=2),  # not paid yet: counted, see the module
        order(4, "DE", "PendingAvailability", quantity=1),  # a pre-order, not paid yet
        order(5, "DE", "Shipped", shipped=3),
        order(6, "DE", "InvoiceUnconfirmed", shipped=3),  # shipped, invoice pending
        order(7, "DE", "Canceled"),
        order(8, "DE", "Unshipped", channel="AFN"),  # Amazon ships it from FBA stock
        order(9, "US", "Unshipped", sku="SPK-1", quantity=1),
    ]
    assert unshipped_units(orders) == {("DE", "HP-100"): 3 + 1 + 2 + 1, ("US", "SPK-1"): 1}


def save(db, *orders, pulled=("US", "DE")):
    with db.write() as conn:
        for o in orders:
            order_store.save(conn, SELLER, o)
        for code in pulled:
            order_store.set_checkpoint(conn, SELLER, code, PULLED_UNTIL)


def test_nothing_pulled_reserves_nothing_and_says_unknown(db):
    save(db, order(1, "DE", "Unshipped"), pulled=())
    with db.read() as conn:
        assert read_reservation(conn, SELLER, ["US", "DE"]) is None


def test_a_reservation_sums_a_skus_units_over_the_pulled_marketplaces(db):
    two_lines = order(4, "DE", "Unshipped")
    two_lines = replace(
        two_lines, items=(*two_lines.items, replace(two_lines.items[0], order_item_id="x2"))
    )
    save(
        db,
        order(1, "US", "Pending", quantity=2),
        order(2, "DE", "PartiallyShipped", quantity=5, shipped=4),
        order(3, "DE", "Shipped", shipped=3),
        two_lines,
        order(5, "JP", "Unshipped", quantity=7),  # JP is never pulled: unknown
        order(6, "DE", "Unshipped", sku="SPK-1", channel="AFN"),
    )
    with db.read() as conn:
        reservation = read_reservation(conn, SELLER, ["US", "DE", "JP"])
    assert reservation is not None
    assert reservation.units == {"HP-100": 2 + 1 + 6}
    assert reservation.order_ids == {
        "HP-100": ("302-0000001-0000001", "302-0000002-0000002", "302-0000004-0000004")
    }
    assert reservation.pulled_until == {"US": PULLED_UNTIL, "DE": PULLED_UNTIL}
    assert reservation.not_pulled == ("JP",)


def test_a_marketplace_the_config_does_not_enable_is_not_read(db, make_config):
    config = make_config()  # US, DE, JP
    save(db, order(1, "FR", "Unshipped"), order(2, "DE", "Unshipped", quantity=1))
    with db.write() as conn:
        order_store.set_checkpoint(conn, SELLER, "FR", PULLED_UNTIL)
    reservation = stored_reservation(db, config)
    assert reservation is not None
    assert reservation.units == {"HP-100": 1}
    assert reservation.not_pulled == ("JP",)
