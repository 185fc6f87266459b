"""A listing's attributes against its product type's definition, as Amazon checks them. Pure.

A product type definition (Product Type Definitions API 2020-09-01) links to a JSON Schema in
Amazon's product-type meta-schema shape: `properties.<attribute>` is an array whose `items`
describe one value (`items.properties.value`, `language_tag`, `marketplace_id`, ...),
`required` names the attributes a listing must have for the requirements set the schema was
asked for, and the values are constrained with `enum`, `maxLength`, `maxItems` and the
meta-schema's own `maxUtf8ByteLength`. The meta-schema is JSON Schema 2019-09 with a few
keywords of its own (`selectors`, `editable`, `enumNames`, `hidden`, ...), which say nothing
about validity except `maxUtf8ByteLength`, checked here.

`check` returns the issues Amazon's Listings Items API reports for such failures, with its
issue codes and severity ERROR (any ERROR makes a submission INVALID):

- 90220 "'X' is required but not supplied." (MISSING_ATTRIBUTE): the Listings Items API
  Issues Troubleshooting guide documents 90220 as a missing required attribute,
  https://developer-docs.amazon.com/sp-api/docs/listings-items-api-issues-troubleshooting
  (and amzn/selling-partner-api-models#5337 shows the message);
- 4000001 "The provided value for 'X' is invalid." (INVALID_ATTRIBUTE): a value outside an
  enumeration, too long, or of the wrong type (amzn/selling-partner-api-models#5219 shows the
  code and message; Amazon adds no detail, the sandbox says which constraint failed);
- 99022 "... does not have enough values. The required minimum is 'N' value(s)."
  (amzn/selling-partner-api-models#5219);
- 99016 "A maximum of N occurrence(s) is/are allowed for the attribute X but it currently
  occurs M times." (amzn/selling-partner-api-models#4626);
- 4000003 "The Amazon product type specified is invalid or not supported."
  (amzn/selling-partner-api-models#2427, amzn/selling-partner-api-docs#864): a product type
  that has no definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft201909Validator, ValidationError, validators

from engine.config.errors import ConfigError
from engine.config.model import Config, Origin
from engine.core.resource import Resource
from engine.live.attributes import resource_attributes

MISSING = "90220"
INVALID = "4000001"
TOO_FEW = "99022"
TOO_MANY = "99016"
UNKNOWN_PRODUCT_TYPE = "4000003"
UNKNOWN_PRODUCT_TYPE_MESSAGE = "The Amazon product type specified is invalid or not supported."
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
OFFER_GROUP = "offer"  # the property group of sales terms (LISTING_OFFER_ONLY)


@dataclass(frozen=True, slots=True)
class AttributeIssue:
    """One thing wrong with a listing's attributes, as Amazon words it."""

    code: str
    message: str
    attribute: str | None
    category: str  # MISSING_ATTRIBUTE or INVALID_ATTRIBUTE
    severity: str = "ERROR"


def _utf8_bytes(validator: Any, limit: int, instance: object, schema: Any) -> Iterable[Any]:
    if isinstance(instance, str) and len(instance.encode("utf-8")) > limit:
        yield ValidationError(f"is longer than {limit} bytes in UTF-8")


# Draft 2019-09 plus the meta-schema's one validating keyword; the others are annotations
# and unknown keywords are ignored by JSON Schema.
_Validator = validators.extend(Draft201909Validator, {"maxUtf8ByteLength": _utf8_bytes})


def requirements_schema(
    schema: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    requirements: str,
    *,
    enforced: bool = True,
) -> dict[str, Any]:
    """The schema for one requirements set: LISTING has every attribute, LISTING_OFFER_ONLY
    the `offer` group's, LISTING_PRODUCT_ONLY the rest; NOT_ENFORCED drops `required`
    (structural checks only, as for a partial update)."""
    if requirements not in REQUIREMENTS:
        raise ValueError(f"unknown requirements set {requirements!r}")
    offer = set(groups.get(OFFER_GROUP, ()))
    properties = dict(schema.get("properties") or {})
    if requirements == "LISTING_OFFER_ONLY":
        properties = {k: v for k, v in properties.items() if k in offer}
    elif requirements == "LISTING_PRODUCT_ONLY":
        properties = {k: v for k, v in properties.items() if k not in offer}
    result = {k: v for k, v in schema.items() if k not in ("properties", "required")}
    result["properties"] = properties
    if enforced:
        result["required"] = [r for r in schema.get("required") or () if r in properties]
    return result


def title(schema: Mapping[str, Any], attribute: str) -> str:
    node = (schema.get("properties") or {}).get(attribute) or {}
    return str(node.get("title") or attribute)


def missing(attribute: str, what: str) -> AttributeIssue:
    return AttributeIssue(
        MISSING, f"'{what}' is required but not supplied.", attribute, "MISSING_ATTRIBUTE"
    )


