"""SQLite state shared between processes, idempotent reset, and the seeded differences."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.core import jsonio
from engine.core.marketplaces import MARKETPLACES
from engine.sandbox.account import Account
from engine.sandbox.seed import build_seed, resource_attributes, seed_store
from engine.sandbox.store import FILENAME, Store
from tests.sandbox.conftest import DE, JP, NOW, SELLER, demo_resources, make_resource

REPO = Path(__file__).resolve().parents[2]


def seeded(tmp_path: Path) -> Store:
    store = Store(tmp_path)
    seed_store(store, SELLER, demo_resources(), NOW)
    return store


def test_differences_are_deterministic_and_documented(tmp_path):
    _, first = build_seed(SELLER, demo_resources(), NOW)
    _, again = build_seed(SELLER, demo_resources(), NOW)
    assert first == again
    kinds = [(d.kind, d.marketplace, d.sku) for d in first]
    assert kinds == [
        ("issue", "DE", "HP-000"),
        ("quantity", "DE", "HP-001"),
        ("price", "DE", "HP-005"),
        ("price", "FR", "HP-001"),
        ("missing", "JP", "HP-001"),
        ("unmanaged", "DE", "LEGACY-HP-000"),
    ]
    assert first[2].detail == "our_price 26.24 EUR (desired 24.99)"
    assert first[3].detail == "our_price 23.09 EUR (desired 21.99)"


def test_seeded_state_has_each_difference(tmp_path):
    store = seeded(tmp_path)
    with store.read() as tx:
        assert tx.listing(SELLER, "HP-001", JP) is None  # missing
        assert tx.listing(SELLER, "LEGACY-HP-000", DE) is not None  # unmanaged
        drifted = tx.listing(SELLER, "HP-001", DE)
        assert drifted.attributes["fulfillment_availability"][0]["quantity"] == 6  # 2 + 4
        typo = tx.listing(SELLER, "HP-000", DE).attributes["purchasable_offer"][0]
        assert typo["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("1999.00")
        assert [i["code"] for i in tx.issues(SELLER, "HP-000", DE)] == ["POTENTIAL_PRICING_ERROR"]
        # Only the deliberate issue: no other listing has one.
        assert list(tx.issue_severities(SELLER)) == [("HP-000", DE)]
        assert tx.count_listings(SELLER) == 33  # 33 desired - 1 missing + 1 unmanaged


def test_resource_attributes_follow_amazon_shapes():
    from datetime import UTC, datetime

    from engine.core.sale import SalePrice

    sale = SalePrice(
        Decimal("44.99"), datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    )
    res = make_resource("DE", "HP-9", "59.99", sale=sale, list_price="79.99")
    attrs = resource_attributes(res)
    assert attrs["item_name"] == [
        {"value": "Sonora HP-9", "language_tag": "de_DE", "marketplace_id": DE}
    ]
    assert [b["value"] for b in attrs["bullet_point"]] == ["Light", "Foldable"]
    (offer,) = attrs["purchasable_offer"]
    assert offer["currency"] == "EUR" and offer["audience"] == "ALL"
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": Decimal("59.99")}]}]
    assert offer["discounted_price"][0]["schedule"][0] == {
        "value_with_tax": Decimal("44.99"),
        "start_at": "2026-11-20T00:00:00.000Z",
        "end_at": "2026-11-30T00:00:00.000Z",
    }
    assert offer["maximum_seller_allowed_price"][0]["schedule"][0]["value_with_tax"] == Decimal(
        "400.00"
    )
    assert attrs["list_price"] == [
        {"value": Decimal("79.99"), "currency": "EUR", "marketplace_id": DE}
    ]
    assert attrs["fulfillment_availability"][0]["quantity"] == 10
    fba = resource_attributes(make_resource("JP", "X", "2980", currency="JPY", fba=True))
    assert fba["fulfillment_availability"] == [
        {"fulfillment_channel_code": "AMAZON_JP", "marketplace_id": JP}
    ]


def test_reset_is_idempotent_and_restores_the_seed(tmp_path, clock):
    store = seeded(tmp_path)
    with store.read() as tx:
        original = tx.listings(SELLER, [DE])
    account = Account(store, clock)
    account.edit_listing("HP-002", "DE", lambda li: replace(li, product_type="CHANGED"))
    account.put_item(
        SELLER,
        "HP-077",
        [DE],
        {
            "productType": "X",
            "attributes": resource_attributes(make_resource("DE", "HP-077", "9.99")),
        },
    )
    with store.write() as tx:
        tx.set_fault("slow", {"seconds": 1, "probability": 1, "operations": None})
    store.reset()
    store.reset()
    with store.read() as tx:
        assert tx.listings(SELLER, [DE]) == original
        assert tx.all_pending() == [] and tx.faults() == {}


def test_two_store_objects_share_one_account(tmp_path, clock):
    store = seeded(tmp_path)
    other = Store(tmp_path)
    Account(store, clock).edit_listing("HP-002", "DE", lambda li: replace(li, fba_quantity=42))
    with other.read() as tx:
        assert tx.listing(SELLER, "HP-002", DE).fba_quantity == 42
    assert (tmp_path / FILENAME).exists()


def test_another_process_sees_writes_and_processing(tmp_path, clock):
    """A put accepted here is processed by another process once its time has come."""
    store = seeded(tmp_path)
    account = Account(store, clock)
    body = {
        "productType": "HEADPHONES",
        "attributes": resource_attributes(make_resource("DE", "HP-500", "12.34")),
    }
    assert account.put_item(SELLER, "HP-500", [DE], body)["status"] == "ACCEPTED"
    later = (NOW + timedelta(minutes=5)).isoformat()
    script = f"""
