"""The fast validator runs the schemas with their refs inlined; it must judge like the full one,
which checks small files alone."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import schema
from engine.config.discovery import discover
from engine.config.yamlsafe import SourceFile, parse_source

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


# -- small files: jsonschema alone, no compiled validator -------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "config"
EXAMPLE_FILES = [(path, kind) for path, kind in discover(EXAMPLE)[0]]
NOT_WHAT_WAS_THERE = st.sampled_from(["", "x", -1, 0, Decimal("1.5"), None, True, [], {}])


def _parsed(path: Path) -> SourceFile:
    return parse_source(path.read_bytes(), path.name)


def test_a_small_file_is_never_compiled_for(monkeypatch):
    def no_compiling(kind):
        raise AssertionError(f"compiled a validator for {kind}")

    monkeypatch.setattr(schema, "_fast_validator", no_compiling)
    good = SourceFile("products.yaml", "", {"products": [PRODUCT]})
    bad = SourceFile("products.yaml", "", {"products": [{**PRODUCT, "fulfillment": "SELF"}]})
    assert schema.validate(good, "products", size=200) == []
    (problem,) = schema.validate(bad, "products", size=200)
    assert problem.field == "products[0].fulfillment"


@pytest.mark.parametrize(("path", "kind"), EXAMPLE_FILES, ids=lambda v: getattr(v, "name", v))
def test_every_example_file_is_valid_either_way(path, kind):
    assert schema.validate(_parsed(path), kind, size=0) == []
    assert schema.validate(_parsed(path), kind) == []


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    if path:
        yield path


def _replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replaced(node[path[0]], path[1:], value)
    return copy


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLE_FILES), st.data(), NOT_WHAT_WAS_THERE)
def test_both_validators_judge_a_broken_file_alike(example, data, value):
    """The small-file path (jsonschema) refuses exactly what the compiled one refuses: one
    value anywhere in an example file replaced by something of another shape."""
    path, kind = example
    source = _parsed(path)
    where = data.draw(st.sampled_from(list(_leaves(source.data))))
    broken = SourceFile(source.name, "", _replaced(source.data, where, value))
    compiled_refuses = True
    try:
        schema._fast_validator(kind)(broken.data)
        compiled_refuses = False
    except schema.fastjsonschema.JsonSchemaException:
        pass
    assert bool(schema.validate(broken, kind, size=0)) == compiled_refuses, where
