"""Resource <-> SP-API listing attributes, in both directions, so diff compares like with like.

`resource_attributes` is what a put sends (and what the sandbox seeds); `resource_from_item`
reads a listing back into the same Resource the desired state renders: Decimal prices
quantized to the currency, the sale window, the merchant quantity (None for FBA, whose stock
Amazon owns), texts in the marketplace's language. Round-tripping a Resource through both is
exact; the tests hold that for MFN, FBA, JPY, sales and non-Latin text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.core.marketplaces import MARKETPLACES, Marketplace, fba_channel_code
from engine.core.money import currency, quantize
from engine.core.resource import Resource, SalePrice

Attributes = dict[str, list[Any]]
OFFER = "purchasable_offer"
TEXT_ATTRIBUTES = {
    "title": "item_name",
    "brand": "brand",
    "bullet_points": "bullet_point",
    "description": "product_description",
}


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


def offer_fields(resource: Resource) -> dict[str, Any]:
    """The purchasable_offer fields a Resource manages (our_price, discounted_price, min/max)."""
    fields: dict[str, Any] = {"our_price": _price(resource.our_price)}
    if resource.sale is not None:
        fields["discounted_price"] = sale_value(resource.sale)
    if resource.minimum_seller_allowed_price is not None:
        fields["minimum_seller_allowed_price"] = _price(resource.minimum_seller_allowed_price)
    if resource.maximum_seller_allowed_price is not None:
        fields["maximum_seller_allowed_price"] = _price(resource.maximum_seller_allowed_price)
    return fields


def list_price_values(resource: Resource) -> list[dict[str, Any]]:
    if resource.list_price is None:
        return []
    mid = market(resource.marketplace).marketplace_id
    return [{"value": resource.list_price, "currency": resource.currency, "marketplace_id": mid}]


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


def resource_attributes(resource: Resource) -> Attributes:
    """The SP-API listing attributes that express a Resource, values stamped with
    marketplace_id (and language_tag on texts) as Amazon returns them."""
    mid = market(resource.marketplace).marketplace_id
    attrs: Attributes = {}
    for field, name in TEXT_ATTRIBUTES.items():
        values = text_values(resource, field)
        if values:
            attrs[name] = values
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
    if resource.list_price is not None:
        attrs["list_price"] = list_price_values(resource)
    attrs["fulfillment_availability"] = fulfillment_values(resource)
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


def _sale(offer: Mapping[str, Any], code: str) -> SalePrice | None:
    entry = _schedule(offer, "discounted_price")
    if entry is None:
        return None
    where = f"{OFFER}.discounted_price"
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
    for name in TEXT_ATTRIBUTES.values():
        for value in attributes.get(name) or ():
            tag = value.get("language_tag") if isinstance(value, dict) else None
            if isinstance(tag, str):
                return tag.removesuffix(f"_{mkt.country}")
    return mkt.language


def fulfillment_channel(attributes: Mapping[str, Any]) -> str:
    codes = [
        str(v.get("fulfillment_channel_code", ""))
        for v in attributes.get("fulfillment_availability") or ()
        if isinstance(v, dict)
    ]
    return "FBA" if any(c.startswith("AMAZON_") for c in codes) else "MFN"


def _mfn_quantity(attributes: Mapping[str, Any]) -> int:
    for value in attributes.get("fulfillment_availability") or ():
        if isinstance(value, dict) and value.get("fulfillment_channel_code") == "DEFAULT":
            quantity = value.get("quantity")
            if isinstance(quantity, int) and not isinstance(quantity, bool):
                return quantity
    return 0


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
    code = str(offer.get("currency") or mkt.currency)
    our_price = _price_of(offer, "our_price", code)
    if our_price is None:
        raise ListingShapeError(f"{marketplace} {sku}: the listing's offer has no our_price")
    list_values = [v for v in attributes.get("list_price") or () if isinstance(v, dict)]
    channel = fulfillment_channel(attributes)
    texts = {field: _texts(attributes, name) for field, name in TEXT_ATTRIBUTES.items()}
    return Resource(
        marketplace=marketplace,
        sku=sku,
        product_type=product_type,
        currency=code,
        language=_language(attributes, mkt),
        fulfillment_channel="FBA" if channel == "FBA" else "MFN",
        our_price=our_price,
        title=_first(texts["title"]),
        brand=_first(texts["brand"]),
        bullet_points=texts["bullet_points"],
        description=_first(texts["description"]),
        list_price=_amount(list_values[0].get("value"), code, "list_price")
        if list_values
        else None,
        sale=_sale(offer, code),
        minimum_seller_allowed_price=_price_of(offer, "minimum_seller_allowed_price", code),
        maximum_seller_allowed_price=_price_of(offer, "maximum_seller_allowed_price", code),
        quantity=None if channel == "FBA" else _mfn_quantity(attributes),
        identifiers=tuple(
            sorted(
                (str(v["type"]), str(v["value"]))
                for v in attributes.get("externally_assigned_product_identifier") or ()
                if isinstance(v, dict) and "type" in v and "value" in v
            )
        ),
    )


def _first(values: Sequence[str]) -> str:
    return values[0] if values else ""
