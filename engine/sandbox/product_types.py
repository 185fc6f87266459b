"""The sandbox's Product Type Definitions API 2020-09-01 and the definitions behind it.

The definitions are sellersync's own (product_types/*.json: our attributes, limits and
prose, written in the shape of Amazon's product-type meta-schema, not copied from Amazon):
`common.json` holds what every demo product type shares, `<PRODUCT_TYPE>.json` adds the
type's own attributes, display name and version. They are the product types the demo config
uses; any other product type is unknown, as an unsupported one is on Amazon.

As on Amazon, getDefinitionsProductType answers a ProductTypeDefinition whose `schema` is a
link (`schema.link.resource`, GET, with a Base64 MD5 `checksum`) to the JSON Schema for the
requested requirements set; the link is a URL on the sandbox itself that needs no access
token, like Amazon's presigned schema URLs. Listings writes are checked against the same
schemas (engine.desired.product_types.check), so what the API serves is what it enforces.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from engine.desired.product_types import REQUIREMENTS, requirements_schema

META_SCHEMA_ID = (
    "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1"
)
SCHEMA_PATH = "/sandbox-schemas/product-types/"
SCHEMA_URL = "productTypeSchema"  # not an SP-API operation: the schema link's stand-in
ENFORCED = ("ENFORCED", "NOT_ENFORCED")
LOCALE = "en_US"


class UnknownProductType(LookupError):
    """A product type the sandbox has no definition for."""


@dataclass(frozen=True, slots=True)
class Definition:
    """One product type: its full schema (every attribute, every requirement) and groups."""

    name: str
    display_name: str
    version: str
    schema: Mapping[str, Any]
    groups: Mapping[str, Mapping[str, Any]]

    def property_groups(self) -> dict[str, list[str]]:
        return {k: list(v.get("propertyNames", ())) for k, v in self.groups.items()}

    def schema_for(self, requirements: str, enforced: bool = True) -> dict[str, Any]:
        """The JSON Schema of one requirements set, as the schema link serves it."""
        return requirements_schema(
            self.schema, self.property_groups(), requirements, enforced=enforced
        )


def _read(name: str) -> dict[str, Any]:
    text = resources.files("engine.sandbox").joinpath("product_types", name).read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@functools.cache
def definitions() -> dict[str, Definition]:
    """Every product type the sandbox knows, by name."""
    common = _read("common.json")
    folder = resources.files("engine.sandbox").joinpath("product_types")
    result: dict[str, Definition] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json") or entry.name == "common.json":
            continue
        name = entry.name.removesuffix(".json")
        own = _read(entry.name)
        groups = {k: dict(v) for k, v in common["propertyGroups"].items()}
        for group, names in own.get("propertyGroups", {}).items():
            groups[group]["propertyNames"] = [*groups[group]["propertyNames"], *names]
        schema = {
            "$schema": META_SCHEMA_ID,
            "$id": f"urn:sellersync:sandbox:product-type:{name}",
            "$comment": common["$comment"],
            "title": f"Sandbox product type {name}: {own['displayName']}",
            "type": "object",
            "required": list(common["required"]) + list(own.get("required", ())),
            "properties": {**common["properties"], **own.get("properties", {})},
            "$defs": common["$defs"],
        }
        result[name] = Definition(
            name, own["displayName"], own["productTypeVersion"], schema, groups
        )
    return result


def definition(product_type: str) -> Definition:
    found = definitions().get(product_type)
    if found is None:
        raise UnknownProductType(product_type)
    return found


def schema_bytes(product_type: str, requirements: str, enforced: str) -> bytes:
    """The schema document a schema link serves (UnknownProductType, ValueError)."""
    if enforced not in ENFORCED:
        raise ValueError(f"requirementsEnforced must be one of {', '.join(ENFORCED)}")
    schema = definition(product_type).schema_for(requirements, enforced == "ENFORCED")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")


def schema_link(base_url: str, product_type: str, requirements: str, enforced: str) -> str:
    version = definition(product_type).version
    return f"{base_url}{SCHEMA_PATH}{product_type}/{version}/{requirements}/{enforced}.json"


def get_definition(
    product_type: str,
    marketplace_ids: Sequence[str],
    args: Mapping[str, Sequence[str]],
    base_url: str,
) -> dict[str, Any]:
    """A ProductTypeDefinition (UnknownProductType, ValueError for a bad query)."""
    requirements = _one(args, "requirements", "LISTING")
    enforced = _one(args, "requirementsEnforced", "ENFORCED")
    if requirements not in REQUIREMENTS:
        raise ValueError(f"requirements must be one of {', '.join(REQUIREMENTS)}")
    found = definition(product_type)
    version = _one(args, "productTypeVersion", "LATEST")
    if version not in ("LATEST", found.version):
        raise UnknownProductType(f"{product_type} version {version}")
    document = schema_bytes(product_type, requirements, enforced)
    return {
        "schema": {
            "link": {
                "resource": schema_link(base_url, product_type, requirements, enforced),
                "verb": "GET",
            },
            "checksum": base64.b64encode(hashlib.md5(document).digest()).decode("ascii"),
        },
        "requirements": requirements,
        "requirementsEnforced": enforced,
        "propertyGroups": {k: dict(v) for k, v in found.groups.items()},
        "locale": LOCALE,
        "marketplaceIds": list(marketplace_ids),
        "productType": product_type,
        "displayName": found.display_name,
        "productTypeVersion": {"version": found.version, "latest": True, "releaseCandidate": False},
    }


def search(marketplace_ids: Sequence[str], args: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """A ProductTypeList: the product types whose name or display name contains one of the
    comma-separated `keywords` or a word of `itemName` (all of them without either);
    ValueError when both are given, which the model forbids."""
    words = [w.strip().lower() for v in args.get("keywords", ()) for w in v.split(",") if w]
    item_name = _one(args, "itemName", "").lower()
    if words and item_name:
        raise ValueError("keywords cannot be used with itemName")
    if item_name:
        words += item_name.split()
    found = [
        d
        for d in definitions().values()
        if not words or any(w in d.name.lower() or w in d.display_name.lower() for w in words)
    ]
    return {
        "productTypes": [
            {"name": d.name, "displayName": d.display_name, "marketplaceIds": list(marketplace_ids)}
            for d in found
        ],
        "productTypeVersion": next(iter(definitions().values())).version,
    }


def _one(args: Mapping[str, Sequence[str]], key: str, default: str) -> str:
    values = args.get(key) or ()
    return str(values[0]) if values else default
