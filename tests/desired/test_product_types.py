"""The pure check of listing attributes against a product type schema."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.desired.product_types import check, missing_required, requirements_schema

SCHEMA = {
    "type": "object",
    "required": ["item_name", "purchasable_offer"],
    "properties": {
        "item_name": {
            "title": "Item Name",
            "type": "array",
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": ["value"],
                "properties": {"value": {"type": "string", "maxLength": 5, "maxUtf8ByteLength": 6}},
            },
        },
        "purchasable_offer": {
            "title": "Purchasable Offer",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "audience": {"type": "string", "enum": ["ALL", "B2B"]},
                    "price": {"type": "number"},
                },
            },
        },
    },
}
GROUPS = {"offer": ["purchasable_offer"]}


def test_requirements_sets_split_the_schema_by_the_offer_group():
    offer = requirements_schema(SCHEMA, GROUPS, "LISTING_OFFER_ONLY")
    assert list(offer["properties"]) == ["purchasable_offer"]
    assert offer["required"] == ["purchasable_offer"]
    product = requirements_schema(SCHEMA, GROUPS, "LISTING_PRODUCT_ONLY")
    assert product["required"] == ["item_name"]
    assert "required" not in requirements_schema(SCHEMA, GROUPS, "LISTING", enforced=False)
    with pytest.raises(ValueError, match="requirements"):
        requirements_schema(SCHEMA, GROUPS, "OFFER")


def test_a_valid_listing_has_no_issues_and_decimals_are_numbers():
    attributes = {
        "item_name": [{"value": "Hi"}],
        "purchasable_offer": [{"audience": "ALL", "price": Decimal("9.99")}],
    }
    assert check(SCHEMA, attributes) == []


def test_each_failure_has_amazons_code():
    found = check(
        SCHEMA,
        {
            "item_name": [{"value": "ÄÄÄÄ"}, {"value": "x"}],
            "purchasable_offer": [{"audience": "SOME", "price": "9.99"}],
        },
    )
    by_code = sorted((i.code, i.attribute) for i in found)
    assert by_code == [
        ("4000001", "item_name"),  # 8 bytes in UTF-8, over maxUtf8ByteLength 6
        ("4000001", "purchasable_offer"),  # the enum
        ("4000001", "purchasable_offer"),  # a string price
        ("99016", "item_name"),  # two values, maxItems 1
    ]
    assert any("bytes in UTF-8" in i.message for i in found)
    assert all(i.severity == "ERROR" for i in found)


def test_missing_and_empty_required_attributes_are_90220():
    found = check(SCHEMA, {"item_name": [], "purchasable_offer": [{}]})
    assert [(i.code, i.attribute, i.message) for i in found] == [
        ("90220", "item_name", "'Item Name' is required but not supplied.")
    ]
    assert missing_required(SCHEMA, {"purchasable_offer": [{}]}) == ["item_name"]
    nested = check(SCHEMA, {"item_name": [{}], "purchasable_offer": [{}]})
    assert [(i.code, i.message) for i in nested] == [
        ("90220", "'Item Name: value' is required but not supplied.")
    ]