import sys
from datetime import datetime
from engine.sandbox.account import Account
from engine.sandbox.clock import VirtualClock
from engine.sandbox.store import Store
store = Store(sys.argv[1])
account = Account(store, VirtualClock.frozen_at(datetime.fromisoformat({later!r})))
print(account.process_due())
item = account.get_item({SELLER!r}, "HP-500", [{DE!r}], ["offers"])
print(item["offers"][0]["price"]["amount"])
"""
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.split()
    assert out == ["1", "12.34"]
    with store.read() as tx:
        assert tx.all_pending() == []


def test_money_round_trips_exactly_through_sqlite(tmp_path):
    store = seeded(tmp_path)
    with store.read() as tx:
        listing = tx.listing(SELLER, "HP-003", DE)
    offer = listing.attributes["purchasable_offer"][0]
    assert offer["discounted_price"][0]["schedule"][0]["value_with_tax"] == Decimal("44.99")
    raw = jsonio.dumps(listing.attributes)
    assert '"value_with_tax":59.99' in raw and "59.989" not in raw


def test_access_tokens_are_stored_hashed(tmp_path, clock):
    store = seeded(tmp_path)
    token = Account(store, clock).issue_token(wall_now=1_000.0)
    assert Account(Store(tmp_path), clock).token_state(token, 2_000.0) == "valid"
    assert Account(store, clock).token_state(token, 1_000.0 + 3600) == "expired"
    assert token.encode() not in (tmp_path / FILENAME).read_bytes()
    wal = tmp_path / (FILENAME + "-wal")
    assert not wal.exists() or token.encode() not in wal.read_bytes()


def test_seed_refuses_empty_or_duplicate_input():
    with pytest.raises(ValueError, match="empty"):
        build_seed(SELLER, [], NOW)
    dup = make_resource("DE", "A", "9.99")
    with pytest.raises(ValueError, match="duplicate"):
        build_seed(SELLER, [dup, dup], NOW)


@pytest.mark.skipif(
    not (REPO / "config" / "project.yaml").exists(), reason="demo config not present"
)
def test_demo_config_seeds_every_kind_of_difference(tmp_path):
    from engine.config import load_config
    from engine.desired.render import render

    config = load_config(REPO / "config")
    resources = list(render(config, NOW).resources.values())
    seed, differences = build_seed(config.project.seller_id, resources, NOW)
    kinds = {d.kind for d in differences}
    assert kinds == {"missing", "issue", "quantity", "price", "unmanaged"}
    assert len(seed.listings) == len(resources)  # one missing, one unmanaged
    assert set(seed.marketplaces) == set(config.marketplaces)
    assert all(m in MARKETPLACES for m in seed.marketplaces)
    assert [k for k, issues in seed.issues.items() if issues] == [
        next(
            (d.sku, MARKETPLACES[d.marketplace].marketplace_id)
            for d in differences
            if d.kind == "issue"
        )
    ]
