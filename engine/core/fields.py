"""The one table of the listing fields sellersync manages.

Every layer that handles a listing's managed fields derives what it needs from `FIELDS`
instead of keeping its own list: the diff (`MANAGED_FIELDS`, in display order), the plan
file's and the apply journal's JSON view (`Resource.to_dict` / `from_dict`), last-applied
values (engine.state.last_applied), the snapshot cache (engine.live.bulk_read), which write a
change needs (engine.live.patches) and the SP-API attribute mapping (engine.live.attributes).

A row says, for one field:
- `kind`: the value's type, and with it how the value is written as JSON (plan files,
  journal entries, last-applied rows) and in the snapshot cache. The codecs are here;
- `group`: how a change to it reaches Amazon: `put` (the whole listing is put again: a patch
  cannot move a listing between product types or fulfilment networks), `replace` (its own
  attribute, replaced or deleted), `offer` (a key inside the consumer `purchasable_offer`,
  read-merge-replaced with the other offer keys), `merge` (merged into its attribute);
- `attribute` and `shape`: where it lives in SP-API's listing attributes (for group `offer`,
  the key inside `purchasable_offer`; None: not an attribute) and which converter of
  engine.live.attributes reads and writes it. Converters live there: core knows no SP-API;
- `none_is_unmanaged`: a desired None means sellersync leaves the field alone on that listing
  (FBA quantity: Amazon owns it), so live's value is not compared.

A field is also a `Resource` attribute (engine.core.resource); tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from engine.core.sale import SalePrice

# How the snapshot cache stores a field's JSON view: `text` an index into its string table,
# `texts` a list of them, `amount` the index of the exact decimal string (decoded once per
# distinct amount), `json` the JSON view itself (decoded with the kind's from_json), `plain`
# the JSON view itself, which is already the value (ints).
SnapshotCell = Literal["text", "texts", "amount", "json", "plain"]
WriteGroup = Literal["put", "replace", "offer", "merge"]


@dataclass(frozen=True, slots=True)
class Kind:
    """A field's value type and its JSON codec: `to_json` gives the JSON view of a value
    (Decimals as exact strings, never float), `from_json` the value back (None stays None
    for the kinds that allow it)."""

    name: str
    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]
    snapshot: SnapshotCell


def as_is(value: Any) -> Any:
    """The codec of a value that is its own JSON view (str, int, None)."""
    return value


def _amount_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _amount(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _tuple(values: list[str]) -> tuple[str, ...]:
    return tuple(values)


def _sale_view(sale: SalePrice | None) -> dict[str, str] | None:
    return None if sale is None else sale.to_dict()


def _sale(view: dict[str, str] | None) -> SalePrice | None:
    return None if view is None else SalePrice.from_dict(view)


TEXT = Kind("text", as_is, as_is, "text")
TEXT_LIST = Kind("text list", list, _tuple, "texts")
# A Resource's required money is never None; writing it None-safe keeps a broken Resource's
# view as it always was (null) instead of failing while a plan is written.
MONEY = Kind("money", _amount_text, Decimal, "amount")
OPTIONAL_MONEY = Kind("optional money", _amount_text, _amount, "amount")
SALE_PRICE = Kind("sale price", _sale_view, _sale, "json")
OPTIONAL_COUNT = Kind("optional count", as_is, as_is, "plain")
MONEY_KINDS = (MONEY, OPTIONAL_MONEY)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    group: WriteGroup
    attribute: str | None
    shape: str
    none_is_unmanaged: bool = False


# One row per managed field, in display order (plans, drift reports, the journal).
FIELDS: tuple[Field, ...] = (
    Field("product_type", TEXT, "put", None, "product_type"),
    Field("fulfillment_channel", TEXT, "put", "fulfillment_availability", "fulfillment_channel"),
    Field("title", TEXT, "replace", "item_name", "localized_text"),
    Field("brand", TEXT, "replace", "brand", "localized_text"),
    Field("bullet_points", TEXT_LIST, "replace", "bullet_point", "localized_text"),
    Field("description", TEXT, "replace", "product_description", "localized_text"),
    Field("our_price", MONEY, "offer", "our_price", "offer_price"),
    Field("list_price", OPTIONAL_MONEY, "replace", "list_price", "amount"),
    Field("sale", SALE_PRICE, "offer", "discounted_price", "offer_sale"),
    Field(
        "minimum_seller_allowed_price",
        OPTIONAL_MONEY,
        "offer",
        "minimum_seller_allowed_price",
        "offer_price",
    ),
    Field(
        "maximum_seller_allowed_price",
        OPTIONAL_MONEY,
        "offer",
        "maximum_seller_allowed_price",
        "offer_price",
    ),
    Field(
        "quantity",
        OPTIONAL_COUNT,
        "merge",
        "fulfillment_availability",
        "mfn_quantity",
        none_is_unmanaged=True,
    ),
)

MANAGED_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
# The money fields, each checked against its currency's minor unit where plans are read.
MONEY_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind in MONEY_KINDS)
SALE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind is SALE_PRICE)


def in_group(group: WriteGroup) -> tuple[Field, ...]:
    """The rows written to Amazon in `group`, in table order."""
    return tuple(f for f in FIELDS if f.group == group)
