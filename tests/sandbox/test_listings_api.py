"""The sandbox driven through python-amazon-sp-api, as the engine's backend drives it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import SellingApiException
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
)

from engine.core import jsonio
from engine.sandbox.account import PROCESSING_DELAY
from tests.sandbox.conftest import DE, FR, SELLER, required_facts

ALL_DATA = "summaries,attributes,issues,offers,fulfillmentAvailability"


def offer_body(price: int, *, quantity: int = 5, extra: dict | None = None) -> dict:
    """A put body with whole-unit prices: the library serialises with json.dumps, which
    cannot write Decimal, and money must not go through float."""
    offer = {"currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": price}]}]}
    offer.update(extra or {})
    return {
        "productType": "HEADPHONES",
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{"value": "Sonora NEW-1", "language_tag": "de_DE"}],
            **required_facts(),
            "purchasable_offer": [offer],
            "fulfillment_availability": [
                {"fulfillment_channel_code": "DEFAULT", "quantity": quantity}
            ],
        },
    }


def test_token_exchange_and_participations(sellers_client, sandbox):
    response = sellers_client.get_marketplace_participation()
    codes = {p["marketplace"]["countryCode"]: p for p in response.payload}
    assert set(codes) == {"DE", "FR", "JP"}
    assert codes["DE"]["marketplace"]["defaultCurrencyCode"] == "EUR"
    # The seeded pricing error suspends a DE listing, nothing in FR.
    assert codes["DE"]["participation"]["hasSuspendedListings"] is True
    assert codes["FR"]["participation"]["hasSuspendedListings"] is False
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.016"
    assert response.headers["x-amzn-RequestId"]


def test_token_endpoint_rejects_other_grants_and_bad_credentials(sandbox):
    url = sandbox.url + "/auth/o2/token"
    creds = sandbox.credentials
    wrong_grant = httpx.post(url, data={"grant_type": "password", "scope": "x"})
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    # client_credentials is Login with Amazon's grant for grantless operations: the app's
    # own credentials are required.
    anonymous = httpx.post(url, data={"grant_type": "client_credentials", "scope": "x"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    bad_token = httpx.post(
        url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|someone-else",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    )
    assert (bad_token.status_code, bad_token.json()["error"]) == (400, "invalid_grant")
    ok = httpx.post(
        url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    ).json()
    assert ok["token_type"] == "bearer" and ok["expires_in"] == 3600
    assert ok["access_token"].startswith("Atza|")


def test_token_endpoint_takes_a_json_body_as_login_with_amazon_does(sandbox, raw):
    url = sandbox.url + "/auth/o2/token"
    creds = sandbox.credentials
    body = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    ok = httpx.post(url, json=body)
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    path = f"/listings/2021-08-01/items/{SELLER}/HP-002?marketplaceIds={DE}"
    listing = httpx.get(
        sandbox.url + path, headers={"x-amz-access-token": ok.json()["access_token"]}
    )
    assert listing.status_code == 200
    wrong = httpx.post(url, json={**body, "client_secret": "wrong"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    for malformed in (b"{not json", b'["refresh_token"]', b'{"grant_type": 1}'):
        answer = httpx.post(url, content=malformed, headers={"Content-Type": "application/json"})
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_library_raises_authorization_error_for_wrong_secret(sandbox):
    from sp_api.api import Sellers

    kwargs = sandbox.client_kwargs("DE")
    kwargs["credentials"] = {**kwargs["credentials"], "lwa_client_secret": "wrong"}
    with pytest.raises(AuthorizationError) as err:
        Sellers(**kwargs).get_marketplace_participation()
    assert err.value.status_code == 401


def test_access_token_required_and_checked(sandbox, raw):
    path = f"/listings/2021-08-01/items/{SELLER}/HP-002?marketplaceIds={DE}"
    missing = httpx.get(sandbox.url + path)
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["code"] == "Unauthorized"
    forged = httpx.get(sandbox.url + path, headers={"x-amz-access-token": "Atza|forged"})
    assert forged.status_code == 403
    assert "invalid" in forged.json()["errors"][0]["details"]
    for response in (missing, forged):
        assert response.headers["x-amzn-RateLimit-Limit"] == "5.0"
        assert response.headers["x-amzn-RequestId"]
    assert raw.get(path).status_code == 200


def test_expired_token_is_refused(open_sandbox, tmp_path):
    box = open_sandbox(rate_limits=False)
    token = box.account.issue_token(wall_now=1_000.0)  # issued long ago in real time
    response = httpx.get(
        f"{box.url}/listings/2021-08-01/items/{SELLER}/HP-002",
        params={"marketplaceIds": DE},
        headers={"x-amz-access-token": token},
    )
    assert response.status_code == 403
    assert "expired" in response.json()["errors"][0]["details"]


def test_get_listing_with_every_dataset(listings_client):
    item = listings_client("DE").get_listings_item(SELLER, "HP-002", includedData=ALL_DATA)
    assert item.payload["sku"] == "HP-002"
    summary = item.payload["summaries"][0]
    assert summary["marketplaceId"] == DE and summary["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert summary["itemName"] == "Sonora HP-002"
    offer = item.payload["offers"][0]
    assert offer["price"] == {"currencyCode": "EUR", "amount": "21.99"}
    assert item.payload["fulfillmentAvailability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 3}
    ]
    attrs = item.payload["attributes"]
    assert attrs["item_name"][0]["language_tag"] == "de_DE"
    assert all(v["marketplace_id"] == DE for values in attrs.values() for v in values)
    assert item.payload["issues"] == []
    assert item.headers["x-amzn-RateLimit-Limit"] == "5.0"


def test_default_included_data_is_summaries(listings_client):
    item = listings_client("DE").get_listings_item(SELLER, "HP-002")
    assert set(item.payload) == {"sku", "summaries"}


def test_sale_price_is_the_offer_price_while_active(listings_client):
    item = listings_client("DE").get_listings_item(SELLER, "HP-003", includedData="offers")
    assert item.payload["offers"][0]["price"]["amount"] == "44.99"


def test_fba_listing_reports_amazon_quantity(listings_client):
    item = listings_client("DE").get_listings_item(
        SELLER, "HP-004", includedData="fulfillmentAvailability"
    )
    (availability,) = item.payload["fulfillmentAvailability"]
    assert availability["fulfillmentChannelCode"] == "AMAZON_EU"
    assert 10 <= availability["quantity"] < 70


def test_unknown_sku_is_not_found(listings_client):
    with pytest.raises(SellingApiNotFoundException) as err:
        listings_client("DE").get_listings_item(SELLER, "NOPE-1")
    assert err.value.amzn_code == "NOT_FOUND"
    assert err.value.headers["x-amzn-RateLimit-Limit"] == "5.0"


def test_other_sellers_listings_are_forbidden(listings_client):
    with pytest.raises(SellingApiForbiddenException):
        listings_client("DE").get_listings_item("A1OTHERSELLER", "HP-002")


def test_bad_included_data_is_a_bad_request(listings_client):
    with pytest.raises(SellingApiBadRequestException) as err:
        listings_client("DE").get_listings_item(SELLER, "HP-002", includedData="prices")
    assert err.value.amzn_code == "InvalidInput"


def test_put_is_accepted_and_visible_only_after_processing(sandbox, listings_client):
    client = listings_client("DE")
    response = client.put_listings_item(SELLER, "NEW-1", marketplaceIds=DE, body=offer_body(30))
    assert response.payload["status"] == "ACCEPTED"
    assert response.payload["submissionId"]
    assert response.payload["issues"] == []
    with pytest.raises(SellingApiNotFoundException):
        client.get_listings_item(SELLER, "NEW-1")
    sandbox.clock.advance(PROCESSING_DELAY - timedelta(seconds=1))
    with pytest.raises(SellingApiNotFoundException):
        client.get_listings_item(SELLER, "NEW-1")
    sandbox.clock.advance(timedelta(seconds=1))
    item = client.get_listings_item(SELLER, "NEW-1", includedData="offers,summaries")
    assert item.payload["offers"][0]["price"]["amount"] == "30"
    assert item.payload["summaries"][0]["lastUpdatedDate"] == "2026-11-22T12:00:30.000Z"


def test_put_takes_marketplace_ids_from_the_body_as_the_library_sends_them(
    sandbox, listings_client
):
    # Without marketplaceIds the library adds marketplaceIds/MarketplaceIds to the body only.
    response = listings_client("FR").put_listings_item(SELLER, "NEW-FR", body=offer_body(40))
    assert response.payload["status"] == "ACCEPTED"
    sandbox.clock.advance(PROCESSING_DELAY)
    item = listings_client("FR").get_listings_item(SELLER, "NEW-FR", includedData="attributes")
    assert item.payload["attributes"]["purchasable_offer"][0]["marketplace_id"] == FR


def test_validation_preview_validates_without_saving(sandbox, listings_client):
    client = listings_client("DE")
    valid = client.put_listings_item(
        SELLER, "NEW-2", marketplaceIds=DE, mode="VALIDATION_PREVIEW", body=offer_body(30)
    )
    assert valid.payload["status"] == "VALID"
    invalid = client.put_listings_item(
        SELLER, "NEW-2", marketplaceIds=DE, mode="VALIDATION_PREVIEW", body=offer_body(-3)
    )
    assert invalid.payload["status"] == "INVALID"
    sandbox.clock.advance(PROCESSING_DELAY * 10)
    with pytest.raises(SellingApiNotFoundException):
        client.get_listings_item(SELLER, "NEW-2")


def test_preview_reports_the_pricing_error_processing_would_raise(listings_client):
    body = offer_body(
        900, extra={"maximum_seller_allowed_price": [{"schedule": [{"value_with_tax": 400}]}]}
    )
    response = listings_client("DE").put_listings_item(
        SELLER, "NEW-3", marketplaceIds=DE, mode="VALIDATION_PREVIEW", body=body
    )
    assert response.payload["status"] == "VALID"
    assert [i["code"] for i in response.payload["issues"]] == ["POTENTIAL_PRICING_ERROR"]


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (
            {
                "productType": "HEADPHONES",
                "attributes": {
                    "item_name": [{"value": "x", "language_tag": "de_DE"}],
                    **required_facts(),
                    "purchasable_offer": [{"currency": "EUR"}],
                },
            },
            "90220",
            "'our_price' is required",
        ),
        (
            offer_body(
                50,
                extra={
                    "discounted_price": [
                        {"schedule": [{"value_with_tax": 40, "start_at": "2026-11-20T00:00:00Z"}]}
                    ]
                },
            ),
            "90220",
            "end_at",
        ),
        (offer_body(50, quantity=-2), "4000001", "below the minimum of 0"),
        (
            offer_body(50) | {"attributes": {**offer_body(50)["attributes"], "item_name": []}},
            "90220",
            "Item Name",
        ),
    ],
    ids=["missing-our-price", "sale-without-end", "negative-quantity", "missing-title"],
)
def test_invalid_submissions_are_rejected_with_issues(sandbox, listings_client, body, code, needle):
    response = listings_client("DE").put_listings_item(
        SELLER, "HP-002", marketplaceIds=DE, body=body
    )
    assert response.payload["status"] == "INVALID"
    issues = response.payload["issues"]
    assert any(i["code"] == code and needle in i["message"] for i in issues), issues
    assert all(i["severity"] == "ERROR" and i["marketplaceIds"] == [DE] for i in issues)
    with sandbox.store.read() as tx:
        assert tx.all_pending() == []


def test_string_prices_are_not_numbers(listings_client):
    body = offer_body(10)
    body["attributes"]["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] = (
        "19.99"
    )
    response = listings_client("DE").put_listings_item(
        SELLER, "HP-002", marketplaceIds=DE, body=body
    )
    assert response.payload["status"] == "INVALID"
    assert "must be a number" in response.payload["issues"][0]["message"]


def test_decimal_prices_survive_exactly(sandbox, raw):
    """A JSON number such as 19.99 is stored and served as exactly 19.99 (never float)."""
    body = offer_body(1)
    body["attributes"]["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] = (
        Decimal("19.99")
    )
    body["attributes"]["purchasable_offer"][0]["minimum_seller_allowed_price"] = [
        {"schedule": [{"value_with_tax": Decimal("0.10")}]}
    ]
    sent = jsonio.dumps(body)
    assert '"value_with_tax":19.99' in sent
    response = raw.put(
        f"/listings/2021-08-01/items/{SELLER}/EXACT-1",
        params={"marketplaceIds": DE},
        content=sent,
        headers={"content-type": "application/json"},
    )
    assert response.json()["status"] == "ACCEPTED"
    sandbox.clock.advance(PROCESSING_DELAY)
    got = raw.get(
        f"/listings/2021-08-01/items/{SELLER}/EXACT-1",
        params={"marketplaceIds": DE, "includedData": "attributes,offers"},
    )
    assert '"value_with_tax":19.99' in got.text and '"value_with_tax":0.10' in got.text
    item = jsonio.loads(got.text)
    assert item["offers"][0]["price"]["amount"] == "19.99"
    offer = item["attributes"]["purchasable_offer"][0]
    assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("19.99")


def test_patch_merge_changes_quantity_and_keeps_the_rest(sandbox, listings_client):
    client = listings_client("DE")
    body = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 17}],
            }
        ],
    }
    assert client.patch_listings_item(SELLER, "HP-002", body=body).payload["status"] == "ACCEPTED"
    sandbox.clock.advance(PROCESSING_DELAY)
    item = client.get_listings_item(SELLER, "HP-002", includedData=ALL_DATA).payload
    assert item["fulfillmentAvailability"][0]["quantity"] == 17
    assert item["offers"][0]["price"]["amount"] == "21.99"


def test_patch_replace_without_discounted_price_drops_the_sale(sandbox, listings_client):
    client = listings_client("DE")
    body = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "currency": "EUR",
                        "audience": "ALL",
                        "our_price": [{"schedule": [{"value_with_tax": 55}]}],
                    }
                ],
            }
        ],
    }
    assert client.patch_listings_item(SELLER, "HP-003", body=body).payload["status"] == "ACCEPTED"
    sandbox.clock.advance(PROCESSING_DELAY)
    item = client.get_listings_item(SELLER, "HP-003", includedData="offers,attributes").payload
    assert item["offers"][0]["price"]["amount"] == "55"
    assert "discounted_price" not in item["attributes"]["purchasable_offer"][0]


def test_patch_merge_of_offer_keeps_the_sale(sandbox, listings_client):
    client = listings_client("DE")
    body = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": DE,
                        "currency": "EUR",
                        "our_price": [{"schedule": [{"value_with_tax": 62}]}],
                    }
                ],
            }
        ],
    }
    client.patch_listings_item(SELLER, "HP-003", body=body)
    sandbox.clock.advance(PROCESSING_DELAY)
    offer = client.get_listings_item(SELLER, "HP-003", includedData="attributes").payload[
        "attributes"
    ]["purchasable_offer"][0]
    assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == 62
    assert offer["discounted_price"][0]["schedule"][0]["value_with_tax"] == 44.99


def test_patch_add_and_delete_attributes(sandbox, listings_client):
    client = listings_client("DE")
    body = {
        "productType": "HEADPHONES",
        "patches": [
            {"op": "delete", "path": "/attributes/bullet_point"},
            {
                "op": "add",
                "path": "/attributes/list_price",
                "value": [{"value": 99, "currency": "EUR"}],
            },
        ],
    }
    client.patch_listings_item(SELLER, "HP-002", body=body)
    sandbox.clock.advance(PROCESSING_DELAY)
    attrs = client.get_listings_item(SELLER, "HP-002", includedData="attributes").payload[
        "attributes"
    ]
    assert "bullet_point" not in attrs
    assert attrs["list_price"] == [{"value": 99, "currency": "EUR", "marketplace_id": DE}]


def test_patch_of_nested_path_or_unknown_sku_is_invalid(listings_client):
    client = listings_client("DE")
    nested = {
        "productType": "HEADPHONES",
        "patches": [
            {"op": "replace", "path": "/attributes/purchasable_offer/0/our_price", "value": [{}]}
        ],
    }
    response = client.patch_listings_item(SELLER, "HP-002", body=nested).payload
    assert response["status"] == "INVALID"
    assert "only top-level attributes" in response["issues"][0]["message"]
    unknown = {
        "productType": "HEADPHONES",
        "patches": [{"op": "delete", "path": "/attributes/bullet_point"}],
    }
    response = client.patch_listings_item(SELLER, "NOPE-2", body=unknown).payload
    assert response["status"] == "INVALID"
    assert response["issues"][0]["code"] == "SKU_NOT_FOUND"


def test_malformed_patch_is_a_bad_request(listings_client):
    body = {"productType": "HEADPHONES", "patches": [{"op": "move", "path": "/attributes/x"}]}
    with pytest.raises(SellingApiBadRequestException) as err:
        listings_client("DE").patch_listings_item(SELLER, "HP-002", body=body)
    assert "op must be one of" in err.value.message


def test_patch_validates_against_queued_state(sandbox, listings_client):
    """A patch right after a put (not yet processed) applies on top of the put."""
    client = listings_client("DE")
    client.put_listings_item(SELLER, "NEW-4", marketplaceIds=DE, body=offer_body(30))
    patch = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 8}],
            }
        ],
    }
    assert client.patch_listings_item(SELLER, "NEW-4", body=patch).payload["status"] == "ACCEPTED"
    sandbox.clock.advance(PROCESSING_DELAY)
    item = client.get_listings_item(SELLER, "NEW-4", includedData="fulfillmentAvailability")
    assert item.payload["fulfillmentAvailability"][0]["quantity"] == 8


def test_fixing_the_price_clears_the_seeded_pricing_error(sandbox, listings_client):
    client = listings_client("DE")
    before = client.get_listings_item(SELLER, "HP-000", includedData="issues,summaries,offers")
    assert before.payload["issues"][0]["code"] == "POTENTIAL_PRICING_ERROR"
    assert before.payload["summaries"][0]["status"] == []
    assert before.payload["offers"] == []
    body = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": DE,
                        "currency": "EUR",
                        "our_price": [{"schedule": [{"value_with_tax": 20}]}],
                    }
                ],
            }
        ],
    }
    client.patch_listings_item(SELLER, "HP-000", body=body)
    sandbox.clock.advance(PROCESSING_DELAY)
    after = client.get_listings_item(SELLER, "HP-000", includedData="issues,summaries").payload
    assert after["issues"] == []
    assert "BUYABLE" in after["summaries"][0]["status"]


def test_delete_is_asynchronous(sandbox, listings_client):
    client = listings_client("DE")
    response = client.delete_listings_item(SELLER, "HP-010")
    assert response.payload["status"] == "ACCEPTED"
    assert client.get_listings_item(SELLER, "HP-010").payload["sku"] == "HP-010"
    sandbox.clock.advance(PROCESSING_DELAY)
    with pytest.raises(SellingApiNotFoundException):
        client.get_listings_item(SELLER, "HP-010")


def test_search_pages_through_every_sku_once(listings_client):
    client = listings_client("DE")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"pageSize": 7, "sortBy": "sku", "sortOrder": "ASC"}
        if token:
            kwargs["pageToken"] = token
        page = client.search_listings_items(SELLER, **kwargs)
        pages += 1
        assert page.payload["numberOfResults"] == 31
        seen += [item["sku"] for item in page.payload["items"]]
        token = page.next_token
        if not token:
            break
    # The 30 desired DE SKUs are seeded (the missing one is in JP), plus LEGACY-HP-000.
    assert pages == 5
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 31
    assert "LEGACY-HP-000" in seen


def test_search_filters_and_page_size_limit(listings_client):
    client = listings_client("DE")
    by_sku = client.search_listings_items(
        SELLER, identifiers="HP-002,HP-005", identifiersType="SKU", includedData="offers"
    ).payload
    assert [i["sku"] for i in by_sku["items"]] == ["HP-005", "HP-002"]  # lastUpdatedDate DESC
    assert by_sku["items"][0]["offers"][0]["price"]["amount"] == "26.24"  # seeded price drift
    errors = client.search_listings_items(SELLER, withIssueSeverity="ERROR").payload
    assert [i["sku"] for i in errors["items"]] == ["HP-000"]
    with pytest.raises(SellingApiBadRequestException):
        client.search_listings_items(SELLER, pageSize=21)
    with pytest.raises(SellingApiBadRequestException):
        client.search_listings_items(SELLER, pageToken="not-a-token")


def test_page_token_belongs_to_its_query(listings_client):
    client = listings_client("DE")
    token = client.search_listings_items(SELLER, pageSize=5).next_token
    with pytest.raises(SellingApiBadRequestException) as err:
        client.search_listings_items(SELLER, pageSize=5, sortBy="sku", pageToken=token)
    assert "different query" in err.value.message


def test_rate_limit_429_with_header(open_sandbox):
    from sp_api.api import ListingsItems

    box = open_sandbox(rate_limits=True)
    client = ListingsItems(**box.client_kwargs("DE"))
    for _ in range(5):  # searchListingsItems: burst 5
        client.search_listings_items(SELLER, pageSize=1)
    with pytest.raises(SellingApiRequestThrottledException) as err:
        client.search_listings_items(SELLER, pageSize=1)
    assert err.value.amzn_code == "QuotaExceeded"
    assert err.value.headers["x-amzn-RateLimit-Limit"] == "5.0"
    # Other operations have their own buckets; this one refills from the virtual clock.
    assert client.get_listings_item(SELLER, "HP-002").payload["sku"] == "HP-002"
    box.clock.advance(timedelta(seconds=0.2))
    assert client.search_listings_items(SELLER, pageSize=1).payload["numberOfResults"] == 31
    with pytest.raises(SellingApiException):
        client.search_listings_items(SELLER, pageSize=1)


def test_unknown_path_and_method_are_json_errors(sandbox, raw):
    missing = raw.get("/listings/2020-01-01/nothing")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    wrong = raw.post(f"/listings/2021-08-01/items/{SELLER}/HP-002", content="{}")
    assert wrong.status_code == 405 and "errors" in wrong.json()
    assert wrong.headers["x-amzn-RequestId"]


def test_invalid_json_body_is_a_bad_request(raw):
    response = raw.put(
        f"/listings/2021-08-01/items/{SELLER}/HP-002",
        params={"marketplaceIds": DE},
        content="{not json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_unknown_marketplace_is_a_bad_request(listings_client):
    with pytest.raises(SellingApiBadRequestException) as err:
        listings_client("DE").get_listings_item(SELLER, "HP-002", marketplaceIds="ATVPDKIKX0DER")
    assert "does not participate" in err.value.message
