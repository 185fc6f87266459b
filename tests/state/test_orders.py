"""The order store's filters, on SQLite and PostgreSQL."""

from __future__ import annotations

from engine.state import orders as order_store
from engine.state.orders import OrderFilter
from tests.ops.stored_orders import SELLER, order


def test_statuses_keep_orders_in_any_of_them(db):
    with db.write() as conn:
        for n, status in enumerate(("Pending", "Unshipped", "Shipped", "Canceled"), start=1):
            order_store.save(conn, SELLER, order(n, "DE", status))
        order_store.save(conn, SELLER, order(5, "US", "Pending"))
    with db.read() as conn:
        found = order_store.find(
            conn, SELLER, OrderFilter("DE", statuses=("Pending", "Unshipped", "PartiallyShipped"))
        )
        nothing = order_store.find(conn, SELLER, OrderFilter(statuses=()))
    assert [(s.order.marketplace, s.order.status) for s in found] == [
        ("DE", "Pending"),
        ("DE", "Unshipped"),
    ]
    assert nothing == []
