"""Orders v0 through python-amazon-sp-api and raw HTTP: paging, updates, flags, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sp_api.api import Orders
from sp_api.base import SellingApiBadRequestException, SellingApiNotFoundException

from engine.sandbox.orders import iso
from tests.sandbox.conftest import DE, NOW
from tests.sandbox.orderfixtures import insert, insert_to_filter, make_order, runaway_order


@pytest.fixture
def orders_client(sandbox):
    return Orders(**sandbox.client_kwargs("DE"))


def test_paging_is_stable_while_orders_arrive(sandbox, orders_client):
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=6 - n)) for n in range(1, 6)))
    first = orders_client.get_orders(
        CreatedAfter=iso(NOW - timedelta(days=1)), MaxResultsPerPage=2
    ).payload
    sandbox.clock.advance(timedelta(minutes=5))
    insert(sandbox, make_order(6, sandbox.clock.now()))  # arrives between pages
    pages = [first]
    while "NextToken" in pages[-1]:
        pages.append(orders_client.get_orders(NextToken=pages[-1]["NextToken"]).payload)
    ids = [o["AmazonOrderId"] for page in pages for o in page["Orders"]]
    assert [len(p["Orders"]) for p in pages] == [2, 2, 1]
    assert ids == [f"302-{n:07d}-{n:07d}" for n in range(1, 6)]
    assert first["CreatedBefore"] == iso(NOW)
    # The next poll starts where the listing was complete and finds the newcomer.
    later = orders_client.get_orders(CreatedAfter=first["CreatedBefore"]).payload
    assert [o["AmazonOrderId"] for o in later["Orders"]] == ["302-0000006-0000006"]


def test_last_updated_after_picks_up_updated_orders(sandbox, orders_client):
    insert(
        sandbox,
        make_order(1, NOW - timedelta(hours=3), ship_after=timedelta(hours=4)),
        make_order(2, NOW - timedelta(hours=3), ship_after=timedelta(hours=30)),
    )
    poll = orders_client.get_orders(LastUpdatedAfter=iso(NOW - timedelta(days=1))).payload
    assert {o["OrderStatus"] for o in poll["Orders"]} == {"Unshipped"}
    sandbox.clock.advance(timedelta(hours=2))
    update = orders_client.get_orders(LastUpdatedAfter=poll["LastUpdatedBefore"]).payload
    (shipped,) = update["Orders"]
    assert shipped["AmazonOrderId"] == "302-0000001-0000001"
    assert shipped["OrderStatus"] == "Shipped" and shipped["NumberOfItemsShipped"] == 1
    assert shipped["LastUpdateDate"] == iso(NOW + timedelta(hours=1))


def test_filters_by_status_and_channel(sandbox, orders_client):
    insert_to_filter(sandbox)
    after = iso(NOW - timedelta(days=3))
    shipped = orders_client.get_orders(CreatedAfter=after, OrderStatuses=["Shipped"]).payload
    assert [o["AmazonOrderId"] for o in shipped["Orders"]] == ["302-0000001-0000001"]
    afn = orders_client.get_orders(CreatedAfter=after, FulfillmentChannels=["AFN"]).payload
    assert [o["IsPrime"] for o in afn["Orders"]] == [True]


def test_order_and_items_carry_money_promotions_and_cancel_requests(sandbox, orders_client):
    insert(
        sandbox,
        runaway_order(
            1,
            NOW - timedelta(hours=2),
            cancel_request_after=timedelta(hours=1),
        ),
        make_order(2, NOW - timedelta(hours=2)),
    )
    order = orders_client.get_order("302-0000001-0000001").payload
    assert order["OrderTotal"] == {"CurrencyCode": "EUR", "Amount": "1.00"}
    assert order["ShippingAddress"]["CountryCode"] == "DE"
    (item,) = orders_client.get_order_items("302-0000001-0000001").payload["OrderItems"]
    assert item["ItemPrice"] == {"CurrencyCode": "EUR", "Amount": "99.98"}
    assert item["PromotionDiscount"] == {"CurrencyCode": "EUR", "Amount": "98.98"}
    assert item["PromotionIds"] == ["INCIDENT-1"] and item["QuantityOrdered"] == 2
    assert item["BuyerRequestedCancel"] == {
        "IsBuyerRequestedCancel": "true",
        "BuyerCancelReason": "Order placed by mistake",
    }
    (other,) = orders_client.get_order_items("302-0000002-0000002").payload["OrderItems"]
    assert other["BuyerRequestedCancel"] == {"IsBuyerRequestedCancel": "false"}
    assert "PromotionIds" not in other


def test_pending_orders_hide_prices(sandbox, orders_client):
    insert(sandbox, make_order(1, NOW - timedelta(minutes=1)))
    order = orders_client.get_order("302-0000001-0000001").payload
    assert order["OrderStatus"] == "Pending"
    assert "OrderTotal" not in order and "ShippingAddress" not in order
    (item,) = orders_client.get_order_items("302-0000001-0000001").payload["OrderItems"]
    assert "ItemPrice" not in item and "PromotionDiscount" not in item


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Exactly one of 'CreatedAfter' or 'LastUpdatedAfter'"),
        (
            {"CreatedAfter": "2026-11-20T00:00:00Z", "LastUpdatedAfter": "2026-11-20T00:00:00Z"},
            "Exactly one of",
        ),
        (
            {"CreatedAfter": "2026-11-20T00:00:00Z", "LastUpdatedBefore": "2026-11-21T00:00:00Z"},
            "'LastUpdatedBefore' cannot be used with 'CreatedAfter'",
        ),
        (
            {"CreatedAfter": "2026-11-20T00:00:00Z", "CreatedBefore": iso(NOW)},
            "at least two minutes before",
        ),
        ({"CreatedAfter": "2026-12-20T00:00:00Z"}, "must not be in the future"),
        ({"CreatedAfter": "yesterday"}, "ISO 8601"),
        ({"CreatedAfter": "2026-11-20T00:00:00Z", "MaxResultsPerPage": 101}, "between 1 and 100"),
        ({"CreatedAfter": "2026-11-20T00:00:00Z", "OrderStatuses": "Lost"}, "'OrderStatuses'"),
        ({"CreatedAfter": "2026-11-20T00:00:00Z", "FulfillmentChannels": "X"}, "AFN and MFN"),
        ({"NextToken": "not-a-token"}, "Invalid 'NextToken'"),
    ],
)
def test_get_orders_rejects_bad_queries(raw, params, message):
    response = raw.get("/orders/v0/orders", params={"MarketplaceIds": DE, **params})
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


def test_get_orders_needs_a_marketplace(raw):
    response = raw.get("/orders/v0/orders", params={"CreatedAfter": "2026-11-20T00:00:00Z"})
    assert response.status_code == 400
    assert "'MarketplaceIds'" in response.json()["errors"][0]["message"]


def test_unknown_and_malformed_order_ids(orders_client):
    with pytest.raises(SellingApiNotFoundException):
        orders_client.get_order("302-9999999-9999999")
    with pytest.raises(SellingApiBadRequestException):
        orders_client.get_order_items("not-an-order")
