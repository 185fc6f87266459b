"""Listing attributes as Amazon treats them: validation, JSON patches and the read views.

Pure functions over SP-API attribute dicts (`{"purchasable_offer": [{...}], ...}`) for one
marketplace; no storage, no clock reads (the time is passed in). `account` wires them to
the store and the HTTP layer.

Issue codes: 90220 ("'X' is required but not supplied."), 99022 ("... does not have enough
values") and 4000001 ("The provided value for 'X' is invalid.") are the codes Amazon returns
for those situations (sources in engine.desired.product_types). Which attributes a listing
must have, and the enumerations and lengths of their values, come from the product type's
definition (engine.sandbox.product_types); the checks here are the ones a schema cannot
express (currencies, price order, sale windows, channels). A merge patch is accepted only on
MERGE_ATTRIBUTES, as Amazon documents it; the refusal's code (4000001) is the sandbox's
choice, Amazon publishes none for it.

POTENTIAL_PRICING_ERROR is the sandbox's code for the suppression Amazon applies when a price
falls outside the seller's minimum/maximum allowed price (Amazon reports it as a "potential
pricing error"; its numeric code is not published).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from engine.core.marketplaces import BY_ID, Marketplace
from engine.desired import product_types as checking
from engine.sandbox import product_types
from engine.sandbox.store import Attributes, Listing

ITEM_INCLUDED_DATA = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
SUBMISSION_INCLUDED_DATA = ("identifiers", "issues")
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
PATCH_OPS = ("add", "replace", "merge", "delete")
# The attributes Amazon documents the merge op for: fulfillment_availability (update the
# quantity alone) and purchasable_offer (e.g. clear a B2B quantity_discount_plan), "Merge a
# listing", https://developer-docs.amazon.com/sp-api/docs/merge-a-listing (and the 2025-06-16
# changelog, .../changelog/update-listings-items-v2021-08-01-api-and-json_listing_feed-now-
# include-a-json-patch-merge-operation). A merge of any other attribute is refused.
MERGE_ATTRIBUTES = ("fulfillment_availability", "purchasable_offer")
TEXT_ATTRIBUTES = ("item_name", "brand", "bullet_point", "product_description")
PRICE_FIELDS = (
    "our_price",
    "discounted_price",
    "minimum_seller_allowed_price",
    "maximum_seller_allowed_price",
    "map_price",
)
_ATTRIBUTE_PATH = re.compile(r"^/attributes/(?P<name>[A-Za-z0-9_]+)$")
_TITLES = {
    "item_name": "Item Name",
    "brand": "Brand Name",
    "bullet_point": "Bullet Point",
    "product_description": "Product Description",
    "purchasable_offer": "Purchasable Offer",
    "fulfillment_availability": "Fulfillment Availability",
    "list_price": "List Price",
}
# Which keys identify "the same value" of an attribute, for merge and delete (Amazon calls
# them selectors; see the product type definitions).
_SELECTORS = {
    "purchasable_offer": ("marketplace_id", "currency", "audience"),
    "fulfillment_availability": ("fulfillment_channel_code",),
    "list_price": ("marketplace_id", "currency"),
}


class PatchStructureError(ValueError):
    """A patch document that breaks the API model (answered 400 InvalidInput)."""


def issue(
    code: str,
    message: str,
    severity: str,
    attribute_names: Sequence[str],
    categories: Sequence[str],
    *,
    suppress: bool = False,
) -> dict[str, Any]:
    """An Issue in the Listings Items 2021-08-01 shape."""
    result: dict[str, Any] = {
        "code": code,
        "message": message,
        "severity": severity,
        "attributeNames": list(attribute_names),
        "categories": list(categories),
    }
    if suppress:
        result["enforcements"] = {
            "actions": [{"action": "LISTING_SUPPRESSED"}],
            "exemption": {"status": "NOT_EXEMPT"},
        }
    return result


def _missing(attribute: str, what: str) -> dict[str, Any]:
    return issue(
        "90220",
        f"'{what}' is required but not supplied.",
        "ERROR",
        [attribute],
        ["MISSING_ATTRIBUTE"],
    )


def _invalid(attribute: str, detail: str) -> dict[str, Any]:
    title = _TITLES.get(attribute, attribute)
    return issue(
        "4000001",
        f"The provided value for '{title}' is invalid. {detail}",
        "ERROR",
        [attribute],
        ["INVALID_ATTRIBUTE"],
    )


def synthetic_asin(sku: str) -> str:
    """A stable, plausible ASIN for a SKU (the same in every marketplace)."""
    digest = int(hashlib.sha256(sku.encode("utf-8")).hexdigest(), 16)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    chars = []
    for _ in range(8):
        digest, rem = divmod(digest, 36)
        chars.append(alphabet[rem])
    return "B0" + "".join(chars)


# -- values -----------------------------------------------------------------------------------


def for_marketplace(attributes: Mapping[str, Any], marketplace_id: str) -> Attributes:
    """The values that apply to one marketplace, each stamped with its marketplace_id.

    Values naming another marketplace are dropped; values without one apply to every
    marketplace of the request, as on Amazon. Non-list attributes are kept as given so that
    validation can report them.
    """
    result: Attributes = {}
    for name, values in attributes.items():
        if not isinstance(values, list):
            result[name] = values
            continue
        kept = []
        for value in values:
            if isinstance(value, dict):
                mid = value.get("marketplace_id")
                if mid is not None and mid != marketplace_id:
                    continue
                if mid is None and name != "fulfillment_availability":
                    value = {**value, "marketplace_id": marketplace_id}
            kept.append(value)
        if kept:
            result[name] = kept
    return result


def _number(value: object) -> Decimal | None:
    """A JSON number as Decimal; strings, booleans and floats are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def parse_when(value: object) -> datetime | None:
    """An SP-API date or date-time (dates start at 00:00 UTC), or None if unparseable."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if "T" not in text and len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def schedule_values(offer: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    """The schedule entries of a price field of one purchasable_offer value."""
    entries = offer.get(field)
    if not isinstance(entries, list):
        return []
    result = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("schedule"), list):
            result.extend(s for s in entry["schedule"] if isinstance(s, dict))
    return result


def first_price(offer: Mapping[str, Any], field: str) -> Decimal | None:
    for entry in schedule_values(offer, field):
        amount = _number(entry.get("value_with_tax"))
        if amount is not None:
            return amount
    return None


def effective_price(offer: Mapping[str, Any], now: datetime) -> Decimal | None:
    """What a buyer pays now: an active discounted_price, else our_price."""
    for entry in schedule_values(offer, "discounted_price"):
        start, end = parse_when(entry.get("start_at")), parse_when(entry.get("end_at"))
        amount = _number(entry.get("value_with_tax"))
        if amount is not None and start and end and start <= now < end:
            return amount
    return first_price(offer, "our_price")


def main_offer(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The consumer (audience ALL) purchasable_offer value, if any."""
    for offer in attributes.get("purchasable_offer") or ():
        if isinstance(offer, dict) and offer.get("audience", "ALL") == "ALL":
            return offer
    return None


