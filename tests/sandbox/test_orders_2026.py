"""Orders 2026-01-01 through python-amazon-sp-api (`Orders(version="2026-01-01")`) and raw
HTTP: paging, updates, filters, includedData, money, errors and the published rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sp_api.api import Orders
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
)

from engine.sandbox.orders import iso
from tests.sandbox.conftest import DE, NOW
from tests.sandbox.orderfixtures import insert, insert_to_filter, make_order, runaway_order

SEARCH = "/orders/2026-01-01/orders"
ALL = ["FULFILLMENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "RECIPIENT"]


@pytest.fixture
def orders_client(sandbox):
    return Orders(version="2026-01-01", **sandbox.client_kwargs("DE"))


def ids(body):
    return [o["orderId"] for o in body["orders"]]


def test_paging_is_stable_while_orders_arrive(sandbox, orders_client):
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=6 - n)) for n in range(1, 6)))
    query = {"createdAfter": iso(NOW - timedelta(days=1)), "maxResultsPerPage": 2}
    first = orders_client.search_orders(**query)
    sandbox.clock.advance(timedelta(minutes=5))
    insert(sandbox, make_order(6, sandbox.clock.now()))  # arrives between pages
    pages = [first]
    while pages[-1].next_token:
        pages.append(orders_client.search_orders(**query, paginationToken=pages[-1].next_token))
    assert [len(p.payload["orders"]) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in ids(p.payload)] == [
        f"302-{n:07d}-{n:07d}" for n in range(1, 6)
    ]
    assert first.payload["createdBefore"] == iso(NOW)
    later = orders_client.search_orders(createdAfter=first.payload["createdBefore"]).payload
    assert ids(later) == ["302-0000006-0000006"]


def test_last_updated_after_picks_up_updated_orders(sandbox, orders_client):
    insert(
        sandbox,
        make_order(1, NOW - timedelta(hours=3), ship_after=timedelta(hours=4)),
        make_order(2, NOW - timedelta(hours=3), ship_after=timedelta(hours=30)),
    )
    poll = orders_client.search_orders(
        lastUpdatedAfter=iso(NOW - timedelta(days=1)), includedData=["FULFILLMENT"]
    ).payload
    assert {o["fulfillment"]["fulfillmentStatus"] for o in poll["orders"]} == {"UNSHIPPED"}
    sandbox.clock.advance(timedelta(hours=2))
    update = orders_client.search_orders(
        lastUpdatedAfter=poll["lastUpdatedBefore"], includedData=["FULFILLMENT"]
    ).payload
    (shipped,) = update["orders"]
    assert shipped["orderId"] == "302-0000001-0000001"
    assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert shipped["orderItems"][0]["fulfillment"]["quantityFulfilled"] == 1
    assert shipped["lastUpdatedTime"] == iso(NOW + timedelta(hours=1))


def test_filters_by_fulfillment_status_and_fulfiller(sandbox, orders_client):
    insert_to_filter(sandbox)
    after = iso(NOW - timedelta(days=3))
    shipped = orders_client.search_orders(createdAfter=after, fulfillmentStatuses=["SHIPPED"])
    assert ids(shipped.payload) == ["302-0000001-0000001"]
    afn = orders_client.search_orders(
        createdAfter=after, fulfilledBy=["AMAZON"], includedData=["FULFILLMENT"]
    ).payload
    assert [o["fulfillment"]["fulfilledBy"] for o in afn["orders"]] == ["AMAZON"]
    assert afn["orders"][0]["programs"] == ["PRIME"]


def test_one_answer_carries_money_promotions_and_cancel_requests(sandbox, orders_client):
    insert(
        sandbox,
        runaway_order(
            1,
            NOW - timedelta(hours=2),
            cancel_request_after=timedelta(hours=1),
        ),
        make_order(2, NOW - timedelta(hours=2)),
    )
    order = orders_client.get_order("302-0000001-0000001", includedData=ALL).payload["order"]
    assert order["proceeds"]["grandTotal"] == {"currencyCode": "EUR", "amount": "1.00"}
    assert order["recipient"]["deliveryAddress"]["countryCode"] == "DE"
    (item,) = order["orderItems"]
    assert item["product"]["price"]["unitPrice"] == {"currencyCode": "EUR", "amount": "49.99"}
    assert item["quantityOrdered"] == 2
    breakdowns = {b["type"]: b["subtotal"]["amount"] for b in item["proceeds"]["breakdowns"]}
    assert breakdowns == {"ITEM": "99.98", "DISCOUNT": "-98.98"}
    assert item["promotion"] == {"breakdowns": [{"promotionId": "INCIDENT-1"}]}
    assert item["cancellation"]["cancellationRequest"] == {
        "requester": "BUYER",
        "cancelReason": "Order placed by mistake",
    }
    other = orders_client.get_order("302-0000002-0000002", includedData=ALL).payload["order"]
    assert "cancellation" not in other["orderItems"][0]
    assert "promotion" not in other["orderItems"][0]
    # Without includedData: the order and its items, nothing else.
    bare = orders_client.get_order("302-0000001-0000001").payload["order"]
    assert set(bare) == {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"}
    assert set(bare["orderItems"][0]) == {"orderItemId", "quantityOrdered", "product"}


def test_pending_orders_hide_prices(sandbox, orders_client):
    insert(sandbox, make_order(1, NOW - timedelta(minutes=1)))
    order = orders_client.get_order("302-0000001-0000001", includedData=ALL).payload["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "PENDING"
    assert "proceeds" not in order and "recipient" not in order
    (item,) = order["orderItems"]
    assert "price" not in item["product"] and "proceeds" not in item


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Exactly one of 'createdAfter' or 'lastUpdatedAfter'"),
        (
            {"createdAfter": "2026-11-20T00:00:00Z", "lastUpdatedBefore": "2026-11-21T00:00:00Z"},
            "'lastUpdatedBefore' cannot be used with 'createdAfter'",
        ),
        (
            {"lastUpdatedAfter": "2026-11-20T00:00:00Z", "lastUpdatedBefore": iso(NOW)},
            "at least two minutes before",
        ),
        ({"createdAfter": "2026-12-20T00:00:00Z"}, "must not be in the future"),
        ({"createdAfter": "2026-11-20T00:00:00Z", "maxResultsPerPage": 0}, "between 1 and 100"),
        ({"createdAfter": "2026-11-20T00:00:00Z", "fulfillmentStatuses": "Shipped"}, "'fulfill"),
        ({"createdAfter": "2026-11-20T00:00:00Z", "fulfilledBy": "MFN"}, "'fulfilledBy'"),
        ({"createdAfter": "2026-11-20T00:00:00Z", "includedData": "ITEMS"}, "'includedData'"),
        ({"paginationToken": "not-a-token"}, "Invalid 'paginationToken'"),
    ],
)
def test_search_orders_rejects_bad_queries(raw, params, message):
    response = raw.get(SEARCH, params={"marketplaceIds": DE, **params})
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


def test_search_orders_takes_one_to_fifty_marketplaces(raw):
    after = {"createdAfter": "2026-11-20T00:00:00Z"}
    missing = raw.get(SEARCH, params=after)
    assert "'marketplaceIds'" in missing.json()["errors"][0]["message"]
    many = raw.get(SEARCH, params=after | {"marketplaceIds": ",".join([DE] * 51)})
    assert many.status_code == 400 and "at most 50" in many.json()["errors"][0]["message"]


def test_unknown_and_malformed_order_ids(orders_client):
    with pytest.raises(SellingApiNotFoundException):
        orders_client.get_order("302-9999999-9999999")
    with pytest.raises(SellingApiBadRequestException):
        orders_client.get_order("not-an-order")


def test_published_rate_limits_apply(open_sandbox):
    """searchOrders 0.0056/s burst 20, getOrder 0.5/s burst 30 (orders_2026-01-01.json's
    usage plans). getOrder shares its bucket with v0's getOrder (Amazon does not say it is
    apart: the sandbox takes the stricter reading)."""
    box = open_sandbox(rate_limits=True)
    insert(box, make_order(1, NOW - timedelta(hours=1)))
    client = Orders(version="2026-01-01", **box.client_kwargs("DE"))
    after = iso(NOW - timedelta(days=1))
    for _ in range(20):
        assert client.search_orders(createdAfter=after).rate_limit == "0.0056"
    for _ in range(30):
        assert client.get_order("302-0000001-0000001").rate_limit == "0.5"
    v0 = Orders(**box.client_kwargs("DE"))
    for call in (
        lambda: v0.get_order("302-0000001-0000001"),
        lambda: client.search_orders(createdAfter=after),
        lambda: client.get_order("302-0000001-0000001"),
    ):
        with pytest.raises(SellingApiRequestThrottledException):
            call()
    box.clock.advance(timedelta(seconds=179))  # one searchOrders token: 1 / 0.0056 s
    assert ids(client.search_orders(createdAfter=after).payload) == ["302-0000001-0000001"]
    with pytest.raises(SellingApiRequestThrottledException):
        client.search_orders(createdAfter=after)
