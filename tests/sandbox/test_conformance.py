"""Every sandbox response validates against Amazon's official models (Swagger 2.0).

Definitions are checked with jsonschema Draft 4 through a referencing registry. To catch
misspelt keys, objects are closed (`additionalProperties: false`) unless the model leaves
them open on purpose (listing attributes). Skipped when ../shared is absent.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT4

from engine.sandbox import faults, orders_2026, product_types
from engine.sandbox.account import PROCESSING_DELAY
from engine.sandbox.app import URL_MAP
from engine.sandbox.bulk_http import DOCUMENT_URL
from engine.sandbox.jobs import PROCESSING_TIME, QUEUE_TIME
from engine.sandbox.promotions import Promotion
from engine.sandbox.scenario import add_promotion
from engine.sandbox.simulation import simulate
from tests.sandbox.conftest import (
    DE,
    MODELS,
    SELLER,
    listings_feed,
    quantity_patch,
    required_facts,
)
from tests.sandbox.orderfixtures import insert, make_order

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/spapi-models is not available"),
]

LISTINGS_MODEL = "listings-items-api-model/listingsItems_2021-08-01.json"
SELLERS_MODEL = "sellers-api-model/sellers.json"
ORDERS_MODEL = "orders-api-model/ordersV0.json"
ORDERS_2026_MODEL = "orders-api-model/orders_2026-01-01.json"
MESSAGING_MODEL = "messaging-api-model/messaging.json"
FEEDS_MODEL = "feeds-api-model/feeds_2021-06-30.json"
REPORTS_MODEL = "reports-api-model/reports_2021-06-30.json"
INVENTORY_MODEL = "fba-inventory-api-model/fbaInventory.json"
NOTIFICATIONS_MODEL = "notifications-api-model/notifications.json"
DEFINITIONS_MODEL = "product-type-definitions-api-model/definitionsProductTypes_2020-09-01.json"
BULK_MODELS = (FEEDS_MODEL, REPORTS_MODEL, INVENTORY_MODEL, NOTIFICATIONS_MODEL, DEFINITIONS_MODEL)
ITEM = "/listings/2021-08-01/items/{sellerId}/{sku}"
SEARCH = "/listings/2021-08-01/items/{sellerId}"
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(f"{value!r} is not a date-time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no timezone")
    return True


def _closed(node: Any) -> Any:
    """Close every object schema that lists properties and does not say otherwise."""
    if isinstance(node, dict):
        result = {k: _closed(v) for k, v in node.items()}
        if "properties" in result and "additionalProperties" not in result:
            result["additionalProperties"] = False
        return result
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


class Model:
    def __init__(self, relative: str) -> None:
        self.doc = json.loads((MODELS / relative).read_text(encoding="utf-8"))
        self.uri = f"urn:spapi:{relative}"
        self.registry = Registry().with_resource(
            self.uri, DRAFT4.create_resource(_closed(copy.deepcopy(self.doc)))
        )

    def validate(self, schema_ref: str, instance: Any) -> None:
        validator = jsonschema.Draft4Validator(
            {"$ref": f"{self.uri}{schema_ref}"}, registry=self.registry, format_checker=FORMATS
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)

    def check(self, path: str, method: str, response: httpx.Response) -> Any:
        """Validate one HTTP response against the model's declared response."""
        operation = self.doc["paths"][path][method.lower()]
        declared = operation["responses"].get(str(response.status_code))
        if declared is None:
            assert response.status_code >= 400, f"{response.status_code} not in the model"
            schema_ref = "#/definitions/ErrorList"
            headers: dict[str, Any] = {"x-amzn-RequestId": {}}
        elif "schema" not in declared:  # cancelFeed / cancelReport: success without a body
            for header in declared.get("headers", {}):
                assert response.headers.get(header), f"{header} missing ({response.status_code})"
            assert response.content == b""
            return None
        else:
            schema_ref = declared["schema"]["$ref"]
            headers = declared.get("headers", {})
        for header in headers:
            assert response.headers.get(header), f"{header} missing ({response.status_code})"
        assert response.headers["content-type"].split(";")[0] in self.doc["produces"]
        body = response.json()
        self.validate(schema_ref, body)
        return body


@pytest.fixture(scope="module")
def listings_model() -> Model:
    return Model(LISTINGS_MODEL)


@pytest.fixture(scope="module")
def sellers_model() -> Model:
    return Model(SELLERS_MODEL)


