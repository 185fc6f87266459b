"""The Tokens API 2021-03-01 (restricted data tokens) and the restricted Orders operations."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from engine.sandbox.tokens import RDT_LIFETIME_SECONDS, RDT_PREFIX, Resource, parse_request
from tests.sandbox.conftest import DE, NOW, SELLER
from tests.sandbox.orderfixtures import insert, make_order

RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
ORDER = "302-0000001-0000001"
OTHER = "302-0000002-0000002"


@pytest.fixture
def ordered(sandbox):
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=3)) for n in (1, 2)))
    return sandbox


def rdt(raw: httpx.Client, *resources: dict) -> str:
    answer = raw.post(RDT_PATH, json={"restrictedResources": list(resources)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # CreateRestrictedDataTokenResponse: restrictedDataToken (string), expiresIn (integer).
    assert set(body) == {"restrictedDataToken", "expiresIn"}
    assert body["expiresIn"] == RDT_LIFETIME_SECONDS
    assert answer.headers["x-amzn-RateLimit-Limit"] == "1.0"
    return body["restrictedDataToken"]


def with_token(sandbox, token: str, path: str) -> httpx.Response:
    return httpx.get(sandbox.url + path, headers={"x-amz-access-token": token})


def test_restricted_operations_need_a_restricted_data_token(ordered, raw):
    address = f"/orders/v0/orders/{ORDER}/address"
    refused = raw.get(address)  # the ordinary LWA access token
    assert refused.status_code == 403
    assert "restricted data token" in refused.json()["errors"][0]["details"]
    token = rdt(raw, {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"})
    assert token.startswith(RDT_PREFIX)
    answer = with_token(ordered, token, address)
    assert answer.status_code == 200
    assert answer.json()["payload"] == {
        "AmazonOrderId": ORDER,
        "ShippingAddress": answer.json()["payload"]["ShippingAddress"],
    }
    assert answer.json()["payload"]["ShippingAddress"]["CountryCode"] == "DE"
    assert with_token(ordered, token, f"/orders/v0/orders/{OTHER}/address").status_code == 200


def test_a_restricted_data_token_grants_only_its_resources(ordered, raw):
    token = rdt(raw, {"method": "GET", "path": f"/orders/v0/orders/{ORDER}/buyerInfo"})
    mine = with_token(ordered, token, f"/orders/v0/orders/{ORDER}/buyerInfo")
    assert mine.status_code == 200 and mine.json()["payload"] == {"AmazonOrderId": ORDER}
    for path in (
        f"/orders/v0/orders/{OTHER}/buyerInfo",
        f"/orders/v0/orders/{ORDER}/address",
        f"/listings/2021-08-01/items/{SELLER}/HP-002?marketplaceIds={DE}",
    ):
        refused = with_token(ordered, token, path)
        assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "Unauthorized"


def test_orders_operations_take_an_rdt_with_data_elements(ordered, raw):
    token = rdt(
        raw,
        {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["buyerInfo"]},
    )
    answer = with_token(ordered, token, f"/orders/v0/orders/{ORDER}")
    assert answer.status_code == 200 and answer.json()["payload"]["AmazonOrderId"] == ORDER


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({}, "restrictedResources"),
        ({"restrictedResources": []}, "restrictedResources"),
        ({"restrictedResources": [{"method": "PATCH", "path": "/x"}]}, "method"),
        ({"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders"}]}, "dataElements"),
        (
            {"restrictedResources": [{"method": "GET", "path": "/listings/2021-08-01/items/A/B"}]},
            "not a restricted resource",
        ),
        (
            {
                "restrictedResources": [
                    {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["pets"]}
                ]
            },
            "dataElements",
        ),
        ({"restrictedResources": [{"method": "GET", "path": "/x"}] * 51}, "at most 50"),
    ],
)
def test_bad_token_requests_are_refused_with_invalid_input(sandbox, raw, body, why):
    answer = raw.post(RDT_PATH, json=body)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["code"] == "InvalidInput" and why in error["message"]


def test_a_restricted_data_token_expires_after_an_hour(ordered, raw):
    token = rdt(raw, {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"})
    path = f"/orders/v0/orders/{ORDER}/address"
    tokens = ordered.app.restricted
    assert tokens.authorize(token, "GET", path, time.time()) is True
    assert tokens.authorize(token, "GET", path, time.time() + RDT_LIFETIME_SECONDS + 1) is None
    assert tokens.authorize("Atz.sprdt|forged", "GET", path, time.time()) is None


def test_generic_paths_match_one_segment():
    resource = Resource("GET", "/orders/v0/orders/{orderId}/address")
    assert resource.covers("GET", f"/orders/v0/orders/{ORDER}/address")
    assert not resource.covers("GET", f"/orders/v0/orders/{ORDER}/x/address")
    assert not resource.covers("POST", f"/orders/v0/orders/{ORDER}/address")
    (parsed,) = parse_request(
        {"restrictedResources": [{"method": "GET", "path": f"/orders/v0/orders/{ORDER}/address"}]}
    )
    assert parsed.covers("GET", f"/orders/v0/orders/{ORDER}/address")
    assert not parsed.covers("GET", f"/orders/v0/orders/{OTHER}/address")
