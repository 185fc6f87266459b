"""Listings writes are checked against product type definitions, which the sandbox serves."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from engine.sandbox import product_types
from tests.sandbox.conftest import (
    DE,
    SELLER,
    finished_feed,
    listings_feed,
    required_facts,
    submit_feed,
)

ITEM = f"/listings/2021-08-01/items/{SELLER}"
DEFINITIONS = "/definitions/2020-09-01/productTypes"


def put_body(product_type: str = "HEADPHONES", **attributes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "productType": product_type,
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{"value": "Sonora NEW-9", "language_tag": "de_DE"}],
            **required_facts(),
            "purchasable_offer": [
                {"currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 30}]}]}
            ],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}],
        },
    }
    for name, values in attributes.items():
        if values is None:
            body["attributes"].pop(name)
        else:
            body["attributes"][name] = values
    return body


def put(raw: Any, body: dict[str, Any], sku: str = "NEW-9") -> dict[str, Any]:
    response = raw.put(f"{ITEM}/{sku}", params={"marketplaceIds": DE}, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def codes(result: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(i["code"], i["severity"], i.get("attributeNames", [])) for i in result["issues"]]


def test_a_complete_listing_is_accepted(raw):
    assert put(raw, put_body())["status"] == "ACCEPTED"


def test_an_unknown_product_type_is_invalid(raw):
    result = put(raw, put_body("GUITARS"))
    assert result["status"] == "INVALID"
    assert codes(result) == [("4000003", "ERROR", [])]
    assert "product type specified is invalid" in result["issues"][0]["message"]


@pytest.mark.parametrize(
    ("missing", "title"),
    [("brand", "Brand Name"), ("condition_type", "Item Condition"), ("item_name", "Item Name")],
)
def test_a_missing_required_attribute_is_invalid(raw, missing, title):
    result = put(raw, put_body(**{missing: None}))
    assert result["status"] == "INVALID"
    assert ("90220", "ERROR", [missing]) in codes(result)
    assert any(f"'{title}' is required but not supplied." == i["message"] for i in result["issues"])


def test_offer_only_requires_only_the_offer(raw):
    body = put_body(item_name=None, brand=None) | {"requirements": "LISTING_OFFER_ONLY"}
    assert put(raw, body, sku="HP-002")["status"] == "ACCEPTED"
    body = put_body(condition_type=None) | {"requirements": "LISTING_OFFER_ONLY"}
    assert ("90220", "ERROR", ["condition_type"]) in codes(put(raw, body, sku="HP-002"))


def test_a_value_outside_the_enumeration_is_invalid(raw):
    result = put(raw, put_body(condition_type=[{"value": "brand_new"}]))
    assert result["status"] == "INVALID"
    (issue,) = result["issues"]
    assert (issue["code"], issue["attributeNames"]) == ("4000001", ["condition_type"])
    assert "'brand_new' is not one of the allowed values" in issue["message"]
    own = put(raw, put_body(headphones_form_factor=[{"value": "on_the_head"}]))
    assert ("4000001", "ERROR", ["headphones_form_factor"]) in codes(own)
    assert put(raw, put_body(headphones_form_factor=[{"value": "on_ear"}]))["status"] == "ACCEPTED"


def test_a_too_long_title_and_too_many_bullets_are_invalid(raw):
    title = [{"value": "x" * 201, "language_tag": "de_DE"}]
    result = put(raw, put_body(item_name=title))
    assert result["status"] == "INVALID"
    assert "longer than the maximum of 200 characters" in result["issues"][0]["message"]
    bullets = [{"value": f"point {i}", "language_tag": "de_DE"} for i in range(6)]
    result = put(raw, put_body(bullet_point=bullets))
    assert codes(result) == [("99016", "ERROR", ["bullet_point"])]


def patch(raw: Any, sku: str, *patches: dict[str, Any]) -> dict[str, Any]:
    response = raw.patch(
        f"{ITEM}/{sku}",
        params={"marketplaceIds": DE},
        json={"productType": "HEADPHONES", "patches": list(patches)},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_merge_is_refused_on_attributes_amazon_does_not_document_it_for(raw):
    title = [{"value": "Sonora HP-002 neu", "language_tag": "de_DE"}]
    result = patch(raw, "HP-002", {"op": "merge", "path": "/attributes/item_name", "value": title})
    assert result["status"] == "INVALID"
    (issue,) = result["issues"]
    assert (issue["code"], issue["attributeNames"]) == ("4000001", ["item_name"])
    assert "merge operation is not supported for 'item_name'" in issue["message"]
    quantity = [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}]
    merged = patch(
        raw,
        "HP-002",
        {"op": "merge", "path": "/attributes/fulfillment_availability", "value": quantity},
    )
    assert merged["status"] == "ACCEPTED"


def test_a_patch_cannot_remove_a_required_attribute_or_break_an_enumeration(raw):
    result = patch(raw, "HP-002", {"op": "delete", "path": "/attributes/brand"})
    assert result["status"] == "INVALID"
    assert ("90220", "ERROR", ["brand"]) in codes(result)
    wrong = [{"value": "mint"}]
    result = patch(
        raw, "HP-002", {"op": "replace", "path": "/attributes/condition_type", "value": wrong}
    )
    assert ("4000001", "ERROR", ["condition_type"]) in codes(result)
    result = patch(raw, "HP-002", {"op": "replace", "path": "/attributes/item_name", "value": []})
    assert ("90220", "ERROR", ["item_name"]) in codes(result)


def test_a_patch_with_an_unknown_product_type_is_invalid(raw):
    response = raw.patch(
        f"{ITEM}/HP-002",
        params={"marketplaceIds": DE},
        json={"productType": "GUITARS", "patches": [{"op": "delete", "path": "/attributes/x"}]},
    )
    assert codes(response.json()) == [("4000003", "ERROR", [])]


def test_the_listings_feed_reports_the_same_issues(sandbox, feeds_client):
    good = {"sku": "NEW-9", "operationType": "UPDATE", **put_body()}
    unknown = {"sku": "NEW-8", "operationType": "UPDATE", **put_body("GUITARS")}
    no_brand = {"sku": "NEW-7", "operationType": "UPDATE", **put_body(brand=None)}
    feed_id = submit_feed(feeds_client, listings_feed(good, unknown, no_brand))
    _, report = finished_feed(sandbox, feeds_client, feed_id)
    assert report["summary"]["messagesAccepted"] == 1
    found = {(i["messageId"], i["code"], i.get("attributeName")) for i in report["issues"]}
    assert found == {(2, "4000003", None), (3, "90220", "brand")}


def test_definitions_are_served_and_their_schema_link_is_what_is_enforced(raw):
    response = raw.get(f"{DEFINITIONS}/HEADPHONES", params={"marketplaceIds": DE})
    assert response.status_code == 200 and response.headers["x-amzn-RateLimit-Limit"] == "5.0"
    body = response.json()
    assert body["productType"] == "HEADPHONES" and body["requirements"] == "LISTING"
    assert body["productTypeVersion"]["latest"] is True
    assert "purchasable_offer" in body["propertyGroups"]["offer"]["propertyNames"]
    link = body["schema"]["link"]
    assert link["verb"] == "GET"
    document = raw.get(link["resource"], headers={"x-amz-access-token": ""})  # no token needed
    assert document.status_code == 200
    assert (
        base64.b64encode(hashlib.md5(document.content).digest()).decode()
        == body["schema"]["checksum"]
    )
    schema = json.loads(document.content)
    assert schema["required"] == ["item_name", "brand", "condition_type", "purchasable_offer"]
    assert schema["properties"]["item_name"]["items"]["properties"]["value"]["maxLength"] == 200
    assert schema == product_types.definition("HEADPHONES").schema_for("LISTING")
    offer_only = raw.get(
        f"{DEFINITIONS}/HEADPHONES",
        params={"marketplaceIds": DE, "requirements": "LISTING_OFFER_ONLY"},
    ).json()
    offer_schema = raw.get(offer_only["schema"]["link"]["resource"]).json()
    assert offer_schema["required"] == ["condition_type", "purchasable_offer"]
    assert "item_name" not in offer_schema["properties"]


def test_unknown_definitions_and_bad_queries_are_refused(raw):
    unknown = raw.get(f"{DEFINITIONS}/GUITARS", params={"marketplaceIds": DE})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NotFound"
    bad = raw.get(f"{DEFINITIONS}/HEADPHONES", params={"marketplaceIds": DE, "requirements": "X"})
    assert bad.status_code == 400
    assert raw.get(f"{DEFINITIONS}/HEADPHONES").status_code == 400  # marketplaceIds required


def test_search_finds_the_demo_product_types(raw):
    every = raw.get(DEFINITIONS, params={"marketplaceIds": DE}).json()
    assert {p["name"] for p in every["productTypes"]} == {
        "HEADPHONES",
        "SPEAKERS",
        "CARRYING_CASE_OR_BAG",
        "CE_ACCESSORY",
        "CHARGING_ADAPTER",
        "ELECTRONIC_CABLE",
    }
    cables = raw.get(DEFINITIONS, params={"marketplaceIds": DE, "keywords": "cable"}).json()
    assert [p["name"] for p in cables["productTypes"]] == ["ELECTRONIC_CABLE"]
    by_title = raw.get(DEFINITIONS, params={"marketplaceIds": DE, "itemName": "Sonora Speakers"})
    assert [p["name"] for p in by_title.json()["productTypes"]] == ["SPEAKERS"]
    both = raw.get(DEFINITIONS, params={"marketplaceIds": DE, "keywords": "x", "itemName": "y"})
    assert both.status_code == 400


def test_the_demo_config_uses_only_defined_product_types():
    from pathlib import Path

    import yaml

    config = Path(__file__).resolve().parents[2] / "config" / "products"
    used = {
        p["product_type"]
        for f in config.glob("*.yaml")
        for p in yaml.safe_load(f.read_text(encoding="utf-8"))["products"]
    }
    assert used == set(product_types.definitions())