def mfn_quantity(attributes: Mapping[str, Any]) -> int | None:
    for value in attributes.get("fulfillment_availability") or ():
        if isinstance(value, dict) and value.get("fulfillment_channel_code") == "DEFAULT":
            quantity = value.get("quantity")
            return quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0
    return None


def with_mfn_quantity(attributes: Attributes, quantity: int) -> Attributes:
    """A copy of the attributes with the merchant-fulfilled (DEFAULT) quantity set."""
    result = {
        name: [dict(v) if isinstance(v, dict) else v for v in values]
        for name, values in attributes.items()
    }
    for value in result.get("fulfillment_availability") or ():
        if isinstance(value, dict) and value.get("fulfillment_channel_code") == "DEFAULT":
            value["quantity"] = quantity
    return result


def is_fba(attributes: Mapping[str, Any]) -> bool:
    return any(
        isinstance(v, dict) and str(v.get("fulfillment_channel_code", "")).startswith("AMAZON_")
        for v in attributes.get("fulfillment_availability") or ()
    )


# -- validation -------------------------------------------------------------------------------


def validate(
    attributes: Mapping[str, Any], marketplace: Marketplace, *, requirements: str = "LISTING"
) -> list[dict[str, Any]]:
    """Issues Amazon would report for a submission's attributes in one marketplace.

    Any ERROR makes the submission INVALID: nothing is saved.
    """
    issues: list[dict[str, Any]] = []
    for name, values in attributes.items():
        if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
            issues.append(_invalid(name, "An attribute must be an array of objects."))
    if issues:
        return issues
    for name in TEXT_ATTRIBUTES:
        for value in attributes.get(name) or ():
            if not isinstance(value.get("value"), str):
                issues.append(_missing(name, f"{_TITLES[name]}: value"))
            elif "language_tag" not in value:
                issues.append(_missing(name, f"{_TITLES[name]}: language_tag"))
    if requirements != "LISTING_PRODUCT_ONLY":
        for offer in attributes.get("purchasable_offer") or []:
            issues.extend(_validate_offer(offer, marketplace))
    for value in attributes.get("list_price") or ():
        amount = _number(value.get("value"))
        if amount is None or amount < 0:
            issues.append(_invalid("list_price", "'value' must be a number of at least 0."))
        if value.get("currency") != marketplace.currency:
            issues.append(_invalid("list_price", f"The currency must be {marketplace.currency}."))
    issues.extend(_validate_fulfillment(attributes.get("fulfillment_availability") or []))
    return issues


