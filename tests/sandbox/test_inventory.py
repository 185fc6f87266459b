"""FBA Inventory getInventorySummaries through python-amazon-sp-api's Inventories client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sp_api.api import Inventories
from sp_api.base.exceptions import SellingApiBadRequestException

from engine.core.resource import Resource
from tests.sandbox.conftest import DE, FR, make_resource


@pytest.fixture
def resources() -> list[Resource]:
    """55 FBA listings in DE (more than a page of 50) and one merchant-fulfilled one."""
    fba = [make_resource("DE", f"FBA-{i:03d}", "30.00", fba=True) for i in range(55)]
    return [*fba, make_resource("DE", "MFN-1", "20.00"), make_resource("FR", "MFN-2", "20.00")]


def held(sandbox, sku: str) -> int:
    with sandbox.store.read() as tx:
        return tx.listing(sandbox.account.seller_id, sku, DE).fba_quantity


def test_summaries_page_through_fba_listings(sandbox, inventory_client):
    first = inventory_client.get_inventory_summary_marketplace(details=True)
    summaries = first.payload["inventorySummaries"]
    assert first.payload["granularity"] == {"granularityType": "Marketplace", "granularityId": DE}
    assert len(summaries) == 50 and first.next_token
    top = summaries[0]
    assert top["sellerSku"] == "FBA-000" and top["totalQuantity"] == held(sandbox, "FBA-000")
    assert top["inventoryDetails"]["fulfillableQuantity"] == top["totalQuantity"]
    assert top["fnSku"] == top["asin"] and top["condition"] == "NewItem"
    rest = inventory_client.get_inventory_summary_marketplace(
        details=True, nextToken=first.next_token
    )
    skus = [s["sellerSku"] for s in summaries + rest.payload["inventorySummaries"]]
    expected = [f"FBA-{i:03d}" for i in range(55)] + ["LEGACY-FBA-000"]  # the seeded unmanaged
    assert skus == expected and rest.next_token is None


def test_filters_by_skus_and_by_change_time(sandbox, inventory_client):
    picked = inventory_client.get_inventory_summary_marketplace(
        sellerSkus=["FBA-003", "FBA-007", "MFN-1"]
    ).payload["inventorySummaries"]
    assert [s["sellerSku"] for s in picked] == ["FBA-003", "FBA-007"]
    assert "inventoryDetails" not in picked[0]
    later = (sandbox.clock.now() + timedelta(days=1)).isoformat()
    changed = inventory_client.get_inventory_summary_marketplace(startDateTime=later)
    assert changed.payload["inventorySummaries"] == []


def test_no_fba_stock_in_a_marketplace(sandbox):
    client = Inventories(**sandbox.client_kwargs("FR"))
    assert client.get_inventory_summary_marketplace().payload["inventorySummaries"] == []


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"granularityId": FR}, "granularityId"),
        ({"granularityType": "Country"}, "granularityType"),
        ({"details": "maybe"}, "details"),
        ({"startDateTime": "yesterday"}, "startDateTime"),
        ({"nextToken": "garbage"}, "nextToken"),
        ({"sellerSkus": [f"S-{i}" for i in range(51)]}, "sellerSkus"),
    ],
    ids=["other-marketplace", "country", "details", "start", "token", "too-many-skus"],
)
def test_bad_queries_are_refused(inventory_client, params, match):
    with pytest.raises(SellingApiBadRequestException, match=match):
        inventory_client.get_inventory_summary_marketplace(**params)
