"""JSON Schema validation of config files, with messages a seller can act on.

The schemas in `schemas/` are the single source of truth for the config format. Two
validators run them: fastjsonschema (compiled to Python, fast) checks every file first;
only a file that fails goes through jsonschema, which reports *all* errors with their
paths. Valid catalogs, the common case, never pay for the slow path.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from engine.config.errors import ConfigError
from engine.config.yamlsafe import SourceFile

SCHEMA_NAMES = (
    "definitions",
    "project",
    "fx",
    "products",
    "marketplace",
    "sales",
    "promotions",
    "approvals",
    "incidents",
    "warehouses",
)


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by its `$id` (e.g. "products.schema.json")."""
    folder = resources.files("engine.schemas")
    schemas = {}
    for name in SCHEMA_NAMES:
        schema = json.loads((folder / f"{name}.schema.json").read_text(encoding="utf-8"))
        schemas[schema["$id"]] = schema
    return schemas


def schema_for(kind: str) -> dict[str, Any]:
    return load_schemas()[f"{kind}.schema.json"]


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (uri, Resource.from_contents(schema, default_specification=DRAFT7))
        for uri, schema in load_schemas().items()
    )


@cache
def _fast_validator(kind: str) -> Any:
    # fastjsonschema compiles a `$ref` into a call that first formats the value's path into a
    # string, for every value; inlining the (acyclic) refs drops that: validating a
    # 5,000-product file went from 0.22 s to 0.15 s (0.44 s to 0.24 s on a loaded machine).
    return fastjsonschema.compile(_inline_refs(schema_for(kind), kind), use_default=False)


def _inline_refs(node: Any, kind: str) -> Any:
    """`node` with every `$ref` replaced by its target. As draft 7 says, keywords beside a
    `$ref` are ignored. Refs are "file#/pointer" or, within `kind`'s own schema, "#/pointer"."""
    if isinstance(node, list):
        return [_inline_refs(item, kind) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" not in node:
        return {key: _inline_refs(value, kind) for key, value in node.items()}
    uri, _, pointer = node["$ref"].partition("#")
    target = schema_for(kind) if uri == "" else load_schemas()[uri]
    for part in pointer.strip("/").split("/") if pointer.strip("/") else ():
        target = target[part]
    return _inline_refs(target, uri.removesuffix(".schema.json") or kind)


@cache
def _full_validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema_for(kind), registry=_registry())


# Below this size a file is checked by jsonschema alone. Compiling a fastjsonschema
# validator costs 25-90 ms per schema, while jsonschema checks about 2-3 KiB a millisecond
# (0.35-0.6 ms/KiB on products): the project, fx and marketplace files of every plan were
# paying a compile each to save a millisecond.
SMALL_FILE_BYTES = 32 * 1024


def validate(source: SourceFile, kind: str, size: int | None = None) -> list[ConfigError]:
    """Errors in `source` against the schema for `kind`; empty when valid. `size`: the
    file's length in bytes, when known (a small file skips the compiled validator)."""
    small = size is not None and size < SMALL_FILE_BYTES
    if not small:
        try:
            _fast_validator(kind)(source.data)
            return []
        except fastjsonschema.JsonSchemaException:
            pass
    errors = [
        _to_config_error(source, err) for err in _full_validator(kind).iter_errors(source.data)
    ]
    if errors or small:
        return errors
    # The compiled validator refused what jsonschema accepts: refuse it still, unexplained.
    return [source.error((), "does not match its schema")]


def _to_config_error(source: SourceFile, err: jsonschema.ValidationError) -> ConfigError:
    path, message, at_key = explain(err)
    return source.error(path, message, at_key=at_key)


def explain(
    err: jsonschema.ValidationError, *, yaml: bool = True
) -> tuple[tuple[str | int, ...], str, bool]:
    """One schema error as (path of the value, a message a person can act on, whether the
    message is about the key at that path rather than its value). The plan file's checks
    (engine.plan.validate) word their refusals with it too, without the hints about YAML
    (`yaml=False`)."""
    path: tuple[str | int, ...] = tuple(err.absolute_path)
    validator, schema = err.validator, err.schema
    friendly = schema.get("x-error") if isinstance(schema, dict) else None
    if validator == "additionalProperties":
        extra = _unexpected_keys(err)
        allowed = sorted(schema.get("properties", {})) if isinstance(schema, dict) else []
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        if extra:
            key = extra[0]
            close = difflib.get_close_matches(key, allowed, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            return (*path, key), f"unknown field {key!r}{guess}{hint}", True
    if validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return path, f"missing required field {missing!r}", False
    if validator == "enum":
        choices = ", ".join(str(c) for c in err.validator_value)
        return path, f"expected one of: {choices} (got {_show(err.instance)})", False
    if validator == "propertyNames":
        return path, f"invalid key {_show(err.instance)}: {friendly or err.message}", False
    if validator in ("minProperties", "maxProperties") and friendly:
        return path, friendly, False
    if validator in ("minItems", "maxItems", "uniqueItems", "minLength", "maxLength"):
        return path, _length_message(err), False
    message = friendly or _plain_message(err)
    if isinstance(schema, dict) and schema.get("x-redact"):
        # The value may be a secret pasted into the wrong place (a DSN with its password).
        return path, f"{message} (value not shown: it may hold a secret)", False
    if yaml and validator == "type" and _unquoted_number_for_text(err):
        # `ending: 80` or `ean: 4006381333931`: YAML made a number of what was meant as text.
        return (
            path,
            f"{message} (got the number {_show(err.instance)}; put the value in quotes)",
            False,
        )
    return path, f"{message} (got {_show(err.instance)})", False


def _unquoted_number_for_text(err: jsonschema.ValidationError) -> bool:
    wanted = err.validator_value
    wants_text = wanted == "string" or (isinstance(wanted, list) and "string" in wanted)
    value = err.instance
    return wants_text and isinstance(value, int | Decimal) and not isinstance(value, bool)


def _unexpected_keys(err: jsonschema.ValidationError) -> list[str]:
    schema = err.schema if isinstance(err.schema, dict) else {}
    known = set(schema.get("properties", {}))
    instance = err.instance if isinstance(err.instance, dict) else {}
    return sorted(str(k) for k in instance if k not in known)


def _length_message(err: jsonschema.ValidationError) -> str:
    value = err.validator_value
    return {
        "minItems": f"needs at least {value} item(s)",
        "maxItems": f"allows at most {value} item(s)",
        "uniqueItems": "items must not repeat",
        "minLength": f"must be at least {value} character(s)",
        "maxLength": f"must be at most {value} characters (has {len(str(err.instance))})",
    }[str(err.validator)]


def _plain_message(err: jsonschema.ValidationError) -> str:
    value = err.validator_value
    if err.validator == "type":
        wanted = value if isinstance(value, str) else " or ".join(value)
        return f"expected {wanted}"
    if err.validator == "minimum":
        return f"must be at least {value}"
    if err.validator == "maximum":
        return f"must be at most {value}"
    if err.validator == "exclusiveMinimum":
        return f"must be greater than {value}"
    if err.validator == "pattern":
        return f"does not match the expected format {value}"
    return err.message


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(str(value)) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def iter_documented_properties(schema: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, subschema) for every property a schema declares, following local
    structure only (refs are listed once, under definitions). Used by docs and their test."""
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, sub
        yield from iter_documented_properties(sub, path)
    items = schema.get("items")
    if isinstance(items, dict):
        yield from iter_documented_properties(items, f"{prefix}[]")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from iter_documented_properties(extra, f"{prefix}.<key>")
