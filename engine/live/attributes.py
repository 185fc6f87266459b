"""Resource <-> SP-API listing attributes, in both directions, so diff compares like with like.

`resource_attributes` is what a put sends (and what the sandbox seeds); `resource_from_attributes`
reads a listing back into the same Resource the desired state renders: Decimal prices
quantized to the currency, the sale window, the merchant quantity (None for FBA, whose stock
Amazon owns), texts in the marketplace's language. Round-tripping a Resource through both is
exact; the tests hold that for MFN, FBA, JPY, sales and non-Latin text.

Each managed field is read and written by the converter of its shape (engine.core.fields:
where in the attributes it lives and what its values look like), so a new field of a known
shape is a row in that table and nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.core.fields import FIELDS, MONEY, TEXT_LIST, Field
from engine.core.marketplaces import MARKETPLACES, Marketplace, fba_channel_code
from engine.core.money import currency, quantize
from engine.core.resource import Resource
from engine.core.sale import SalePrice

Attributes = dict[str, list[Any]]
OFFER = "purchasable_offer"
FULFILLMENT = "fulfillment_availability"


class ListingShapeError(ValueError):
    """Attributes that cannot be read as a listing sellersync manages."""


def market(code: str) -> Marketplace:
    try:
        return MARKETPLACES[code]
    except KeyError:
        raise ValueError(f"unknown marketplace {code!r}") from None


def language_tag(resource: Resource, mkt: Marketplace) -> str:
    """Amazon's language_tag (e.g. de_DE, fr_BE) for the language a listing is written in."""
    if "_" in resource.language:
        return resource.language
    return f"{resource.language}_{mkt.country}"


def amazon_time(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds and Z, as Amazon writes date-times."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _price(amount: Decimal) -> list[dict[str, Any]]:
    return [{"schedule": [{"value_with_tax": amount}]}]


def sale_value(sale: SalePrice) -> list[dict[str, Any]]:
    """A `discounted_price` value: price with its start and end (all three required)."""
    return [
        {
            "schedule": [
                {
                    "value_with_tax": sale.price,
                    "start_at": amazon_time(sale.start),
                    "end_at": amazon_time(sale.end),
                }
            ]
        }
    ]


def text_values(resource: Resource, field: str) -> list[dict[str, Any]]:
    """The values of one text attribute (item_name, brand, ...) for a Resource field."""
    mkt = market(resource.marketplace)
    tag = language_tag(resource, mkt)
    value = getattr(resource, field)
    texts = value if isinstance(value, tuple) else ((value,) if value else ())
    return [
        {"value": text, "language_tag": tag, "marketplace_id": mkt.marketplace_id} for text in texts
    ]


def amount_values(resource: Resource, field: str) -> list[dict[str, Any]]:
    """The values of an amount attribute (list_price): the amount with its currency; none
    when the field is None."""
    amount = getattr(resource, field)
    if amount is None:
        return []
    mid = market(resource.marketplace).marketplace_id
    return [{"value": amount, "currency": resource.currency, "marketplace_id": mid}]


def fulfillment_values(resource: Resource) -> list[dict[str, Any]]:
    mkt = market(resource.marketplace)
    if resource.fulfillment_channel == "FBA":
        code = fba_channel_code(mkt)
        return [{"fulfillment_channel_code": code, "marketplace_id": mkt.marketplace_id}]
    return [
        {
            "fulfillment_channel_code": "DEFAULT",
            "quantity": resource.quantity or 0,
            "marketplace_id": mkt.marketplace_id,
        }
    ]


# The value of one field's own attribute, by the field's shape (engine.core.fields): what a
# put sends for it, and what a patch replaces or merges.
_ATTRIBUTE_WRITERS: dict[str, Callable[[Resource, Field], list[dict[str, Any]]]] = {
    "localized_text": lambda resource, field: text_values(resource, field.name),
    "amount": lambda resource, field: amount_values(resource, field.name),
    "mfn_quantity": lambda resource, field: fulfillment_values(resource),
}
# A key of the consumer purchasable_offer, by the field's shape, for a value that is not None.
_OFFER_WRITERS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "offer_price": _price,
    "offer_sale": sale_value,
}
_TEXT_FIELDS = tuple(f for f in FIELDS if f.shape == "localized_text")
_AMOUNT_FIELDS = tuple(f for f in FIELDS if f.shape == "amount")
_OFFER_FIELDS = tuple(f for f in FIELDS if f.group == "offer")