def _as_dict(found: checking.AttributeIssue) -> dict[str, Any]:
    names = [found.attribute] if found.attribute else []
    return issue(found.code, found.message, found.severity, names, [found.category])


def unknown_product_type(product_type: str) -> list[dict[str, Any]]:
    """The issue of a product type without a definition (none when it has one)."""
    try:
        product_types.definition(product_type)
    except product_types.UnknownProductType:
        return [
            issue(
                checking.UNKNOWN_PRODUCT_TYPE,
                checking.UNKNOWN_PRODUCT_TYPE_MESSAGE,
                "ERROR",
                [],
                ["INVALID_ATTRIBUTE"],
            )
        ]
    return []


def _beside(
    found: list[dict[str, Any]], earlier: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The definition's issues about attributes `earlier` issues do not already name (one
    problem, one issue)."""
    named = {n for i in earlier for n in i.get("attributeNames", ())}
    return [i for i in found if not named.intersection(i["attributeNames"])]


def submission_issues(
    product_type: str, attributes: Mapping[str, Any], marketplace: Marketplace, requirements: str
) -> list[dict[str, Any]]:
    """Every issue of a put in one marketplace: the checks here, then the product type's
    definition for the requirements set (required attributes, enumerations, lengths)."""
    issues = validate(attributes, marketplace, requirements=requirements)
    schema = product_types.definition(product_type).schema_for(requirements)
    found = [_as_dict(i) for i in checking.check(schema, attributes)]
    return issues + _beside(found, issues)


def patch_issues(
    product_type: str,
    after: Mapping[str, Any],
    patches: Sequence[Mapping[str, Any]],
    marketplace: Marketplace,
) -> list[dict[str, Any]]:
    """Every issue of a patch in one marketplace, over the listing as the patch leaves it:
    the checks here, and the definition's structure for the patched attributes; a patch
    that removes a required attribute is refused (90220)."""
    issues = validate(after, marketplace, requirements="LISTING_OFFER_ONLY")
    definition = product_types.definition(product_type)
    patched = {_attribute_of(p) for p in patches}
    schema = definition.schema_for("LISTING", enforced=False)
    found = [
        _as_dict(i) for i in checking.check(schema, {k: after[k] for k in patched if k in after})
    ]
    required = definition.schema_for("LISTING")
    found += [
        _as_dict(checking.missing(name, checking.title(required, name)))
        for name in checking.missing_required(required, after)
        if name in patched
    ]
    return issues + _beside(found, issues)


def _validate_offer(offer: Mapping[str, Any], marketplace: Marketplace) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    name = "purchasable_offer"
    currency = offer.get("currency")
    if currency is None:
        issues.append(_missing(name, "currency"))
    elif currency != marketplace.currency:
        issues.append(
            _invalid(
                name,
                f"Currency {currency} is not the currency of {marketplace.domain} "
                f"({marketplace.currency}).",
            )
        )
    for field in PRICE_FIELDS:
        entries = offer.get(field)
        if entries is None:
            continue
        if not isinstance(entries, list) or not entries:
            issues.append(
                issue(
                    "99022",
                    f"The field '{field}' for the attribute 'Purchasable Offer' does not have "
                    "enough values. The required minimum is '1' value(s).",
                    "ERROR",
                    [name],
                    ["INVALID_ATTRIBUTE"],
                )
            )
            continue
        for entry in schedule_values(offer, field):
            amount = entry.get("value_with_tax")
            number = _number(amount)
            if amount is None:
                issues.append(_missing(name, f"{field}: value_with_tax"))
            elif number is None:
                issues.append(
                    _invalid(name, f"'{field}' value_with_tax must be a number, got {amount!r}.")
                )
            elif number <= 0:
                issues.append(_invalid(name, f"'{field}' must be greater than 0."))
    our = first_price(offer, "our_price")
    if our is None and not schedule_values(offer, "our_price"):
        issues.append(_missing(name, "our_price"))
    for entry in schedule_values(offer, "discounted_price"):
        for key in ("start_at", "end_at"):
            if key not in entry:
                issues.append(_missing(name, f"discounted_price: {key}"))
            elif parse_when(entry[key]) is None:
                issues.append(_invalid(name, f"'{key}' {entry[key]!r} is not a date or date-time."))
        start, end = parse_when(entry.get("start_at")), parse_when(entry.get("end_at"))
        if start and end and end <= start:
            issues.append(_invalid(name, "The sale end date must be after its start date."))
        sale = _number(entry.get("value_with_tax"))
        if sale is not None and our is not None and sale >= our:
            issues.append(_invalid(name, "The sale price must be lower than your price."))
    low = first_price(offer, "minimum_seller_allowed_price")
    high = first_price(offer, "maximum_seller_allowed_price")
    if low is not None and high is not None and low > high:
        issues.append(
            _invalid(name, "The minimum allowed price is higher than the maximum allowed price.")
        )
    return issues


def _validate_fulfillment(values: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    name = "fulfillment_availability"
    for value in values:
        code = value.get("fulfillment_channel_code")
        if not isinstance(code, str):
            issues.append(_missing(name, "fulfillment_channel_code"))
        elif code != "DEFAULT" and not code.startswith("AMAZON_"):
            issues.append(_invalid(name, f"Unknown fulfillment channel {code!r}."))
        quantity = value.get("quantity")
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                issues.append(_invalid(name, "'quantity' must be a whole number."))
            elif quantity < 0:
                issues.append(_invalid(name, f"'quantity' {quantity} is below the minimum of 0."))
            elif code != "DEFAULT":
                issues.append(
                    _invalid(name, "Quantity cannot be set for Amazon-fulfilled (FBA) offers.")
                )
        lead = value.get("lead_time_to_ship_max_days")
        if lead is not None and (
            isinstance(lead, bool) or not isinstance(lead, int) or not 1 <= lead <= 30
        ):
            issues.append(_invalid(name, "'lead_time_to_ship_max_days' must be 1 to 30."))
    return issues


def evaluate(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Issues Amazon raises after processing an accepted listing (not submission errors):
    a price outside the seller's own min/max suppresses the offer."""
    issues: list[dict[str, Any]] = []
    for offer in attributes.get("purchasable_offer") or ():
        if not isinstance(offer, dict):
            continue
        low = first_price(offer, "minimum_seller_allowed_price")
        high = first_price(offer, "maximum_seller_allowed_price")
        prices = [("our_price", first_price(offer, "our_price"))] + [
            ("discounted_price", _number(e.get("value_with_tax")))
            for e in schedule_values(offer, "discounted_price")
        ]
        for field, amount in prices:
            if amount is None:
                continue
            if (low is not None and amount < low) or (high is not None and amount > high):
                bounds = (
                    f"{'-' if low is None else f'{low:f}'}..{'-' if high is None else f'{high:f}'}"
                )
                issues.append(
                    issue(
                        "POTENTIAL_PRICING_ERROR",
                        f"Potential pricing error: {field} {amount:f} {offer.get('currency', '')} "
                        f"is outside your allowed price range {bounds}. The offer is inactive "
                        "until the price or the range is corrected.",
                        "ERROR",
                        ["purchasable_offer"],
                        ["INVALID_PRICE"],
                        suppress=True,
                    )
                )
                break
    return issues