def invalid(attribute: str | None, what: str, detail: str) -> AttributeIssue:
    return AttributeIssue(
        INVALID,
        f"The provided value for '{what}' is invalid. {detail}".strip(),
        attribute,
        "INVALID_ATTRIBUTE",
    )


def missing_required(schema: Mapping[str, Any], attributes: Mapping[str, Any]) -> list[str]:
    """The required attributes that are absent or have no values, in the schema's order."""
    return [name for name in schema.get("required") or () if not attributes.get(name)]


def check(schema: Mapping[str, Any], attributes: Mapping[str, Any]) -> list[AttributeIssue]:
    """Every issue Amazon would report for `attributes` against `schema` (one requirements
    set of a product type, engine.desired.product_types.requirements_schema)."""
    issues = [missing(name, title(schema, name)) for name in missing_required(schema, attributes)]
    present = {k: v for k, v in attributes.items() if v != []}
    structural = {k: v for k, v in schema.items() if k != "required"}
    errors = _Validator(structural).iter_errors(present)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        issues.append(_issue(schema, error))
    return issues


def _issue(schema: Mapping[str, Any], error: ValidationError) -> AttributeIssue:
    path = list(error.absolute_path)
    attribute = str(path[0]) if path else None
    what = title(schema, attribute) if attribute else "attributes"
    field = ".".join(str(p) for p in path[2:] if not isinstance(p, int))
    keyword = error.validator
    if keyword == "required" and attribute is not None:
        absent = next(
            (r for r in error.validator_value if r not in (error.instance or {})), "value"
        )
        return missing(attribute, f"{what}: {'.'.join(filter(None, [field, str(absent)]))}")
    if keyword == "minItems" and attribute is not None:
        return AttributeIssue(
            TOO_FEW,
            f"The field '{field or 'value'}' for the attribute '{what}' does not have enough "
            f"values. The required minimum is '{error.validator_value}' value(s).",
            attribute,
            "INVALID_ATTRIBUTE",
        )
    if keyword == "maxItems" and attribute is not None and len(path) == 1:
        count = len(error.instance) if isinstance(error.instance, list) else 0
        return AttributeIssue(
            TOO_MANY,
            f"A maximum of {error.validator_value} occurrence(s) is/are allowed for the "
            f"attribute {attribute} but it currently occurs {count} times.",
            attribute,
            "INVALID_ATTRIBUTE",
        )
    where = f"'{field}' " if field else ""
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        detail = f"{where}{error.instance!r} is not one of the allowed values ({allowed})."
    elif keyword in ("maxLength", "maxUtf8ByteLength"):
        unit = "characters" if keyword == "maxLength" else "bytes in UTF-8"
        detail = f"{where}is longer than the maximum of {error.validator_value} {unit}."
    else:
        detail = f"{where}{error.message}."
    return invalid(attribute, what, detail)


@dataclass(frozen=True, slots=True)
class ListingProblem:
    """What Amazon would refuse in the listings of one product: the product's entry in the
    config (file and line), the issue, and the marketplaces it holds in."""

    origin: Origin
    sku: str
    product_type: str
    issue: AttributeIssue
    marketplaces: tuple[str, ...]

    def error(self) -> ConfigError:
        where = ", ".join(self.marketplaces)
        return self.origin.error(
            f"{self.sku} ({where}): {self.issue.message} [{self.issue.code}, "
            f"{self.product_type} definition]; Amazon would refuse this listing as INVALID."
        )


def listing_problems(
    config: Config,
    resources: Iterable[Resource],
    schemas: Mapping[tuple[str, str], Mapping[str, Any] | None],
) -> list[ListingProblem]:
    """The desired listings checked against their product type's LISTING schema, keyed by
    (marketplace code, product type); a None schema is a product type Amazon does not know
    (4000003). One problem per product and issue, naming every marketplace it holds in."""
    products = config.products
    found: dict[tuple[str, str, str], list[str]] = {}
    issues: dict[tuple[str, str, str], AttributeIssue] = {}
    for resource in resources:
        key = (resource.marketplace, resource.product_type)
        if key not in schemas or resource.sku not in products:
            continue
        schema = schemas[key]
        if schema is None:
            listed = [
                AttributeIssue(
                    UNKNOWN_PRODUCT_TYPE, UNKNOWN_PRODUCT_TYPE_MESSAGE, None, "INVALID_ATTRIBUTE"
                )
            ]
        else:
            listed = check(schema, resource_attributes(resource))
        for issue in listed:
            slot = (resource.sku, issue.code, issue.message)
            found.setdefault(slot, []).append(resource.marketplace)
            issues[slot] = issue
    result = []
    for slot, where in found.items():
        product = products[slot[0]]
        result.append(
            ListingProblem(
                product.origin, product.sku, product.product_type, issues[slot], tuple(where)
            )
        )
    return result
