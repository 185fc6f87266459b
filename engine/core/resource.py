"""The Resource: one listing in one marketplace, the unit that plan, diff and apply work on.

Desired state (rendered from config) and live state (read from SP-API or the sandbox) are
both expressed as Resources, so diffing them is a keyed walk over the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

FulfillmentChannel = Literal["MFN", "FBA"]


def address(marketplace: str, sku: str) -> str:
    """Terraform-style address, e.g. listing.DE["HP-100"]."""
    return f'listing.{marketplace}["{sku}"]'


def address_key(text: str) -> tuple[str, str]:
    """(marketplace, sku) of an address `address()` made: the inverse, for reports that
    keep only the address."""
    marketplace, _, rest = text.removeprefix("listing.").partition('["')
    return marketplace, rest.removesuffix('"]')


@dataclass(frozen=True, slots=True)
class SalePrice:
    """A `discounted_price`: a price that applies between start (inclusive) and end (exclusive)."""

    price: Decimal
    start: datetime
    end: datetime

    def active_at(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def to_dict(self) -> dict[str, str]:
        return {
            "price": f"{self.price:f}",
            "start": _iso(self.start),
            "end": _iso(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> SalePrice:
        return cls(Decimal(data["price"]), _parse_iso(data["start"]), _parse_iso(data["end"]))


@dataclass(frozen=True, slots=True)
class Resource:
    """One listing (marketplace × SKU) with every field sellersync manages.

    Money fields are Decimals in `currency`, already quantized to its minor unit.
    `quantity` is the merchant-fulfilled (MFN) quantity; None for FBA, whose quantity
    Amazon owns.
    """

    marketplace: str
    sku: str
    product_type: str
    currency: str
    language: str
    fulfillment_channel: FulfillmentChannel
    our_price: Decimal
    title: str = ""
    brand: str = ""
    bullet_points: tuple[str, ...] = ()
    description: str = ""
    list_price: Decimal | None = None
    sale: SalePrice | None = None
    minimum_seller_allowed_price: Decimal | None = None
    maximum_seller_allowed_price: Decimal | None = None
    quantity: int | None = None
    identifiers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def address(self) -> str:
        return address(self.marketplace, self.sku)

    @property
    def key(self) -> tuple[str, str]:
        return (self.marketplace, self.sku)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view: Decimals as strings (never float), datetimes as ISO 8601 UTC."""
        return {
            "marketplace": self.marketplace,
            "sku": self.sku,
            "product_type": self.product_type,
            "currency": self.currency,
            "language": self.language,
            "fulfillment_channel": self.fulfillment_channel,
            "title": self.title,
            "brand": self.brand,
            "bullet_points": list(self.bullet_points),
            "description": self.description,
            "our_price": _money(self.our_price),
            "list_price": _money(self.list_price),
            "sale": self.sale.to_dict() if self.sale else None,
            "minimum_seller_allowed_price": _money(self.minimum_seller_allowed_price),
            "maximum_seller_allowed_price": _money(self.maximum_seller_allowed_price),
            "quantity": self.quantity,
            "identifiers": dict(self.identifiers),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resource:
        """Inverse of to_dict (plan files are read back by apply)."""
        sale = data.get("sale")
        return cls(
            marketplace=data["marketplace"],
            sku=data["sku"],
            product_type=data["product_type"],
            currency=data["currency"],
            language=data["language"],
            fulfillment_channel=data["fulfillment_channel"],
            our_price=Decimal(data["our_price"]),
            title=data.get("title", ""),
            brand=data.get("brand", ""),
            bullet_points=tuple(data.get("bullet_points", ())),
            description=data.get("description", ""),
            list_price=_decimal_or_none(data.get("list_price")),
            sale=None if sale is None else SalePrice.from_dict(sale),
            minimum_seller_allowed_price=_decimal_or_none(data.get("minimum_seller_allowed_price")),
            maximum_seller_allowed_price=_decimal_or_none(data.get("maximum_seller_allowed_price")),
            quantity=data.get("quantity"),
            identifiers=tuple(sorted(data.get("identifiers", {}).items())),
        )


def _decimal_or_none(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
