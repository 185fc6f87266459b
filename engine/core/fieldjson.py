"""Managed field values in their JSON view and back: how the state store keeps the values
last applied, and how a refresh-only file carries them. Pure, so the plan side reads a file
without reaching into the state store."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.core.resource import SalePrice

FieldValues = dict[str, Any]

# How a field's JSON view turns back into the Resource's type (None stays None); the other
# fields are already str or int.
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "our_price": Decimal,
    "list_price": Decimal,
    "minimum_seller_allowed_price": Decimal,
    "maximum_seller_allowed_price": Decimal,
    "sale": SalePrice.from_dict,
    "bullet_points": tuple,
}


def decode(fields: dict[str, Any]) -> FieldValues:
    """Field values from their JSON view (as stored in the state store, or in a refresh-only
    file)."""
    return {
        name: _DECODERS[name](value) if name in _DECODERS and value is not None else value
        for name, value in fields.items()
    }