# -- patches ----------------------------------------------------------------------------------


def check_patch_request(body: object) -> tuple[str, list[dict[str, Any]]]:
    """The productType and patches of a ListingsItemPatchRequest, or PatchStructureError."""
    if not isinstance(body, dict):
        raise PatchStructureError("The request body must be a JSON object.")
    product_type = body.get("productType")
    patches = body.get("patches")
    if not isinstance(product_type, str) or not product_type:
        raise PatchStructureError("'productType' is required.")
    if not isinstance(patches, list) or not patches:
        raise PatchStructureError("'patches' must be a non-empty array.")
    for i, patch in enumerate(patches):
        if not isinstance(patch, dict):
            raise PatchStructureError(f"patches[{i}] must be an object.")
        if patch.get("op") not in PATCH_OPS:
            raise PatchStructureError(
                f"patches[{i}].op must be one of {', '.join(PATCH_OPS)}, got {patch.get('op')!r}."
            )
        if not isinstance(patch.get("path"), str):
            raise PatchStructureError(f"patches[{i}].path is required.")
        value = patch.get("value")
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            raise PatchStructureError(f"patches[{i}].value must be an array of objects.")
        if value is None and patch["op"] != "delete":
            raise PatchStructureError(f"patches[{i}].value is required for {patch['op']}.")
    return product_type, patches