@pytest.fixture(scope="module")
def orders_model() -> Model:
    return Model(ORDERS_MODEL)


@pytest.fixture(scope="module")
def orders_2026_model() -> Model:
    return Model(ORDERS_2026_MODEL)


@pytest.fixture(scope="module")
def messaging_model() -> Model:
    return Model(MESSAGING_MODEL)


def item_url(sku: str) -> str:
    return f"/listings/2021-08-01/items/{SELLER}/{sku}"


ALL = "summaries,attributes,issues,offers,fulfillmentAvailability,relationships,productTypes"


def test_every_route_is_an_operation_of_the_models(
    listings_model, sellers_model, orders_model, orders_2026_model, messaging_model
):
    paths = {
        **listings_model.doc["paths"],
        **sellers_model.doc["paths"],
        **orders_model.doc["paths"],
        **orders_2026_model.doc["paths"],
        **messaging_model.doc["paths"],
    }
    for model in BULK_MODELS:
        paths |= Model(model).doc["paths"]
    # The Tokens API's one operation (its model, tokens_2021-03-01.json in
    # amzn/selling-partner-api-models, is not among ../shared/spapi-models).
    paths["/tokens/2021-03-01/restrictedDataToken"] = {
        "post": {"operationId": "createRestrictedDataToken"}
    }
    for rule in URL_MAP.iter_rules():
        if rule.endpoint in ("lwaToken", DOCUMENT_URL, product_types.SCHEMA_URL):
            continue
        swagger_path = re.sub(
            r"<(?:path:)?(\w+)>",
            lambda m: "{" + re.sub(r"_(\w)", lambda c: c[1].upper(), m[1]) + "}",
            rule.rule,
        )
        (method,) = rule.methods - {"HEAD", "OPTIONS"}
        operation = paths[swagger_path][method.lower()]
        # An operationId that two versions share is named with its version (getOrder@...).
        assert operation["operationId"] == rule.endpoint.split("@")[0]
        assert "@" not in rule.endpoint or swagger_path.split("/")[2] in rule.endpoint


DEFINITION = "/definitions/2020-09-01/productTypes/{productType}"
DEFINITION_SEARCH = "/definitions/2020-09-01/productTypes"


@pytest.mark.parametrize("requirements", ["LISTING", "LISTING_OFFER_ONLY", "LISTING_PRODUCT_ONLY"])
def test_product_type_definitions_conform(raw, requirements):
    model = Model(DEFINITIONS_MODEL)
    for name in product_types.definitions():
        response = raw.get(
            f"/definitions/2020-09-01/productTypes/{name}",
            params={"marketplaceIds": DE, "requirements": requirements},
        )
        assert response.status_code == 200
        body = model.check(DEFINITION, "GET", response)
        assert body["productType"] == name and body["requirements"] == requirements
    search = raw.get(DEFINITION_SEARCH, params={"marketplaceIds": DE, "keywords": "head,speak"})
    assert [p["name"] for p in model.check(DEFINITION_SEARCH, "GET", search)["productTypes"]] == [
        "HEADPHONES",
        "SPEAKERS",
    ]
    for bad in (
        raw.get("/definitions/2020-09-01/productTypes/GUITARS", params={"marketplaceIds": DE}),
        raw.get(DEFINITION_SEARCH),
    ):
        model.check(DEFINITION, "GET", bad)


def test_product_type_schemas_follow_amazons_meta_schema():
    """Each schema a definition links to is valid under Amazon's product-type meta-schema
    (JSON Schema 2019-09 plus Amazon's vocabulary), for every requirements set."""
    from jsonschema_specifications import REGISTRY

    meta_path = MODELS.parent / "schemas" / "definitions" / "meta-schema.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(meta, registry=REGISTRY)
    assert list(validator.iter_errors({"type": 3})), "the meta-schema must catch a bad schema"
    for definition in product_types.definitions().values():
        for requirements in ("LISTING", "LISTING_OFFER_ONLY", "LISTING_PRODUCT_ONLY"):
            schema = definition.schema_for(requirements)
            assert schema["$schema"] == meta["$id"]
            errors = [e.message for e in validator.iter_errors(schema)]
            assert not errors, (definition.name, requirements, errors)


@pytest.mark.parametrize("sku", ["HP-002", "HP-003", "HP-004", "HP-000", "LEGACY-HP-000"])
def test_get_item_conforms(raw, listings_model, sku):
    response = raw.get(item_url(sku), params={"marketplaceIds": DE, "includedData": ALL})
    assert response.status_code == 200
    body = listings_model.check(ITEM, "GET", response)
    assert body["sku"] == sku and body["summaries"] and body["productTypes"]