def attribute_values(resource: Resource, field: Field) -> list[dict[str, Any]]:
    """The values of `field`'s own attribute (`field.attribute`) for `resource`; empty when
    the listing has none."""
    return _ATTRIBUTE_WRITERS[field.shape](resource, field)


def offer_fields(resource: Resource) -> dict[str, Any]:
    """The purchasable_offer fields a Resource manages (our_price, discounted_price, min/max):
    one key per offer field that is not None, in table order."""
    fields: dict[str, Any] = {}
    for field in _OFFER_FIELDS:
        value = getattr(resource, field.name)
        if value is not None:
            fields[field.attribute] = _OFFER_WRITERS[field.shape](value)
    return fields


def resource_attributes(resource: Resource) -> Attributes:
    """The SP-API listing attributes that express a Resource, values stamped with
    marketplace_id (and language_tag on texts) as Amazon returns them."""
    mid = market(resource.marketplace).marketplace_id
    attrs: Attributes = {}
    for field in _TEXT_FIELDS:
        values = text_values(resource, field.name)
        if values:
            attrs[field.attribute] = values
    attrs["condition_type"] = [{"value": "new_new", "marketplace_id": mid}]
    if resource.identifiers:
        attrs["externally_assigned_product_identifier"] = [
            {"type": kind, "value": value, "marketplace_id": mid}
            for kind, value in resource.identifiers
        ]
    attrs[OFFER] = [
        {"marketplace_id": mid, "currency": resource.currency, "audience": "ALL"}
        | offer_fields(resource)
    ]
    for field in _AMOUNT_FIELDS:
        values = amount_values(resource, field.name)
        if values:
            attrs[field.attribute] = values
    attrs[FULFILLMENT] = fulfillment_values(resource)
    return attrs


# -- reading back -----------------------------------------------------------------------------


def main_offer(attributes: Mapping[str, Any], marketplace_id: str) -> dict[str, Any] | None:
    """The consumer (audience ALL) offer of one marketplace, if any."""
    for offer in attributes.get(OFFER) or ():
        if (
            isinstance(offer, dict)
            and offer.get("audience", "ALL") == "ALL"
            and offer.get("marketplace_id", marketplace_id) == marketplace_id
        ):
            return offer
    return None


