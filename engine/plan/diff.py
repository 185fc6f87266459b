"""Desired state versus live state: a keyed walk producing resource changes. Pure.

An unchanged listing costs one tuple comparison. Only listings that differ are looked at
field by field, and only then is each difference attributed to its cause with a three-way
comparison against the values last applied:

- `config`: the YAML changed since the last apply (the usual reason for a change);
- `drift`: the YAML did not change but live did (someone edited it in Seller Central);
  the plan puts it back;
- `both`: the YAML changed *and* live drifted away from what was applied.

Live listings the config does not describe are *unmanaged*: reported, never deleted,
unless the config's prune setting names them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.core.changes import (
    Cause,
    Changeset,
    DriftedField,
    FieldChange,
    ResourceChange,
    field_values,
    masked,
)
from engine.core.fields import MANAGED_FIELDS
from engine.core.resource import Resource, managed_values


def diff(
    desired: Mapping[str, Resource],
    live: Mapping[str, Resource],
    last_applied: Mapping[str, Mapping[str, Any]] | None = None,
    prune: Callable[[str, str], bool] | None = None,
) -> Changeset:
    """Changes that would make `live` match `desired`.

    `last_applied` maps an address to the field values sellersync last wrote there
    (absent: never applied, so every difference counts as a config change). `prune`
    says which unmanaged live listings (marketplace, sku) may be deleted.
    """
    last_applied = last_applied or {}
    changes: list[ResourceChange] = []
    drift: list[DriftedField] = []
    unchanged = 0
    for address, want in desired.items():
        have = live.get(address)
        last = last_applied.get(address)
        if have is None:
            fields = tuple(
                FieldChange(f, None, v)
                for f, v in zip(MANAGED_FIELDS, field_values(want), strict=True)
                if v not in (None, "", ())
            )
            changes.append(ResourceChange(address, "create", None, want, fields))
            continue
        if last is not None:
            drift.extend(_drifted(address, have, last))
        # field_values, inlined: this runs for every listing of the account. Masking cannot
        # make equal values unequal, so it waits until they differ.
        want_values = managed_values(want)
        have_values = managed_values(have)
        if want_values == have_values or want_values == (
            have_values := masked(have_values, want_values)
        ):
            unchanged += 1
            continue
        fields = tuple(
            FieldChange(f, h, w, _cause(f, w, h, last))
            for f, w, h in zip(MANAGED_FIELDS, want_values, have_values, strict=True)
            if w != h
        )
        changes.append(ResourceChange(address, "update", have, want, fields))
    unmanaged: list[str] = []
    for address, have in live.items():
        if address in desired:
            continue
        if prune is not None and prune(have.marketplace, have.sku):
            fields = tuple(
                FieldChange(f, v, None)
                for f, v in zip(MANAGED_FIELDS, field_values(have), strict=True)
                if v not in (None, "", ())
            )
            changes.append(ResourceChange(address, "delete", have, None, fields))
        else:
            unmanaged.append(address)
    order = {"delete": 0, "create": 1, "update": 1}
    changes.sort(key=lambda c: (order[c.action], c.address))
    return Changeset(tuple(changes), unchanged, tuple(sorted(unmanaged)), tuple(drift))


def _cause(field: str, want: Any, have: Any, last: Mapping[str, Any] | None) -> Cause:
    if last is None or field not in last:
        return "config"
    applied = last[field]
    if want == applied:
        return "drift"
    if have != applied:
        return "both"
    return "config"


def _drifted(address: str, have: Resource, last: Mapping[str, Any]) -> list[DriftedField]:
    return [
        DriftedField(address, f, last[f], getattr(have, f))
        for f in MANAGED_FIELDS
        if f in last and last[f] is not None and getattr(have, f) != last[f]
    ]
