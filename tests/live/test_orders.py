"""The normalised order model: parsing Orders 2026-01-01 JSON, and `read_orders` against the sandbox
(orders placed by the sandbox's simulation, or built with a known fate, on a frozen clock)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.core.spapi_limits import GET_ORDER_2026
from engine.live.clients import Connection, shared_ssl_context
from engine.live.orders import (
    MAX_ORDERS_MARKETPLACES,
    OrderDataError,
    order_groups,
    parse_order,
)
from engine.sandbox import pagetoken, simulation
from tests.live.conftest import calls_of
from tests.sandbox.conftest import NOW
from tests.sandbox.orderfixtures import insert, make_order, runaway_order

ITEM = {
    "orderItemId": "00000000000001",
    "quantityOrdered": 3,
    "product": {
        "asin": "B0TEST0001",
        "sellerSku": "HP-100",
        "price": {"unitPrice": {"currencyCode": "EUR", "amount": "49.99"}},
    },
    "proceeds": {
        "proceedsTotal": {"currencyCode": "EUR", "amount": "3.00"},
        "breakdowns": [
            {"type": "ITEM", "subtotal": {"currencyCode": "EUR", "amount": "149.97"}},
            {"type": "DISCOUNT", "subtotal": {"currencyCode": "EUR", "amount": "-146.97"}},
        ],
    },
    "promotion": {"breakdowns": [{"promotionId": "PROMO-1"}]},
    "cancellation": {
        "cancellationRequest": {"requester": "BUYER", "cancelReason": "Order placed by mistake"}
    },
    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 3},
}
ORDER = {
    "orderId": "302-0000001-0000001",
    "createdTime": "2026-11-22T10:00:00Z",
    "lastUpdatedTime": "2026-11-22T10:05:00+00:00",
    "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
    "fulfillment": {
        "fulfillmentStatus": "UNSHIPPED",
        "fulfilledBy": "MERCHANT",
        "shipByWindow": {"latestDateTime": "2026-11-24T10:00:00Z"},
    },
    "proceeds": {"grandTotal": {"currencyCode": "EUR", "amount": "3.00"}},
    "recipient": {"deliveryAddress": {"city": "Wien", "countryCode": "AT"}},
    "orderItems": [ITEM],
}


def test_an_order_and_its_items_parse_to_decimals_utc_and_flags():
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
    assert (order.ship_country, order.order_total) == ("AT", Decimal("3.00"))
    (item,) = order.items
    assert item.item_price == Decimal("149.97") and item.promotion_discount == Decimal("146.97")
    assert item.realized_unit_price == Decimal("1.00")  # (149.97 - 146.97) / 3
    assert item.promotion_ids == ("PROMO-1",)
    assert item.buyer_requested_cancel and item.buyer_cancel_reason == "Order placed by mistake"
    assert order.buyer_requested_cancel and order.promotion_ids == ("PROMO-1",)
    assert order.to_dict()["items"][0]["realized_unit_price"] == "1.00"


@pytest.mark.parametrize(
    ("status", "channel", "expected"),
    [
        ("PENDING_AVAILABILITY", "AMAZON", ("PendingAvailability", "AFN")),
        ("PARTIALLY_SHIPPED", "MERCHANT", ("PartiallyShipped", "MFN")),
        ("CANCELLED", "AMAZON", ("Canceled", "AFN")),
        ("UNFULFILLABLE", "AMAZON", ("Unfulfillable", "AFN")),
    ],
)
def test_fulfillment_statuses_map_onto_the_stored_status_names(status, channel, expected):
    fulfillment = {"fulfillmentStatus": status, "fulfilledBy": channel}
    order = parse_order(ORDER | {"fulfillment": fulfillment})
    assert (order.status, order.channel) == expected
    assert order.latest_ship_date is None


def test_a_pending_order_has_no_prices_rather_than_zero_prices():
    bare = {k: v for k, v in ITEM.items() if k not in ("proceeds", "promotion", "cancellation")}
    bare["product"] = {k: v for k, v in ITEM["product"].items() if k != "price"}
    pending = {k: v for k, v in ORDER.items() if k not in ("proceeds", "recipient")}
    pending["fulfillment"] = {"fulfillmentStatus": "PENDING", "fulfilledBy": "MERCHANT"}
    order = parse_order(pending | {"orderItems": [bare]})
    assert (order.order_total, order.ship_country, order.currency) == (None, None, "EUR")
    (item,) = order.items
    assert (item.item_price, item.promotion_discount, item.realized_unit_price) == (
        None,
        None,
        None,
    )
    assert not item.buyer_requested_cancel and item.buyer_cancel_reason is None


def test_a_priced_item_without_promotion_has_a_zero_discount():
    plain = {k: v for k, v in ITEM.items() if k not in ("proceeds", "promotion")}
    (item,) = parse_order(ORDER | {"orderItems": [plain]}).items
    assert item.promotion_discount == Decimal(0) and item.promotion_ids == ()
    assert item.realized_unit_price == Decimal("49.99")


USD = {"subtotal": {"currencyCode": "USD", "amount": "-1"}}


def test_only_the_item_part_of_a_broken_down_discount_is_the_promotion_discount():
    def discount(amount, *parts):
        details = [
            {"subtype": subtype, "value": {"currencyCode": "EUR", "amount": value}}
            for subtype, value in parts
        ]
        subtotal = {"currencyCode": "EUR", "amount": amount}
        breakdown = {"type": "DISCOUNT", "subtotal": subtotal}
        return {"breakdowns": [breakdown | ({"detailedBreakdowns": details} if details else {})]}

    def parsed(proceeds):
        (item,) = parse_order(ORDER | {"orderItems": [ITEM | {"proceeds": proceeds}]}).items
        return item.promotion_discount

    assert parsed(discount("-14.99", ("ITEM", "-10.00"), ("SHIPPING", "-4.99"))) == 10
    assert parsed(discount("-4.99", ("SHIPPING", "-4.99"))) == 0
    assert parsed(discount("10.00")) == Decimal("10.00")  # unsigned, not broken down
    with pytest.raises(OrderDataError, match="is in USD, but the order is in EUR"):
        parsed({"breakdowns": [{"type": "DISCOUNT", **USD}]})


def test_a_seller_cancellation_is_not_a_buyer_request():
    request = {"cancellationRequest": {"requester": "SELLER", "cancelReason": "No stock"}}
    (item,) = parse_order(ORDER | {"orderItems": [ITEM | {"cancellation": request}]}).items
    assert not item.buyer_requested_cancel and item.buyer_cancel_reason is None


def _money(amount: object, code: str = "EUR") -> dict[str, object]:
    return {"grandTotal": {"currencyCode": code, "amount": amount}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"orderId": None}, "order (no orderId): orderId must be"),
        ({"createdTime": "yesterday"}, "createdTime is not an ISO 8601 time: 'yesterday'"),
        ({"lastUpdatedTime": "2026-11-22T10:05:00"}, "lastUpdatedTime has no time zone"),
        (
            {"fulfillment": {"fulfillmentStatus": "LOST", "fulfilledBy": "MERCHANT"}},
            "fulfillmentStatus is 'LOST', expected one of PENDING_AVAILABILITY",
        ),
        (
            {"fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": "FBA"}},
            "fulfilledBy is 'FBA', expected one of MERCHANT, AMAZON",
        ),
        ({"fulfillment": None}, "fulfillment is missing (includedData must name FULFILLMENT)"),
        ({"salesChannel": {"channelName": "AMAZON", "marketplaceId": "XX"}}, "'XX' is not a"),
        ({"proceeds": _money("1,00")}, "'1,00' is not an amount"),
        ({"proceeds": _money("1", "XYZ")}, "unknown currency 'XYZ'"),
        ({"proceeds": _money(1.5)}, "grandTotal: amount must be"),
        ({"recipient": {"deliveryAddress": "Wien"}}, "deliveryAddress: expected a JSON object"),
        ({"orderItems": None}, "orderItems must be a list"),
    ],
)
def test_a_malformed_order_names_the_order_and_the_field(change, message):
    with pytest.raises(OrderDataError) as err:
        parse_order(ORDER | change)
    assert message in str(err.value)
    named = change.get("orderId", "") is not None
    assert str(err.value).startswith("order 302-0000001-0000001: " if named else "order (")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quantityOrdered": -1}, "quantityOrdered must be a whole number >= 0, got -1"),
        ({"quantityOrdered": "2"}, "quantityOrdered must be a whole number >= 0, got '2'"),
        (
            {
                "product": ITEM["product"]
                | {"price": {"unitPrice": _money("1", "USD")["grandTotal"]}}
            },
            "is in USD, but the order is in EUR",
        ),
        ({"promotion": {"breakdowns": "PROMO-1"}}, "breakdowns must be a list"),
        ({"promotion": {"breakdowns": [{}]}}, "promotionId must be a non-empty string"),
        ({"product": ITEM["product"] | {"sellerSku": ""}}, "sellerSku must be a non-empty string"),
    ],
)
def test_a_malformed_item_names_the_order_item_and_field(change, message):
    with pytest.raises(OrderDataError) as err:
        parse_order(ORDER | {"orderItems": [ITEM | change]})
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
    assert ops == ["searchOrders"]  # items, prices and promotions come inline


def test_read_orders_follows_next_token_and_can_skip_items(backend, sandbox):
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=200 - n)) for n in range(1, 106)))
    got = backend.read_orders("DE", updated_after=NOW - timedelta(days=10), with_items=False)
    assert [o.amazon_order_id for o in got] == [f"302-{n:07d}-{n:07d}" for n in range(1, 106)]
    assert all(o.items == () for o in got)
    ops = [c.operation for c in calls_of(backend)]
    assert ops == ["searchOrders", "searchOrders"]  # 100 a page


def test_read_orders_keeps_buyer_cancel_requests_and_promotions(backend, sandbox):
    insert(
        sandbox,
        runaway_order(
            1,
            NOW - timedelta(hours=5),
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


def test_order_groups_are_one_searchorders_call_per_region_of_at_most_fifty():
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
    assert [c.operation for c in calls_of(backend)] == ["searchOrders"]
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


def test_read_order_is_one_getorder_call_with_items_prices_and_promotions(backend, sandbox):
    insert(sandbox, runaway_order(7, NOW - timedelta(hours=2)))
    order = backend.read_order("DE", "302-0000007-0000007")
    (item,) = order.items
    assert (order.status, order.channel, order.order_total) == ("Unshipped", "MFN", Decimal("1.00"))
    assert item.item_price == Decimal("99.98") and item.realized_unit_price == Decimal("0.50")
    assert order.promotion_ids == ("INCIDENT-1",)
    assert [c.operation for c in calls_of(backend)] == [GET_ORDER_2026]


def test_read_orders_url_encodes_page_tokens(backend, sandbox, monkeypatch):
    """The sandbox's tokens, like Amazon's, hold `+`, `/` and `=`: sent as they are, a `+`
    reads as a space and the token is refused. The client sends them URL-encoded."""
    served: list[str] = []
    encode = pagetoken.Codec.encode

    def recording(self, state):
        served.append(encode(self, state))
        return served[-1]

    monkeypatch.setattr(pagetoken.Codec, "encode", recording)
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=900 - n)) for n in range(1, 806)))
    got = backend.read_orders("DE", updated_after=NOW - timedelta(days=40), with_items=False)
    assert len(got) == 805
    assert len(served) == 8 and any("+" in t for t in served)
    assert all(t.endswith("=") for t in served)