def test_search_pages_conform(raw, listings_model):
    token = None
    pages = []
    while True:
        params = {"marketplaceIds": DE, "includedData": ALL, "pageSize": "20"}
        if token:
            params["pageToken"] = token
        body = listings_model.check(
            SEARCH, "GET", raw.get(f"/listings/2021-08-01/items/{SELLER}", params=params)
        )
        pages.append(body)
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            break
    assert len(pages) == 2 and pages[1]["pagination"]["previousToken"]


def put_body(price: Any, quantity: int = 3) -> dict[str, Any]:
    return {
        "productType": "HEADPHONES",
        "attributes": {
            "item_name": [{"value": "Sonora C-1", "language_tag": "de_DE"}],
            **required_facts(),
            "purchasable_offer": [
                {"currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": price}]}]}
            ],
            "fulfillment_availability": [
                {"fulfillment_channel_code": "DEFAULT", "quantity": quantity}
            ],
        },
    }


def submissions(raw: httpx.Client, sandbox: Any) -> Iterator[tuple[str, httpx.Response]]:
    params = {"marketplaceIds": DE, "includedData": "identifiers,issues"}
    yield "PUT", raw.put(item_url("C-1"), params=params, json=put_body(25))
    yield "PUT", raw.put(item_url("C-2"), params=params, json=put_body(25, quantity=-1))
    yield (
        "PUT",
        raw.put(
            item_url("C-3"), params={**params, "mode": "VALIDATION_PREVIEW"}, json=put_body(25)
        ),
    )
    patch = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
            }
        ],
    }
    yield "PATCH", raw.patch(item_url("HP-002"), params=params, json=patch)
    yield "PATCH", raw.patch(item_url("NOPE"), params=params, json=patch)
    yield "DELETE", raw.delete(item_url("HP-010"), params={"marketplaceIds": DE})
    sandbox.clock.advance(PROCESSING_DELAY)
    yield "GET", raw.get(item_url("C-1"), params={"marketplaceIds": DE, "includedData": ALL})


def test_writes_conform(raw, sandbox, listings_model):
    statuses = []
    for method, response in submissions(raw, sandbox):
        assert response.status_code == 200
        body = listings_model.check(ITEM, method, response)
        statuses.append(body.get("status", "item"))
    assert statuses == ["ACCEPTED", "INVALID", "VALID", "ACCEPTED", "INVALID", "ACCEPTED", "item"]


def test_errors_conform(sandbox, raw, listings_model):
    cases = [
        ("GET", raw.get(item_url("NOPE"), params={"marketplaceIds": DE}), 404),
        ("GET", raw.get(item_url("HP-002")), 400),
        (
            "GET",
            httpx.get(
                sandbox.url + item_url("HP-002"),
                params={"marketplaceIds": DE},
                headers={"x-amz-access-token": "Atza|bad"},
            ),
            403,
        ),
        ("PUT", raw.put(item_url("HP-002"), params={"marketplaceIds": DE}, content="[1,"), 400),
        (
            "PATCH",
            raw.patch(
                item_url("HP-002"),
                params={"marketplaceIds": DE},
                json={"productType": "X", "patches": []},
            ),
            400,
        ),
    ]
    faults.set_throttle_storm(sandbox.store)
    cases.append(("DELETE", raw.delete(item_url("HP-002"), params={"marketplaceIds": DE}), 429))
    faults.set_server_errors(sandbox.store, 1, status=503)
    faults.clear(sandbox.store, "throttle")
    cases.append(
        ("GET", raw.get(f"/listings/2021-08-01/items/{SELLER}", params={"marketplaceIds": DE}), 503)
    )
    for method, response, status in cases:
        assert response.status_code == status
        path = SEARCH if str(response.url.path).count("/") == 4 else ITEM
        body = listings_model.check(path, method, response)
        assert body["errors"][0]["code"] and body["errors"][0]["message"]


def test_participations_conform(sandbox, raw, sellers_model):
    body = sellers_model.check(PARTICIPATIONS, "GET", raw.get(PARTICIPATIONS))
    assert len(body["payload"]) == 3
    faults.set_throttle_storm(sandbox.store, until=sandbox.clock.now() + timedelta(seconds=1))
    throttled = raw.get(PARTICIPATIONS)
    assert throttled.status_code == 429
    sellers_model.check(PARTICIPATIONS, "GET", throttled)


