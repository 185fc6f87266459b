"""The Resource: one listing in one marketplace, the unit that plan, diff and apply work on.

Desired state (rendered from config) and live state (read from SP-API or the sandbox) are
both expressed as Resources, so diffing them is a keyed walk over the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal

from engine.core.fields import FIELDS, MANAGED_FIELDS, as_is
from engine.core.sale import SalePrice
from engine.core.slots import constructor, copier

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

    def with_quantity(self, quantity: int | None) -> Resource:
        """This listing with another MFN quantity: what `dataclasses.replace(self,
        quantity=...)` gives, five times faster. A plan allocates stock after rendering
        (engine.flows.plan), so it copies every MFN listing once; at 50k listings `replace`
        alone made that pass cost as much as the render (bench/plan_bench.py)."""
        return _copy_with_quantity(self, quantity)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view: Decimals as strings (never float), datetimes as ISO 8601 UTC,
        keys in VIEW_KEYS order (plan files are compared byte for byte)."""
        view: dict[str, Any] = {
            "marketplace": self.marketplace,
            "sku": self.sku,
            "product_type": None,  # its place in the view; the managed fields fill it in
            "currency": self.currency,
            "language": self.language,
        }
        for name, to_json, value in zip(MANAGED_FIELDS, _TO_JSON, managed_values(self)):  # noqa: B905 (same length by construction; strict= costs)
            view[name] = value if to_json is None else to_json(value)
        view["identifiers"] = dict(self.identifiers)
        return view

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resource:
        """Inverse of to_dict (plan files are read back by apply). A field the view leaves
        out takes its default; one without a default must be there."""
        managed = {
            f.name: f.kind.from_json(data[f.name])
            for f in FIELDS
            if f.name in data or f.name in _REQUIRED
        }
        return cls(
            marketplace=data["marketplace"],
            sku=data["sku"],
            currency=data["currency"],
            language=data["language"],
            identifiers=tuple(sorted(data.get("identifiers", {}).items())),
            **managed,
        )


# The managed values of a Resource, in MANAGED_FIELDS order. One C-level call builds the
# tuple: a getattr per field in a generator made diffing 100k listings take 0.43 s, this 0.15 s.
managed_values = attrgetter(*MANAGED_FIELDS)
# Each managed field's JSON codec, None where the value is its own view (no call needed).
_TO_JSON = tuple(None if f.kind.to_json is as_is else f.kind.to_json for f in FIELDS)
# The keys of Resource.to_dict, in order (the snapshot cache's columns follow them too).
VIEW_KEYS: tuple[str, ...] = (
    "marketplace",
    "sku",
    "product_type",
    "currency",
    "language",
    *(name for name in MANAGED_FIELDS if name != "product_type"),
    "identifiers",
)


# Every listing of the catalog is built, and every MFN listing copied, per plan
# (engine.core.slots: half the cost of the dataclass's own __init__ and of `replace`).
_copy_with_quantity = copier(Resource, "quantity")
build_resource: Callable[..., Resource] = constructor(Resource)
_REQUIRED = frozenset(
    f.name for f in fields(Resource) if f.default is MISSING and f.default_factory is MISSING
)
