"""The fast validator runs the schemas with their refs inlined; it must judge like the full one."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from engine.config import schema
from engine.config.yamlsafe import SourceFile

PRODUCT = {
    "sku": "HP-1",
    "product_type": "HEADPHONES",
    "brand": "Acme",
    "cost": {"amount": "20.00", "currency": "USD"},
    "base_price": "49.99",
    "fulfillment": "MFN",
    "texts": {"en": {"title": "Headphones"}},
    "stock": {"alert_level": 5},
}


@pytest.mark.parametrize("kind", [k for k in schema.SCHEMA_NAMES if k != "definitions"])
def test_inlined_schemas_hold_no_refs(kind):
    assert "$ref" not in json.dumps(schema._inline_refs(schema.schema_for(kind), kind))


def test_a_ref_is_replaced_by_its_target():
    inlined = schema._inline_refs(schema.schema_for("products"), "products")
    item = inlined["properties"]["products"]["items"]["properties"]
    assert (
        item["base_price"]
        == schema.load_schemas()["definitions.schema.json"]["definitions"]["amount"]
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_price", "12,50"),  # definitions: amount
        ("fulfillment", "SELF"),  # definitions: fulfillment
        ("sku", ""),  # definitions: sku
        ("stock", {"alert_level": -1}),  # definitions: stock
    ],
)
def test_values_checked_through_refs_are_still_rejected(field, value):
    bad = SourceFile("products.yaml", "", {"products": [{**PRODUCT, field: value}]})
    assert schema.validate(bad, "products")
    with pytest.raises(schema.fastjsonschema.JsonSchemaException):
        schema._fast_validator("products")(bad.data)


def test_a_valid_catalog_passes_the_fast_validator():
    good = SourceFile("products.yaml", "", {"products": [{**PRODUCT, "base_price": Decimal(5)}]})
    assert schema.validate(good, "products") == []
