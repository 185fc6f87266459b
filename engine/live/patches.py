"""Field-level changes -> the listing write that makes them live. Pure.

- A new listing, or one changing product type or fulfilment channel, is a put of the whole
  Resource (a patch cannot move a listing between product types or networks).
- Texts and list_price are replaced (or deleted when the desired side is empty).
- Quantity is a `merge` of fulfillment_availability: only the quantity is sent.
Which field is written which way is its write group in the field table (engine.core.fields).
- Price fields (our_price, the sale, min/max) live inside one `purchasable_offer` value, and
  a replace that omits `discounted_price` drops an active sale. So they are read-merge-
  replace: take the offer as it is live now, change only the fields the plan changes, and
  replace the whole attribute (other audiences, e.g. B2B offers, kept as they are).
- A change that raises a quantity from 0 and changes the offer is two writes, the price
  first (`price_then_quantity`): sent as one patch or one feed message, Amazon can make the
  quantity live before the new price, and buyers order at the old one
  (https://github.com/amzn/selling-partner-api-models/issues/4901: "quantity = 0, price =
  555" patched to "quantity = 5, price = 777" in one message went on sale at 555 first).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from engine.core.changes import ResourceChange
from engine.core.fields import in_group
from engine.core.resource import Resource
from engine.live.attributes import (
    OFFER,
    attribute_values,
    market,
    offer_fields,
    resource_attributes,
)

# Each field's write group, from the field table (engine.core.fields).
PUT_FIELDS = frozenset(f.name for f in in_group("put"))
OFFER_FIELDS = {f.name: f.attribute for f in in_group("offer")}  # field -> offer key
_REPLACED = in_group("replace")
_MERGED = in_group("merge")

Patch = dict[str, Any]


def write_kind(change: ResourceChange) -> str:
    """delete, put or patch."""
    if change.action == "delete":
        return "delete"
    if change.action == "create" or any(f.field in PUT_FIELDS for f in change.fields):
        return "put"
    return "patch"


def needs_offer(change: ResourceChange) -> bool:
    """Whether the patch must read the live purchasable_offer first."""
    return write_kind(change) == "patch" and any(f.field in OFFER_FIELDS for f in change.fields)


def price_then_quantity(change: ResourceChange) -> tuple[ResourceChange, ResourceChange] | None:
    """A patch that raises the quantity from 0 and changes the offer, as two changes to
    write one after the other: everything but the quantity (its `after` is the listing with
    the new price and the quantity still 0), then the quantity alone. The second may be
    written only once live shows the first. None for every other change (one write)."""
    if write_kind(change) != "patch" or change.before is None or change.after is None:
        return None
    quantity = next((f for f in change.fields if f.field == "quantity"), None)
    if quantity is None or quantity.before != 0 or not quantity.after:
        return None
    rest = tuple(f for f in change.fields if f.field != "quantity")
    if not any(f.field in OFFER_FIELDS for f in rest):
        return None
    priced = replace(change.before, **{f.field: f.after for f in rest})
    return (
        ResourceChange(change.address, change.action, change.before, priced, rest),
        ResourceChange(change.address, change.action, priced, change.after, (quantity,)),
    )


def put_body(resource: Resource) -> dict[str, Any]:
    return {
        "productType": resource.product_type,
        "requirements": "LISTING",
        "attributes": resource_attributes(resource),
    }


def _path(name: str) -> str:
    return f"/attributes/{name}"


def _set_or_delete(name: str, after: list[dict[str, Any]], before: list[dict[str, Any]]) -> Patch:
    if after:
        return {"op": "replace", "path": _path(name), "value": after}
    return {"op": "delete", "path": _path(name), "value": before}


def merged_offers(
    current: Sequence[Mapping[str, Any]], after: Resource, fields: Sequence[str]
) -> list[dict[str, Any]]:
    """The live purchasable_offer values with the consumer offer's `fields` (Resource field
    names) set from `after`; everything else as it is live."""
    mid = market(after.marketplace).marketplace_id
    offers = [copy.deepcopy(dict(o)) for o in current]
    main = next(
        (
            o
            for o in offers
            if o.get("audience", "ALL") == "ALL" and o.get("marketplace_id", mid) == mid
        ),
        None,
    )
    if main is None:
        main = {"marketplace_id": mid, "currency": after.currency, "audience": "ALL"}
        offers.append(main)
    wanted = offer_fields(after)
    for field in fields:
        key = OFFER_FIELDS[field]
        if key in wanted:
            main[key] = wanted[key]
        else:
            main.pop(key, None)
    return offers


def listing_patches(
    change: ResourceChange, current_offers: Sequence[Mapping[str, Any]] | None = None
) -> list[Patch]:
    """The JSON Patch for an update. `current_offers` (the live purchasable_offer values)
    is required when `needs_offer(change)`."""
    before, after = change.before, change.after
    if after is None or before is None or write_kind(change) != "patch":
        raise ValueError(f"{change.address}: a {change.action} is not written as a patch")
    changed = [f.field for f in change.fields]
    patches: list[Patch] = []
    for field in _REPLACED:
        if field.name in changed:
            after_values = attribute_values(after, field)
            before_values = attribute_values(before, field)
            patches.append(_set_or_delete(field.attribute, after_values, before_values))
    price_fields = [f for f in changed if f in OFFER_FIELDS]
    if price_fields:
        if current_offers is None:
            raise ValueError(f"{change.address}: changing prices needs the live offer first")
        value = merged_offers(current_offers, after, price_fields)
        patches.append({"op": "replace", "path": _path(OFFER), "value": value})
    for field in _MERGED:
        if field.name in changed and getattr(after, field.name) is not None:
            patches.append(
                {
                    "op": "merge",
                    "path": _path(field.attribute),
                    "value": attribute_values(after, field),
                }
            )
    return patches
