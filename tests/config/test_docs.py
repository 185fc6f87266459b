from pathlib import Path

import jsonschema
import pytest

from engine.config.docs import BEGIN, END, reference, splice
from engine.config.schema import SCHEMA_NAMES, iter_documented_properties, load_schemas

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_reference_in_docs_matches_the_schemas():
    text = DOC.read_text(encoding="utf-8")
    assert splice(text) == text, (
        "docs/config.md is out of date: run python -m engine.config.docs docs/config.md"
    )


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_property_is_documented(name):
    schema = load_schemas()[f"{name}.schema.json"]
    generated = reference()
    for path, prop in iter_documented_properties(schema):
        assert f"`{path}`" in generated
        described = prop.get("description") or "$ref" in prop
        assert described, f"{name}: {path} has no description"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_valid_draft7(name):
    jsonschema.Draft7Validator.check_schema(load_schemas()[f"{name}.schema.json"])


def test_splice_refuses_a_document_without_markers():
    with pytest.raises(ValueError, match="markers not found"):
        splice("# no markers here")
    assert BEGIN in splice(f"x\n{BEGIN}\nold\n{END}\n")
