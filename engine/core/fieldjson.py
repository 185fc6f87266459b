"""Managed field values in their JSON view and back: how the state store keeps the values
last applied, and how a refresh-only file carries them. Pure, so the plan side reads a file
without reaching into the state store."""

from __future__ import annotations

from typing import Any

from engine.core.fields import BY_NAME

FieldValues = dict[str, Any]


def decode(fields: dict[str, Any]) -> FieldValues:
    """Field values from their JSON view, each decoded by its kind (engine.core.fields);
    None stays None, and a name sellersync does not manage stays as it is."""
    return {
        name: value if value is None or name not in BY_NAME else BY_NAME[name].kind.from_json(value)
        for name, value in fields.items()
    }
