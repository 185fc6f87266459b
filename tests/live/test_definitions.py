"""Product type definitions: fetched from the backend, cached in the state folder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine.live.clients import SpApiError
from engine.live.definitions import DefinitionCache, DefinitionError, checksum, parse_schema
from engine.sandbox import product_types


def operations(backend) -> list[str]:
    return [c.operation for c in backend.recorder.calls]


def test_a_definition_is_fetched_once_then_read_from_the_cache(backend, sandbox, tmp_path):
    found = backend.product_type_definition("DE", "HEADPHONES")
    assert found.schema == product_types.definition("HEADPHONES").schema_for("LISTING")
    assert found.version == product_types.definition("HEADPHONES").version
    assert found.marketplace_id == "A1PA6795UKMFR9"
    cached = tmp_path / "live-state" / "product-types" / "A1PA6795UKMFR9" / "HEADPHONES"
    assert sorted(p.name for p in cached.iterdir()) == ["SANDBOX.2026-11-01.json", "latest.json"]
    again = backend.product_type_definition("DE", "HEADPHONES")
    assert again.schema == found.schema
    assert operations(backend) == ["getDefinitionsProductType"]
    # Another marketplace is another key.
    backend.product_type_definition("FR", "HEADPHONES")
    assert operations(backend).count("getDefinitionsProductType") == 2


def test_after_the_expiry_the_version_is_asked_again_but_not_downloaded(backend, sandbox, tmp_path):
    backend.product_type_definition("DE", "HEADPHONES")
    path = DefinitionCache(tmp_path / "live-state").path(
        "A1PA6795UKMFR9", "HEADPHONES", "SANDBOX.2026-11-01"
    )
    before = path.stat().st_mtime_ns
    sandbox.advance(timedelta(hours=25))
    backend.product_type_definition("DE", "HEADPHONES")
    assert operations(backend) == ["getDefinitionsProductType", "getDefinitionsProductType"]
    assert path.stat().st_mtime_ns == before  # same version and checksum: kept as it was


def test_an_unknown_product_type_is_a_404(backend):
    with pytest.raises(SpApiError) as raised:
        backend.product_type_definition("DE", "GUITARS")
    assert raised.value.status == 404


def test_a_corrupt_cache_is_fetched_again(backend, tmp_path):
    backend.product_type_definition("DE", "SPEAKERS")
    cache = DefinitionCache(tmp_path / "live-state")
    version = product_types.definition("SPEAKERS").version
    cache.path("A1PA6795UKMFR9", "SPEAKERS", version).write_text("{not json", encoding="utf-8")
    assert cache.version("A1PA6795UKMFR9", "SPEAKERS", version) is None
    assert cache.fresh("A1PA6795UKMFR9", "SPEAKERS", backend.now()) is None
    assert backend.product_type_definition("DE", "SPEAKERS").schema["properties"]


def test_a_schema_must_match_its_checksum():
    data = json.dumps({"type": "object"}).encode()
    assert parse_schema(data, checksum(data)) == {"type": "object"}
    with pytest.raises(DefinitionError, match="checksum"):
        parse_schema(data, checksum(b"other"))
    with pytest.raises(DefinitionError, match="not a JSON object"):
        parse_schema(b"[]", None)