@pytest.mark.parametrize(
    "item",
    [
        {"sku": "X", "summaries": [{"marketplaceId": DE}]},  # required fields missing
        {
            "sku": "X",
            "offers": [
                {
                    "marketplaceId": DE,
                    "offerType": "B2C",
                    "price": {"currencyCode": "EUR", "amount": "1", "amout": "1"},
                }
            ],
        },  # misspelt key
        {
            "sku": "X",
            "summaries": [
                {
                    "marketplaceId": DE,
                    "productType": "P",
                    "status": [],
                    "createdDate": "yesterday",
                    "lastUpdatedDate": "today",
                }
            ],
        },
    ],
    ids=["missing-required", "unknown-key", "bad-date-time"],
)
def test_the_checker_rejects_what_amazon_would_not_send(listings_model, item):
    with pytest.raises(AssertionError):
        listings_model.validate("#/definitions/Item", item)


ORDERS = "/orders/v0/orders"
ORDER = "/orders/v0/orders/{orderId}"
ORDER_ITEMS = "/orders/v0/orders/{orderId}/orderItems"
ACTIONS = "/messaging/v1/orders/{amazonOrderId}"
UNEXPECTED = "/messaging/v1/orders/{amazonOrderId}/messages/unexpectedProblem"


@pytest.fixture
def simulated(sandbox):
    """A day of buyers with a promotion, and a pending order, so every field shows up."""
    add_promotion(
        sandbox.account,
        Promotion(
            promotion_id="TEN",
            kind="promo-code",
            code="SAVE10",
            discount_pct=Decimal(10),
            sku_pattern="HP-*",
            marketplace_id=DE,
            starts_at=sandbox.clock.now(),
            ends_at=sandbox.clock.now() + timedelta(days=1),
            created_at=sandbox.clock.now(),
        ),
    )
    summary = simulate(sandbox.account, sandbox.advance, timedelta(hours=30), random.Random(2))
    pending = make_order(1, sandbox.clock.now())
    insert(sandbox, pending)
    return [*summary.orders, pending]


def test_orders_conform(raw, orders_model, simulated):
    params = {"MarketplaceIds": DE, "CreatedAfter": "2026-11-01T00:00:00Z"}
    body = orders_model.check(ORDERS, "GET", raw.get(ORDERS, params=params))
    statuses = {o["OrderStatus"] for o in body["payload"]["Orders"]}
    assert {"Pending", "Unshipped", "Shipped"} <= statuses
    for order in simulated[:30] + simulated[-1:]:
        path = f"{ORDERS}/{order.amazon_order_id}"
        orders_model.check(ORDER, "GET", raw.get(path))
        items = orders_model.check(ORDER_ITEMS, "GET", raw.get(path + "/orderItems"))
        assert items["payload"]["OrderItems"][0]["SellerSKU"] == order.items[0].sku


def test_order_errors_conform(raw, orders_model):
    cases = [
        (ORDERS, raw.get(ORDERS, params={"MarketplaceIds": DE}), 400),
        (ORDER, raw.get(f"{ORDERS}/302-0000000-0000000"), 404),
        (ORDER_ITEMS, raw.get(f"{ORDERS}/nope/orderItems"), 400),
    ]
    for path, response, status in cases:
        assert response.status_code == status
        body = orders_model.check(path, "GET", response)
        assert body["errors"][0]["code"] in ("InvalidInput", "NotFound")


SEARCH_ORDERS = "/orders/2026-01-01/orders"
GET_ORDER = "/orders/2026-01-01/orders/{orderId}"
EVERY_DATASET = ",".join(orders_2026.INCLUDED_DATA)