def _attribute_of(patch: Mapping[str, Any]) -> str:
    match = _ATTRIBUTE_PATH.match(patch["path"])
    if match is None:
        raise PatchStructureError(f"path {patch['path']!r} is not a top-level attribute")
    return match.group("name")


def patch_path_issues(patches: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only top-level attributes can be patched (`/attributes/<name>`), and merge only the
    attributes Amazon documents it for (MERGE_ATTRIBUTES)."""
    issues = []
    for patch in patches:
        match = _ATTRIBUTE_PATH.match(patch["path"])
        if match is not None and patch["op"] == "merge" and match["name"] not in MERGE_ATTRIBUTES:
            name = match["name"]
            issues.append(
                _invalid(
                    name,
                    f"The merge operation is not supported for '{name}'; it is supported for "
                    f"{' and '.join(MERGE_ATTRIBUTES)} only. Use replace to set the attribute.",
                )
            )
        if match is None:
            issues.append(
                issue(
                    "4000001",
                    f"The patch path {patch['path']!r} is invalid: only top-level attributes "
                    "can be patched, as /attributes/<attribute_name>.",
                    "ERROR",
                    [],
                    ["INVALID_ATTRIBUTE"],
                )
            )
    return issues


def _same(name: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = _SELECTORS.get(name, ("marketplace_id", "language_tag"))
    defaults = {"audience": "ALL"}
    return all(a.get(k, defaults.get(k)) == b.get(k, defaults.get(k)) for k in keys)


def apply_patches(
    attributes: Attributes, patches: Sequence[Mapping[str, Any]], marketplace_id: str
) -> Attributes:
    """Apply add / replace / merge / delete to top-level attributes of one marketplace.

    add and replace set the attribute's values; merge updates the given fields of the
    matching value (by Amazon's selectors, e.g. marketplace_id + currency + audience for
    purchasable_offer) and keeps the rest, so a quantity or price can change without
    resending the other fields; delete removes the matching values (or the whole attribute
    when no value is given).
    """
    result: Attributes = {k: [dict(v) for v in vs] for k, vs in attributes.items()}
    for patch in patches:
        name = _attribute_of(patch)
        values = for_marketplace({name: patch.get("value") or []}, marketplace_id).get(name, [])
        op = patch["op"]
        if op in ("add", "replace"):
            result[name] = [dict(v) for v in values]
        elif op == "merge":
            current = result.setdefault(name, [])
            for value in values:
                target = next((c for c in current if _same(name, c, value)), None)
                if target is None:
                    current.append(dict(value))
                else:
                    target.update(value)
        elif patch.get("value") is None:
            result.pop(name, None)
        else:
            kept = [c for c in result.get(name, []) if not any(_same(name, c, v) for v in values)]
            if kept:
                result[name] = kept
            else:
                result.pop(name, None)
    return result


# -- read views -------------------------------------------------------------------------------


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def suppressed(issues: Iterable[Mapping[str, Any]]) -> bool:
    return any(
        i.get("severity") == "ERROR"
        and any(
            a.get("action") == "LISTING_SUPPRESSED"
            for a in i.get("enforcements", {}).get("actions", ())
        )
        for i in issues
    )


def statuses(listing: Listing, issues: Sequence[Mapping[str, Any]]) -> list[str]:
    """BUYABLE when an offer can be bought now (priced, not suppressed, in stock);
    DISCOVERABLE unless suppressed."""
    if suppressed(issues):
        return []
    result = []
    attrs = listing.attributes
    if main_offer(attrs) is not None:
        stock = listing.fba_quantity if is_fba(attrs) else mfn_quantity(attrs)
        if stock:
            result.append("BUYABLE")
    result.append("DISCOVERABLE")
    return result


def text(attributes: Mapping[str, Any], name: str) -> str | None:
    """The first text value of an attribute such as item_name."""
    for value in attributes.get(name) or ():
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            return value["value"]
    return None


def item_name(attributes: Mapping[str, Any]) -> str | None:
    return text(attributes, "item_name")


def summary(listing: Listing, issues: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "marketplaceId": listing.marketplace_id,
        "asin": listing.asin,
        "productType": listing.product_type,
        "conditionType": "new_new",
        "status": statuses(listing, issues),
        "createdDate": iso(listing.created_at),
        "lastUpdatedDate": iso(listing.updated_at),
    }
    name = text(listing.attributes, "item_name")
    if name is not None:
        result["itemName"] = name
    return result


def offers(
    listing: Listing, issues: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    if suppressed(issues):
        return []
    result = []
    for offer in listing.attributes.get("purchasable_offer") or ():
        price = effective_price(offer, now)
        if price is None:
            continue
        audience = offer.get("audience", "ALL")
        result.append(
            {
                "marketplaceId": listing.marketplace_id,
                "offerType": "B2B" if audience == "B2B" else "B2C",
                "price": {"currencyCode": str(offer.get("currency", "")), "amount": f"{price:f}"},
                "audience": {
                    "value": audience,
                    "displayName": "Amazon Business" if audience == "B2B" else "Sell on Amazon",
                },
            }
        )
    return result


def fulfillment(listing: Listing) -> list[dict[str, Any]]:
    result = []
    for value in listing.attributes.get("fulfillment_availability") or ():
        code = value.get("fulfillment_channel_code")
        if code == "DEFAULT":
            result.append(
                {"fulfillmentChannelCode": code, "quantity": mfn_quantity(listing.attributes) or 0}
            )
        elif isinstance(code, str):
            result.append({"fulfillmentChannelCode": code, "quantity": listing.fba_quantity or 0})
    return result


def item_view(
    sku: str,
    listings: Sequence[Listing],
    issues: Mapping[str, Sequence[Mapping[str, Any]]],
    included: Iterable[str],
    now: datetime,
) -> dict[str, Any]:
    """An Item (Listings Items 2021-08-01) over one SKU in one or more marketplaces.
    `issues` is keyed by marketplace_id."""
    wanted = set(included)
    item: dict[str, Any] = {"sku": sku}
    if "summaries" in wanted:
        item["summaries"] = [summary(li, issues.get(li.marketplace_id, ())) for li in listings]
    if "attributes" in wanted:
        merged: dict[str, list[Any]] = {}
        for li in listings:
            for name, values in li.attributes.items():
                merged.setdefault(name, []).extend(_stamp(name, values, li.marketplace_id))
        item["attributes"] = merged
    if "issues" in wanted:
        item["issues"] = [
            {**i, "marketplaceIds": [li.marketplace_id]}
            for li in listings
            for i in issues.get(li.marketplace_id, ())
        ]
    if "offers" in wanted:
        item["offers"] = [
            o for li in listings for o in offers(li, issues.get(li.marketplace_id, ()), now)
        ]
    if "fulfillmentAvailability" in wanted:
        item["fulfillmentAvailability"] = [f for li in listings for f in fulfillment(li)]
    if "relationships" in wanted:
        item["relationships"] = [
            {"marketplaceId": li.marketplace_id, "relationships": []} for li in listings
        ]
    if "productTypes" in wanted:
        item["productTypes"] = [
            {"marketplaceId": li.marketplace_id, "productType": li.product_type} for li in listings
        ]
    return item


def _stamp(name: str, values: list[Any], marketplace_id: str) -> list[Any]:
    """Amazon returns marketplace_id on every attribute value it reads back."""
    return [
        {**v, "marketplace_id": marketplace_id}
        if isinstance(v, dict) and "marketplace_id" not in v
        else v
        for v in values
    ]


def marketplace(marketplace_id: str) -> Marketplace | None:
    return BY_ID.get(marketplace_id)
