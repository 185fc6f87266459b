"""SpApiBackend against the running sandbox: per-item reads and writes, end to end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.core import jsonio
from engine.core.sale import SalePrice
from engine.live.attributes import OFFER
from engine.live.spapi import ANSWER_LOST
from engine.plan.diff import diff
from engine.sandbox import faults
from engine.sandbox.account import PROCESSING_DELAY
from tests.live.conftest import calls_of
from tests.sandbox.conftest import DE, SELLER, make_resource


def by_address(resources):
    return {r.address: r for r in resources}


def test_read_listing_is_the_resource_the_sandbox_was_seeded_with(backend, resources):
    seeded = {r.address: r for r in resources}
    got = backend.read_listing("DE", "HP-003")
    assert got is not None
    assert got.resource == seeded[got.address]
    assert got.resource.sale is not None and got.resource.sale.price == Decimal("44.99")
    assert got.asin and "DISCOVERABLE" in got.status
    call = calls_of(backend)[-1]
    assert (call.operation, call.marketplace, call.status, call.retries) == (
        "getListingsItem",
        "DE",
        200,
        0,
    )
    assert call.request_id


def test_read_listing_of_an_unknown_sku_is_none(backend):
    assert backend.read_listing("DE", "NOPE-1") is None
    assert calls_of(backend)[-1].status == 404


def test_read_details_batches_twenty_skus_a_call(backend, resources):
    skus = [r.sku for r in resources if r.marketplace == "DE"]
    found, unreadable = backend.read_details("DE", skus)
    assert len(skus) == 30 and set(found) == set(skus)
    assert unreadable == {}
    searches = [c for c in calls_of(backend) if c.operation == "searchListingsItems"]
    assert len(searches) == 2
    seeded = by_address(resources)
    assert found["HP-004"].resource == seeded['listing.DE["HP-004"]']  # FBA


def write_and_process(backend, sandbox, change):
    result = backend.write(change)
    sandbox.clock.advance(PROCESSING_DELAY)
    return result


def test_price_patch_keeps_the_live_sale(backend, sandbox):
    live = backend.read_listing("DE", "HP-003")
    want = replace(live.resource, our_price=Decimal("64.99"))
    change = diff({want.address: want}, {live.address: live.resource}).changes[0]
    assert [f.field for f in change.fields] == ["our_price"]
    result = write_and_process(backend, sandbox, change)
    assert result.status == "ACCEPTED" and result.submission_id
    after = backend.read_listing("DE", "HP-003").resource
    assert after.our_price == Decimal("64.99")
    assert after.sale == live.resource.sale  # read-merge-replace kept it
    operations = [c.operation for c in calls_of(backend)]
    assert operations[-3:-1] == ["getListingsItem", "patchListingsItem"]


def test_quantity_texts_list_price_and_sale_changes_land(backend, sandbox):
    live = backend.read_listing("DE", "HP-010").resource
    sale = SalePrice(
        Decimal("19.50"), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC)
    )
    want = replace(
        live,
        quantity=42,
        title="Sonora HP-010 – Kopfhörer „Studio“",
        bullet_points=("Leicht",),
        list_price=Decimal("49.99"),
        sale=sale,
        maximum_seller_allowed_price=None,
    )
    change = diff({want.address: want}, {live.address: live}).changes[0]
    assert write_and_process(backend, sandbox, change).status == "ACCEPTED"
    assert backend.read_listing("DE", "HP-010").resource == want


def test_create_put_and_delete(backend, sandbox):
    new = make_resource("FR", "NEW-1", "33.30", language="fr", quantity=2)
    create = diff({new.address: new}, {}).changes[0]
    assert write_and_process(backend, sandbox, create).status == "ACCEPTED"
    assert calls_of(backend)[-1].operation == "putListingsItem"
    assert backend.read_listing("FR", "NEW-1").resource == new
    delete = diff({}, {new.address: new}, prune=lambda m, s: True).changes[0]
    assert write_and_process(backend, sandbox, delete).status == "ACCEPTED"
    assert calls_of(backend)[-1].operation == "deleteListingsItem"
    assert backend.read_listing("FR", "NEW-1") is None


def test_refused_write_is_invalid_with_amazons_issues(backend):
    live = backend.read_listing("DE", "HP-011").resource
    want = replace(live, currency="USD", fulfillment_channel="MFN", product_type="SPEAKERS")
    change = diff({want.address: want}, {live.address: live}).changes[0]
    result = backend.write(change)
    assert result.status == "INVALID"
    assert any("USD" in i["message"] for i in result.issues)


def test_current_offer_other_audiences_survive(backend, sandbox, raw):
    """A B2B offer set outside sellersync is kept when our_price changes."""
    url = f"/listings/2021-08-01/items/{SELLER}/HP-012"

    def offers():
        got = raw.get(url, params={"marketplaceIds": DE, "includedData": "attributes"})
        return jsonio.loads(got.text)["attributes"][OFFER]

    b2b = {"marketplace_id": DE, "currency": "EUR", "audience": "B2B"}
    b2b["our_price"] = [{"schedule": [{"value_with_tax": Decimal("20.00")}]}]
    patch = {
        "productType": "HEADPHONES",
        "patches": [{"op": "replace", "path": f"/attributes/{OFFER}", "value": [*offers(), b2b]}],
    }
    sent = raw.patch(
        url,
        params={"marketplaceIds": DE},
        content=jsonio.dumps(patch),
        headers={"content-type": "application/json"},
    )
    assert sent.json()["status"] == "ACCEPTED"
    sandbox.clock.advance(PROCESSING_DELAY)
    live = backend.read_listing("DE", "HP-012").resource
    want = replace(live, our_price=Decimal("30.00"))
    write_and_process(backend, sandbox, diff({want.address: want}, {live.address: live}).changes[0])
    assert sorted(o["audience"] for o in offers()) == ["ALL", "B2B"]
    assert backend.read_listing("DE", "HP-012").resource.our_price == Decimal("30.00")


@pytest.mark.parametrize("count", [3])
def test_write_bulk_below_the_threshold_goes_per_item(make_backend, sandbox, count):
    backend = make_backend(bulk_threshold=10)
    changes = []
    for i in range(count):
        live = backend.read_listing("DE", f"HP-02{i}").resource
        want = replace(live, quantity=(live.quantity or 0) + 1)
        changes.append(diff({want.address: want}, {live.address: live}).changes[0])
    results = backend.write_bulk(changes)
    assert [r.address for r in results] == [c.address for c in changes]
    assert {r.status for r in results} == {"ACCEPTED"}
    assert [c.operation for c in calls_of(backend)].count("patchListingsItem") == count


# -- writes whose answer is lost are never repeated blindly -------------------------------------


def quantity_change(backend, sku: str, quantity: int):
    live = backend.read_listing("DE", sku).resource
    want = replace(live, quantity=quantity)
    return diff({want.address: want}, {live.address: live}).changes[0]


def patches_sent(backend) -> int:
    return [c.operation for c in calls_of(backend)].count("patchListingsItem")


@pytest.mark.parametrize(
    ("fault", "landed"),
    [
        (lambda store: faults.set_lost_answers(store, 1, operations=["patchListingsItem"]), True),
        (
            lambda store: faults.set_dropped_connections(
                store, 1, when="after", operations=["patchListingsItem"]
            ),
            True,
        ),
        (
            lambda store: faults.set_dropped_connections(
                store, 1, when="before", operations=["patchListingsItem"]
            ),
            False,
        ),
    ],
    ids=["lost answer", "dropped after", "dropped before"],
)
def test_a_write_whose_answer_is_lost_is_unknown_and_sent_once(backend, sandbox, fault, landed):
    change = quantity_change(backend, "HP-005", 77)
    before = change.before.quantity
    fault(sandbox.store)
    result = write_and_process(backend, sandbox, change)
    assert result.status == "UNKNOWN"
    assert result.issues[0]["code"] == ANSWER_LOST
    assert "patchListingsItem (DE)" in result.issues[0]["message"]
    assert patches_sent(backend) == 1  # not retried: it may have been applied
    faults.clear(sandbox.store)
    assert backend.read_listing("DE", "HP-005").resource.quantity == (77 if landed else before)


def test_a_throttled_write_is_retried_since_amazon_did_nothing(make_backend, sandbox):
    backend = make_backend()
    change = quantity_change(backend, "HP-005", 77)
    faults.set_throttle_storm(
        sandbox.store,
        until=sandbox.clock.now() + timedelta(seconds=3),
        operations=["patchListingsItem"],
    )
    assert write_and_process(backend, sandbox, change).status == "ACCEPTED"
    assert patches_sent(backend) > 1
    assert backend.read_listing("DE", "HP-005").resource.quantity == 77


def test_a_write_whose_offer_cannot_be_read_is_not_sent(make_backend, sandbox):
    backend = make_backend(attempts=2)
    live = backend.read_listing("DE", "HP-003").resource
    want = replace(live, our_price=Decimal("64.99"))
    change = diff({want.address: want}, {live.address: live}).changes[0]
    faults.set_throttle_storm(sandbox.store, operations=["getListingsItem"])
    result = backend.write(change)
    assert result.status == "FAILED" and patches_sent(backend) == 0
    (issue,) = result.issues
    assert issue["code"] == "NotSent"
    assert issue["message"].startswith(
        "the live offer could not be read: Amazon kept answering getListingsItem for DE with "
        "HTTP 429 QuotaExceeded"
    )
