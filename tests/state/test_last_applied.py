"""Last-applied values: stored as the Resource's JSON view, read back in the Resource's types,
and usable as the third side of `diff`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from engine.core.fields import MANAGED_FIELDS
from engine.core.sale import SalePrice
from engine.plan.diff import diff
from engine.state import last_applied
from engine.state.tables import last_applied as last_applied_table
from tests.sandbox.conftest import make_resource
from tests.state.conftest import NOW, OTHER_SELLER, SELLER

SALE = SalePrice(
    Decimal("44.99"), datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
)


def record(db, resource, seller: str = SELLER) -> None:
    with db.write() as conn:
        last_applied.record(conn, seller, resource, NOW)


def load(db, seller: str = SELLER) -> dict:
    with db.read() as conn:
        return last_applied.load(conn, seller)


def test_values_come_back_in_the_resource_types(db):
    on_sale = make_resource("DE", "HP-100", "59.99", sale=SALE, list_price="79.99")
    fba = make_resource("DE", "HP-200", "24.90", fba=True)
    record(db, on_sale)
    record(db, fba)
    stored = load(db)
    for resource in (on_sale, fba):
        assert stored[resource.address] == {f: getattr(resource, f) for f in MANAGED_FIELDS}
    values = stored[on_sale.address]
    assert type(values["our_price"]) is Decimal and values["our_price"] == Decimal("59.99")
    assert values["sale"] == SALE
    assert values["bullet_points"] == ("Light", "Foldable")
    assert stored[fba.address]["quantity"] is None


def test_decimals_are_stored_as_exact_strings(db):
    record(db, make_resource("DE", "HP-100", "59.90"))
    with db.read() as conn:
        raw = conn.execute(sa.select(sa.cast(last_applied_table.c.fields, sa.Text))).scalar_one()
    assert '"our_price":"59.90"' in raw


def test_recording_again_replaces_and_forget_removes(db):
    first = make_resource("DE", "HP-100", "59.99")
    record(db, first)
    record(db, dataclasses.replace(first, our_price=Decimal("54.99")))
    record(db, make_resource("DE", "HP-100", "9.99"), seller=OTHER_SELLER)
    assert load(db)[first.address]["our_price"] == Decimal("54.99")
    with db.write() as conn:
        last_applied.forget(conn, SELLER, first.address)
    assert load(db) == {}
    assert load(db, OTHER_SELLER)[first.address]["our_price"] == Decimal("9.99")


def test_diff_tells_drift_from_config_changes_with_stored_values(db):
    applied = make_resource("DE", "HP-100", "59.99", sale=SALE)
    record(db, applied)
    live = dataclasses.replace(applied, our_price=Decimal("49.99"), quantity=3)
    desired = dataclasses.replace(applied, quantity=12)
    changeset = diff({applied.address: desired}, {applied.address: live}, load(db))
    causes = {f.field: f.cause for f in changeset.changes[0].fields}
    assert causes == {"our_price": "drift", "quantity": "both"}
    drifted = {d.field: (d.last_applied, d.live) for d in changeset.drift}
    assert drifted["our_price"] == (Decimal("59.99"), Decimal("49.99"))


def test_withdraw_forgets_only_the_values_it_recorded(db):
    never_landed = make_resource("DE", "HP-100", "35.99")
    record(db, never_landed)
    record(db, make_resource("DE", "HP-200", "24.90"))
    with db.write() as conn:
        assert last_applied.withdraw(conn, SELLER, never_landed) is True
    assert set(load(db)) == {'listing.DE["HP-200"]'}

    later = make_resource("DE", "HP-200", "26.90")  # a later apply wrote other values
    record(db, later)
    with db.write() as conn:
        assert last_applied.withdraw(conn, SELLER, make_resource("DE", "HP-200", "24.90")) is False
        assert last_applied.withdraw(conn, OTHER_SELLER, later) is False
    assert load(db)['listing.DE["HP-200"]']["our_price"] == Decimal("26.90")


def test_applied_times_name_when_each_listing_was_recorded(db):
    later = NOW + timedelta(hours=3)
    record(db, make_resource("DE", "HP-100", "59.99"))
    with db.write() as conn:
        last_applied.record(conn, SELLER, make_resource("US", "HP-100", "64.99"), later)
    record(db, make_resource("FR", "HP-100", "59.99"), seller=OTHER_SELLER)
    wanted = [f'listing.{m}["HP-100"]' for m in ("DE", "US", "FR")] * 400  # past one chunk
    with db.read() as conn:
        times = last_applied.applied_times(conn, SELLER, wanted)
    assert times == {'listing.DE["HP-100"]': NOW, 'listing.US["HP-100"]': later}


def test_written_since_names_the_listings_recorded_after_a_time(db):
    old, new = make_resource("DE", "HP-100", "19.99"), make_resource("DE", "HP-200", "29.99")
    with db.write() as conn:
        last_applied.record(conn, SELLER, old, NOW - timedelta(hours=3))
        last_applied.record(conn, SELLER, new, NOW)
        last_applied.record(conn, OTHER_SELLER, old, NOW)
    with db.read() as conn:
        since = last_applied.written_since(conn, SELLER, NOW - timedelta(hours=2))
    assert since == {new.address}
