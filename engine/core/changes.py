"""The vocabulary of a changeset: which fields of a listing sellersync manages, and the
changes, drift and changesets that `engine.plan.diff.diff` produces and every later layer
(plan file, guardrails, apply, the breaker) reads. Pure data, no behaviour beyond views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.core.fields import FIELDS
from engine.core.resource import Resource, managed_values

Action = Literal["create", "update", "delete"]
Cause = Literal["config", "drift", "both"]


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


# Positions (in MANAGED_FIELDS order) of the fields a desired None leaves unmanaged.
UNMANAGED_WHEN_NONE: tuple[int, ...] = tuple(i for i, f in enumerate(FIELDS) if f.none_is_unmanaged)


def field_values(resource: Resource, desired: Resource | None = None) -> tuple[Any, ...]:
    """The managed values of `resource`, in MANAGED_FIELDS order. A field the desired side
    leaves unmanaged (None quantity for FBA, whose quantity Amazon owns) is masked out of the
    comparison."""
    values = managed_values(resource)
    if desired is not None:
        values = masked(values, managed_values(desired))
    return values


def masked(have: tuple[Any, ...], want: tuple[Any, ...]) -> tuple[Any, ...]:
    """`have` with None wherever `want` leaves a field unmanaged (UNMANAGED_WHEN_NONE)."""
    for i in UNMANAGED_WHEN_NONE:
        if want[i] is None and have[i] is not None:
            have = (*have[:i], None, *have[i + 1 :])
    return have
