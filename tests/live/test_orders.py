"""The normalised order model: parsing Orders v0 JSON, and `read_orders` against the sandbox
(orders placed by the sandbox's simulation, or built with a known fate, on a frozen clock)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.live.clients import Connection, shared_ssl_context
from engine.live.orders import (
    MAX_ORDERS_MARKETPLACES,
    OrderDataError,
    order_groups,
    parse_order,
    parse_order_item,
)
from engine.sandbox import simulation
from tests.live.conftest import calls_of
from tests.sandbox.conftest import NOW
from tests.sandbox.orderfixtures import insert, make_order

ORDER = {
    "AmazonOrderId": "302-0000001-0000001",
    "PurchaseDate": "2026-11-22T10:00:00Z",
    "LastUpdateDate": "2026-11-22T10:05:00+00:00",
    "OrderStatus": "Unshipped",
    "FulfillmentChannel": "MFN",
    "MarketplaceId": "A1PA6795UKMFR9",
    "LatestShipDate": "2026-11-24T10:00:00Z",
    "OrderTotal": {"CurrencyCode": "EUR", "Amount": "1.00"},
    "ShippingAddress": {"City": "Wien", "CountryCode": "AT"},
}
ITEM = {
    "ASIN": "B0TEST0001",
    "SellerSKU": "HP-100",
    "OrderItemId": "00000000000001",
    "QuantityOrdered": 3,
    "QuantityShipped": 0,
    "ItemPrice": {"CurrencyCode": "EUR", "Amount": "149.97"},
    "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "146.97"},
    "PromotionIds": ["PROMO-1"],
    "BuyerRequestedCancel": {
        "IsBuyerRequestedCancel": "true",
        "BuyerCancelReason": "Order placed by mistake",
    },
}


def test_an_order_and_its_item_parse_to_decimals_utc_and_flags():
    order = parse_order(ORDER)
    assert (order.marketplace, order.status, order.channel, order.currency) == (
        "DE",
        "Unshipped",
        "MFN",
        "EUR",
    )
    assert order.purchase_date == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert order.last_update == datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    assert order.latest_ship_date == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert (order.ship_country, order.order_total) == ("AT", Decimal("1.00"))
    item = parse_order_item(order, ITEM)
    assert item.item_price == Decimal("149.97") and item.promotion_discount == Decimal("146.97")
    assert item.realized_unit_price == Decimal("1.00")  # (149.97 - 146.97) / 3
    assert item.promotion_ids == ("PROMO-1",)
    assert item.buyer_requested_cancel and item.buyer_cancel_reason == "Order placed by mistake"
    whole = order.with_items([item])
    assert whole.buyer_requested_cancel and whole.promotion_ids == ("PROMO-1",)
    assert whole.to_dict()["items"][0]["realized_unit_price"] == "1.00"


def test_a_pending_order_has_no_prices_rather_than_zero_prices():
    pending = {k: v for k, v in ORDER.items() if k not in ("OrderTotal", "ShippingAddress")}
    order = parse_order(pending | {"OrderStatus": "Pending"})
    assert (order.order_total, order.ship_country, order.currency) == (None, None, "EUR")
    bare = {k: v for k, v in ITEM.items() if k not in ("ItemPrice", "PromotionDiscount")}
    item = parse_order_item(order, bare | {"BuyerRequestedCancel": {}})
    assert (item.item_price, item.promotion_discount, item.realized_unit_price) == (
        None,
        None,
        None,
    )
    assert not item.buyer_requested_cancel and item.buyer_cancel_reason is None


def test_a_priced_item_without_promotion_has_a_zero_discount():
    item = parse_order_item(parse_order(ORDER), {**ITEM, "PromotionDiscount": None})
    assert item.promotion_discount == Decimal(0)
    assert item.realized_unit_price == Decimal("49.99")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AmazonOrderId": None}, "order (no AmazonOrderId): AmazonOrderId must be"),
        ({"PurchaseDate": "yesterday"}, "PurchaseDate is not an ISO 8601 time: 'yesterday'"),
        ({"LastUpdateDate": "2026-11-22T10:05:00"}, "LastUpdateDate has no time zone"),
        ({"OrderStatus": "Lost"}, "OrderStatus is 'Lost', expected one of Pending"),
        ({"FulfillmentChannel": "FBA"}, "FulfillmentChannel is 'FBA', expected one of MFN, AFN"),
        ({"MarketplaceId": "XX"}, "MarketplaceId 'XX' is not a known marketplace"),
        ({"OrderTotal": {"CurrencyCode": "EUR", "Amount": "1,00"}}, "'1,00' is not an amount"),
        ({"OrderTotal": {"CurrencyCode": "XYZ", "Amount": "1"}}, "unknown currency 'XYZ'"),
        ({"OrderTotal": {"CurrencyCode": "EUR", "Amount": 1.5}}, "OrderTotal: Amount must be"),
        ({"ShippingAddress": "Wien"}, "ShippingAddress: expected a JSON object"),
    ],
)
def test_a_malformed_order_names_the_order_and_the_field(change, message):
    with pytest.raises(OrderDataError) as err:
        parse_order(ORDER | change)
    assert message in str(err.value)
    named = change.get("AmazonOrderId", "") is not None
    assert str(err.value).startswith("order 302-0000001-0000001: " if named else "order (")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"QuantityOrdered": -1}, "QuantityOrdered must be a whole number >= 0, got -1"),
        ({"QuantityOrdered": "2"}, "QuantityOrdered must be a whole number >= 0, got '2'"),
        (
            {"ItemPrice": {"CurrencyCode": "USD", "Amount": "1"}},
            "is in USD, but the order is in EUR",
        ),
        ({"PromotionIds": "PROMO-1"}, "PromotionIds must be a list of strings"),
        ({"BuyerRequestedCancel": {"IsBuyerRequestedCancel": "yes"}}, "must be 'true' or 'false'"),
        ({"SellerSKU": ""}, "SellerSKU must be a non-empty string"),
    ],
)
def test_a_malformed_item_names_the_order_item_and_field(change, message):
    with pytest.raises(OrderDataError) as err:
        parse_order_item(parse_order(ORDER), ITEM | change)
    assert str(err.value).startswith("order 302-0000001-0000001 item 00000000000001: ")
    assert message in str(err.value)


def test_read_orders_returns_simulated_orders_with_items_and_realized_prices(backend, sandbox):
    summary = simulation.simulate(
        sandbox.account, sandbox.advance, timedelta(hours=24), random.Random(5)
    )
    now = sandbox.clock.now()
    got = backend.read_orders(
        "DE", updated_after=NOW - timedelta(minutes=1), updated_before=now - timedelta(minutes=2)
    )
    expected = [o for o in summary.orders if o.updated <= now - timedelta(minutes=2)]
    expected = [o for o in expected if o.marketplace_id == "A1PA6795UKMFR9"]
    assert len(got) == len(expected) > 10
    by_id = {o.amazon_order_id: o for o in expected}
    for order in got:
        placed = by_id[order.amazon_order_id]
        assert order.status == placed.status and order.channel == placed.channel
        assert order.last_update == placed.updated.replace(microsecond=0)
        (item,) = order.items
        (want,) = placed.items
        assert (item.sku, item.quantity) == (want.sku, want.quantity)
        if order.status != "Pending":
            assert item.realized_unit_price == want.paid / want.quantity
            assert order.ship_country == placed.ship_country
    ops = [c.operation for c in calls_of(backend)]
    assert ops.count("getOrders") == 1 and ops.count("getOrderItems") == len(got)


def test_read_orders_follows_next_token_and_can_skip_items(backend, sandbox):
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=200 - n)) for n in range(1, 106)))
    got = backend.read_orders("DE", updated_after=NOW - timedelta(days=10), with_items=False)
    assert [o.amazon_order_id for o in got] == [f"302-{n:07d}-{n:07d}" for n in range(1, 106)]
    assert all(o.items == () for o in got)
    ops = [c.operation for c in calls_of(backend)]
    assert ops == ["getOrders", "getOrders"]  # 100 a page


def test_read_orders_keeps_buyer_cancel_requests_and_promotions(backend, sandbox):
    insert(
        sandbox,
        make_order(
            1,
            NOW - timedelta(hours=5),
            quantity=2,
            price="49.99",
            discount="49.49",
            promotion_ids=("INCIDENT-1",),
            cancel_request_after=timedelta(hours=1),
            ship_after=timedelta(hours=30),
        ),
    )
    (order,) = backend.read_orders("DE", updated_after=NOW - timedelta(days=1))
    (item,) = order.items
    assert item.realized_unit_price == Decimal("0.50")
    assert order.promotion_ids == ("INCIDENT-1",)
    assert order.buyer_requested_cancel and order.buyer_cancel_reason == "Order placed by mistake"
    assert order.last_update == NOW - timedelta(hours=4)  # the cancel request


def test_orders_outside_the_window_are_not_read(backend, sandbox):
    insert(sandbox, make_order(1, NOW - timedelta(days=3), ship_after=timedelta(hours=1)))
    assert backend.read_orders("DE", updated_after=NOW - timedelta(days=1)) == []


def test_order_groups_are_one_getorders_call_per_region_of_at_most_fifty():
    codes = ["US", "DE", "CA", "JP", "FR", "UK", "DE"]
    assert order_groups(codes) == [("US", "CA"), ("DE", "FR", "UK"), ("JP",)]
    assert order_groups([]) == []
    assert MAX_ORDERS_MARKETPLACES == 50


def test_read_orders_of_a_region_is_one_listing_for_all_its_marketplaces(backend, sandbox):
    simulation.simulate(sandbox.account, sandbox.advance, timedelta(hours=24), random.Random(5))
    window = {
        "updated_after": NOW - timedelta(minutes=1),
        "updated_before": sandbox.clock.now() - timedelta(minutes=2),
        "with_items": False,
    }
    together = backend.read_orders_of(("DE", "FR"), **window)
    assert [c.operation for c in calls_of(backend)] == ["getOrders"]
    apart = backend.read_orders("DE", **window) + backend.read_orders("FR", **window)
    assert {o.marketplace for o in together} == {"DE", "FR"}
    assert sorted(o.amazon_order_id for o in together) == sorted(o.amazon_order_id for o in apart)
    with pytest.raises(ValueError, match="of one region"):
        backend.read_orders_of(("DE", "US"), **window)


def test_every_client_shares_one_ssl_context_with_the_ca_bundle_loaded():
    connection = Connection({"refresh_token": "r"}, endpoint=None)
    first, second = connection.client_kwargs("US"), connection.client_kwargs("DE")
    assert first["verify"] is second["verify"] is shared_ssl_context()
    assert shared_ssl_context().cert_store_stats()["x509_ca"] > 0