def _schedule(offer: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    for entry in offer.get(field) or ():
        for value in entry.get("schedule") or () if isinstance(entry, dict) else ():
            if isinstance(value, dict):
                return value
    return None


def _amount(value: object, code: str, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ListingShapeError(f"{where}: {value!r} is not an amount")
    try:
        return quantize(Decimal(value), currency(code))
    except ArithmeticError:
        raise ListingShapeError(f"{where}: {value!r} is not an amount") from None


def _price_of(offer: Mapping[str, Any], field: str, code: str) -> Decimal | None:
    entry = _schedule(offer, field)
    if entry is None:
        return None
    return _amount(entry.get("value_with_tax"), code, f"{OFFER}.{field}")


def _when(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise ListingShapeError(f"{where}: {value!r} is not a date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ListingShapeError(f"{where}: {value!r} is not a date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _sale(offer: Mapping[str, Any], field: str, code: str) -> SalePrice | None:
    entry = _schedule(offer, field)
    if entry is None:
        return None
    where = f"{OFFER}.{field}"
    return SalePrice(
        _amount(entry.get("value_with_tax"), code, where),
        _when(entry.get("start_at"), where),
        _when(entry.get("end_at"), where),
    )


def _texts(attributes: Mapping[str, Any], name: str) -> tuple[str, ...]:
    return tuple(
        v["value"]
        for v in attributes.get(name) or ()
        if isinstance(v, dict) and isinstance(v.get("value"), str)
    )


def _language(attributes: Mapping[str, Any], mkt: Marketplace) -> str:
    for field in _TEXT_FIELDS:
        for value in attributes.get(field.attribute) or ():
            tag = value.get("language_tag") if isinstance(value, dict) else None
            if isinstance(tag, str):
                return tag.removesuffix(f"_{mkt.country}")
    return mkt.language


def fulfillment_channel(attributes: Mapping[str, Any]) -> str:
    codes = [
        str(v.get("fulfillment_channel_code", ""))
        for v in attributes.get(FULFILLMENT) or ()
        if isinstance(v, dict)
    ]
    return "FBA" if any(c.startswith("AMAZON_") for c in codes) else "MFN"


def _mfn_quantity(attributes: Mapping[str, Any]) -> int:
    for value in attributes.get(FULFILLMENT) or ():
        if isinstance(value, dict) and value.get("fulfillment_channel_code") == "DEFAULT":
            quantity = value.get("quantity")
            if isinstance(quantity, int) and not isinstance(quantity, bool):
                return quantity
    return 0


@dataclass(frozen=True, slots=True)
class _Listing:
    """One listing's attributes as the field readers need them."""

    where: str  # "DE HP-100", for errors
    product_type: str
    attributes: Mapping[str, Any]
    offer: Mapping[str, Any]  # the consumer offer
    currency: str
    channel: str  # MFN | FBA


def _required(listing: _Listing, field: Field, value: Any, container: str) -> Any:
    if value is None and field.kind is MONEY:
        raise ListingShapeError(f"{listing.where}: {container} has no {field.attribute}")
    return value


def _read_text(listing: _Listing, field: Field) -> Any:
    texts = _texts(listing.attributes, field.attribute)
    return texts if field.kind is TEXT_LIST else _first(texts)


def _read_offer_price(listing: _Listing, field: Field) -> Decimal | None:
    value = _price_of(listing.offer, field.attribute, listing.currency)
    return _required(listing, field, value, "the listing's offer")


def _read_amount(listing: _Listing, field: Field) -> Decimal | None:
    name = field.attribute
    values = [v for v in listing.attributes.get(name) or () if isinstance(v, dict)]
    value = _amount(values[0].get("value"), listing.currency, name) if values else None
    return _required(listing, field, value, "the listing")


# A field's value read back from a listing, by the field's shape (engine.core.fields).
_READERS: dict[str, Callable[[_Listing, Field], Any]] = {
    "product_type": lambda listing, field: listing.product_type,
    "fulfillment_channel": lambda listing, field: listing.channel,
    "localized_text": _read_text,
    "offer_price": _read_offer_price,
    "offer_sale": lambda listing, field: _sale(listing.offer, field.attribute, listing.currency),
    "amount": _read_amount,
    "mfn_quantity": lambda listing, field: (
        None if listing.channel == "FBA" else _mfn_quantity(listing.attributes)
    ),
}


def resource_from_attributes(
    marketplace: str, sku: str, product_type: str, attributes: Mapping[str, Any]
) -> Resource:
    """The Resource a listing's attributes (for one marketplace) express.

    Raises ListingShapeError when the listing has no consumer offer with a price: sellersync
    cannot manage (or compare) a listing without one.
    """
    mkt = market(marketplace)
    offer = main_offer(attributes, mkt.marketplace_id)
    if offer is None:
        raise ListingShapeError(f"{marketplace} {sku}: the listing has no consumer offer")
    listing = _Listing(
        where=f"{marketplace} {sku}",
        product_type=product_type,
        attributes=attributes,
        offer=offer,
        currency=str(offer.get("currency") or mkt.currency),
        channel="FBA" if fulfillment_channel(attributes) == "FBA" else "MFN",
    )
    return Resource(
        marketplace=marketplace,
        sku=sku,
        currency=listing.currency,
        language=_language(attributes, mkt),
        identifiers=tuple(
            sorted(
                (str(v["type"]), str(v["value"]))
                for v in attributes.get("externally_assigned_product_identifier") or ()
                if isinstance(v, dict) and "type" in v and "value" in v
            )
        ),
        **{field.name: _READERS[field.shape](listing, field) for field in FIELDS},
    )


def _first(values: Sequence[str]) -> str:
    return values[0] if values else ""