def test_orders_2026_conform(raw, orders_2026_model, simulated):
    params = {
        "marketplaceIds": DE,
        "createdAfter": "2026-11-01T00:00:00Z",
        "includedData": EVERY_DATASET,
        "maxResultsPerPage": "40",
    }
    seen: list[dict[str, Any]] = []
    response = raw.get(SEARCH_ORDERS, params=params)
    while True:
        body = orders_2026_model.check(SEARCH_ORDERS, "GET", response)
        seen += body["orders"]
        assert "createdBefore" in body and "lastUpdatedBefore" not in body
        token = body.get("pagination", {}).get("nextToken")
        if token is None:
            break
        response = raw.get(SEARCH_ORDERS, params=params | {"paginationToken": token})
    assert len(seen) == len({o["orderId"] for o in seen}) > 40  # more than one page
    statuses = {o["fulfillment"]["fulfillmentStatus"] for o in seen}
    assert {"PENDING", "UNSHIPPED", "SHIPPED"} <= statuses
    assert any("promotion" in i for o in seen for i in o["orderItems"])
    pending = next(o for o in seen if o["fulfillment"]["fulfillmentStatus"] == "PENDING")
    assert "proceeds" not in pending and "price" not in pending["orderItems"][0]["product"]
    for order in simulated[:30] + simulated[-1:]:
        path = f"{SEARCH_ORDERS}/{order.amazon_order_id}"
        for included in ({"includedData": EVERY_DATASET}, {}):
            body = orders_2026_model.check(GET_ORDER, "GET", raw.get(path, params=included))
            item = body["order"]["orderItems"][0]
            assert item["product"]["sellerSku"] == order.items[0].sku
            assert ("fulfillment" in body["order"]) == bool(included)


def test_orders_2026_errors_conform(raw, orders_2026_model):
    window = {"marketplaceIds": DE, "createdAfter": "2026-11-01T00:00:00Z"}
    cases = [
        (SEARCH_ORDERS, raw.get(SEARCH_ORDERS, params={"marketplaceIds": DE}), 400),
        (SEARCH_ORDERS, raw.get(SEARCH_ORDERS, params=window | {"includedData": "ITEMS"}), 400),
        (
            SEARCH_ORDERS,
            raw.get(SEARCH_ORDERS, params=window | {"fulfillmentStatuses": "Shipped"}),
            400,
        ),
        (SEARCH_ORDERS, raw.get(SEARCH_ORDERS, params={"paginationToken": "nope"}), 400),
        (GET_ORDER, raw.get(f"{SEARCH_ORDERS}/302-0000000-0000000"), 404),
        (GET_ORDER, raw.get(f"{SEARCH_ORDERS}/nope"), 400),
    ]
    for path, response, status in cases:
        assert response.status_code == status, response.text
        body = orders_2026_model.check(path, "GET", response)
        assert body["errors"][0]["code"] in ("InvalidInput", "NotFound")


def test_messaging_conforms(raw, messaging_model, simulated):
    mfn = next(o for o in simulated if o.channel == "MFN")
    path = f"/messaging/v1/orders/{mfn.amazon_order_id}"
    params = {"marketplaceIds": DE}
    body = messaging_model.check(ACTIONS, "GET", raw.get(path, params=params))
    assert body["_links"]["actions"][0]["name"] == "unexpectedProblem"
    sent = raw.post(path + "/messages/unexpectedProblem", params=params, json={"text": "Sorry."})
    assert sent.status_code == 201
    messaging_model.check(UNEXPECTED, "POST", sent)
    refused = raw.post(path + "/messages/unexpectedProblem", params=params, json={"text": ""})
    assert refused.status_code == 400
    messaging_model.check(UNEXPECTED, "POST", refused)
    missing = raw.get("/messaging/v1/orders/302-0000000-0000000", params=params)
    assert missing.status_code == 404
    messaging_model.check(ACTIONS, "GET", missing)


FEEDS = "/feeds/2021-06-30"
REPORTS = "/reports/2021-06-30"


@pytest.fixture(scope="module")
def bulk_models() -> dict[str, Model]:
    return {
        "feeds": Model(FEEDS_MODEL),
        "reports": Model(REPORTS_MODEL),
        "inventory": Model(INVENTORY_MODEL),
    }


