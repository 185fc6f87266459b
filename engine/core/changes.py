"""The vocabulary of a changeset: which fields of a listing sellersync manages, and the
changes, drift and changesets that `engine.plan.diff.diff` produces and every later layer
(plan file, guardrails, apply, the breaker) reads. Pure data, no behaviour beyond views.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

from engine.core.resource import Resource

Action = Literal["create", "update", "delete"]
Cause = Literal["config", "drift", "both"]

# The fields sellersync manages on a listing, in display order.
MANAGED_FIELDS: tuple[str, ...] = (
    "product_type",
    "fulfillment_channel",
    "title",
    "brand",
    "bullet_points",
    "description",
    "our_price",
    "list_price",
    "sale",
    "minimum_seller_allowed_price",
    "maximum_seller_allowed_price",
    "quantity",
)

# One C-level call builds the tuple: a getattr per field in a generator made diffing 100k
# listings take 0.43 s, this 0.15 s.
managed_values = attrgetter(*MANAGED_FIELDS)


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any
    cause: Cause = "config"


@dataclass(frozen=True, slots=True)
class ResourceChange:
    address: str
    action: Action
    before: Resource | None
    after: Resource | None
    fields: tuple[FieldChange, ...]

    @property
    def marketplace(self) -> str:
        return (self.after or self.before).marketplace  # type: ignore[union-attr]

    @property
    def sku(self) -> str:
        return (self.after or self.before).sku  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class DriftedField:
    address: str
    field: str
    last_applied: Any
    live: Any


@dataclass(frozen=True, slots=True)
class Changeset:
    changes: tuple[ResourceChange, ...]  # deletes first, then creates and updates by address
    unchanged: int
    unmanaged: tuple[str, ...]  # live addresses the config does not describe (not pruned)
    drift: tuple[DriftedField, ...]  # every field live changed since the last apply

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)


def field_values(resource: Resource, desired: Resource | None = None) -> tuple[Any, ...]:
    """The managed values of `resource`. A field the desired side leaves unmanaged (None
    quantity for FBA, whose quantity Amazon owns) is masked out of the comparison."""
    values = managed_values(resource)
    if desired is not None and desired.quantity is None:
        values = (*values[:-1], None)
    return values