def test_feed_responses_conform(sandbox, raw, bulk_models):
    model = bulk_models["feeds"]
    documents = f"{FEEDS}/documents"
    created = model.check(
        documents, "POST", raw.post(documents, json={"contentType": "application/json"})
    )
    content = json.dumps(listings_feed(quantity_patch("HP-002", 1), quantity_patch("HP-3", -1)))
    signed = {"Content-Type": "application/json"}  # the type the URL was signed over
    assert httpx.put(created["url"], content=content.encode(), headers=signed).status_code == 200
    spec = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [DE]}
    feed_id = model.check(
        f"{FEEDS}/feeds",
        "POST",
        raw.post(f"{FEEDS}/feeds", json={**spec, "inputFeedDocumentId": created["feedDocumentId"]}),
    )["feedId"]
    statuses = []
    for step in (timedelta(0), QUEUE_TIME, PROCESSING_TIME):
        sandbox.advance(step)
        feed = model.check(f"{FEEDS}/feeds/{{feedId}}", "GET", raw.get(f"{FEEDS}/feeds/{feed_id}"))
        statuses.append(feed["processingStatus"])
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    result = model.check(
        f"{documents}/{{feedDocumentId}}",
        "GET",
        raw.get(f"{documents}/{feed['resultFeedDocumentId']}"),
    )
    assert httpx.get(result["url"]).json()["summary"]["messagesInvalid"] == 1
    listed = model.check(
        f"{FEEDS}/feeds",
        "GET",
        raw.get(f"{FEEDS}/feeds", params={"feedTypes": "JSON_LISTINGS_FEED", "pageSize": 1}),
    )
    assert [f["feedId"] for f in listed["feeds"]] == [feed_id] and "nextToken" not in listed
    again = model.check(documents, "POST", raw.post(documents, json={"contentType": "text/xml"}))
    httpx.put(again["url"], content=b"{}", headers={"Content-Type": "text/xml"})
    queued = raw.post(
        f"{FEEDS}/feeds", json={**spec, "inputFeedDocumentId": again["feedDocumentId"]}
    ).json()["feedId"]
    model.check(f"{FEEDS}/feeds/{{feedId}}", "DELETE", raw.delete(f"{FEEDS}/feeds/{queued}"))
    errors = [
        ("/feeds", "POST", raw.post(f"{FEEDS}/feeds", json={**spec, "feedType": "X"}), 400),
        ("/feeds/{feedId}", "GET", raw.get(f"{FEEDS}/feeds/424242"), 404),
        ("/feeds/{feedId}", "DELETE", raw.delete(f"{FEEDS}/feeds/{feed_id}"), 400),
        ("/feeds", "GET", raw.get(f"{FEEDS}/feeds"), 400),
        ("/documents", "POST", raw.post(documents, json={}), 400),
        ("/documents/{feedDocumentId}", "GET", raw.get(f"{documents}/nope"), 404),
    ]
    for path, method, response, status in errors:
        assert response.status_code == status, (path, method)
        model.check(FEEDS + path, method, response)


def test_report_responses_conform(sandbox, raw, bulk_models):
    model = bulk_models["reports"]
    reports = f"{REPORTS}/reports"
    spec = {
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplaceIds": [DE],
        "dataStartTime": "2026-11-01T00:00:00Z",
    }
    report_id = model.check(reports, "POST", raw.post(reports, json=spec))["reportId"]
    cancelled_id = raw.post(reports, json=spec).json()["reportId"]
    model.check(f"{reports}/{{reportId}}", "DELETE", raw.delete(f"{reports}/{cancelled_id}"))
    sandbox.advance(QUEUE_TIME + PROCESSING_TIME)
    report = model.check(f"{reports}/{{reportId}}", "GET", raw.get(f"{reports}/{report_id}"))
    assert report["processingStatus"] == "DONE"
    document = model.check(
        f"{REPORTS}/documents/{{reportDocumentId}}",
        "GET",
        raw.get(f"{REPORTS}/documents/{report['reportDocumentId']}"),
    )
    assert httpx.get(document["url"]).text.startswith("item-name\titem-description\t")
    listed = model.check(
        reports, "GET", raw.get(reports, params={"reportTypes": spec["reportType"], "pageSize": 1})
    )
    assert len(listed["reports"]) == 1 and listed["nextToken"]
    errors = [
        ("POST", raw.post(reports, json={**spec, "reportType": "X"}), 400),
        ("GET", raw.get(reports, params={"nextToken": listed["nextToken"], "pageSize": 2}), 400),
    ]
    for method, response, status in errors:
        assert response.status_code == status
        model.check(reports, method, response)


def test_inventory_responses_conform(raw, bulk_models):
    model = bulk_models["inventory"]
    path = "/fba/inventory/v1/summaries"
    query = {"granularityType": "Marketplace", "granularityId": DE, "marketplaceIds": DE}
    body = model.check(path, "GET", raw.get(path, params={**query, "details": "true"}))
    assert [s["sellerSku"] for s in body["payload"]["inventorySummaries"]] == ["HP-004"]
    refused = raw.get(path, params={**query, "granularityId": "ATVPDKIKX0DER"})
    assert refused.status_code == 400
    model.check(path, "GET", refused)
