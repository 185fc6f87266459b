"""Refresh-only: adopt what is live as the values last applied, writing nothing to Amazon.

Terraform's `apply -refresh-only` is the model. Drift detection compares live with the
values sellersync last applied; a listing sellersync never wrote has none, so every
difference on it is "not yet adopted", and a listing whose drift is accepted (the config
followed a Seller Central edit) stays drifted until something records the new values. A
refresh-only file lists, per managed live listing whose live values are not the recorded
ones, what would be recorded. It is reviewed like a plan and made real by a separate step
(engine.apply.refresh_only) that re-reads live first and refuses if anything changed.

After adoption the config still wins: `sync plan` shows every field where the config
differs from what was adopted as a change to apply, and `sync drift` as a config change not
yet applied. FBA quantity is recorded as unmanaged (None), as apply records it.

Pure: built from desired state, live state and the values last applied; the file is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine import __version__
from engine.core.fieldjson import decode
from engine.core.fields import MANAGED_FIELDS
from engine.core.identity import BackendIdentity
from engine.core.resource import Resource
from engine.plan.model import _iso, _plain, fingerprint
from engine.plan.text import field_text
from engine.plan.validate import check_bounds

FORMAT_VERSION = "1.0"
KIND = "refresh-only"


class RefreshOnlyFormatError(ValueError):
    """The text is not a refresh-only file this sellersync reads."""


@dataclass(frozen=True, slots=True)
class Adoption:
    """One listing whose live values would become its last-applied values."""

    live: Resource  # as it will be recorded (FBA quantity masked out)
    fingerprint: str  # of the live listing as read: the record step refuses any change
    last_applied: Mapping[str, Any] | None  # what is recorded now; None: never applied

    @property
    def address(self) -> str:
        return self.live.address

    def replaced(self) -> list[tuple[str, Any, Any]]:
        """(field, last applied, live) for every field whose recorded value changes."""
        if self.last_applied is None:
            return []
        return [
            (name, self.last_applied.get(name), getattr(self.live, name))
            for name in MANAGED_FIELDS
            if self.last_applied.get(name) != getattr(self.live, name)
        ]


@dataclass(frozen=True, slots=True)
class RefreshOnlyPlan:
    created_at: datetime
    backend: BackendIdentity
    adoptions: tuple[Adoption, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "sellersync_version": __version__,
            "created_at": _iso(self.created_at),
            "backend": {
                "kind": self.backend.kind,
                "seller_id": self.backend.seller_id,
                "endpoint": self.backend.endpoint,
            },
            "listings": [
                {
                    "address": a.address,
                    "live": a.live.to_dict(),
                    "live_fingerprint": a.fingerprint,
                    "last_applied": None
                    if a.last_applied is None
                    else {name: _plain(value) for name, value in a.last_applied.items()},
                }
                for a in self.adoptions
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> RefreshOnlyPlan:
        check_bounds(text, RefreshOnlyFormatError)
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as err:
            raise RefreshOnlyFormatError(f"not JSON: {err}") from None
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise RefreshOnlyFormatError(
                "not a refresh-only file (make one with `sync drift --refresh-only --out FILE`)"
            )
        if data.get("format_version") != FORMAT_VERSION:
            raise RefreshOnlyFormatError(
                f"unsupported format_version {data.get('format_version')!r}; this sellersync "
                f"reads {FORMAT_VERSION}"
            )
        backend = data["backend"]
        return cls(
            created_at=datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")),
            backend=BackendIdentity(backend["kind"], backend["seller_id"], backend["endpoint"]),
            adoptions=tuple(
                Adoption(
                    Resource.from_dict(item["live"]),
                    item["live_fingerprint"],
                    None if item["last_applied"] is None else decode(item["last_applied"]),
                )
                for item in data["listings"]
            ),
        )


def adoptions(
    desired: Mapping[str, Resource],
    live: Mapping[str, Resource],
    applied: Mapping[str, Mapping[str, Any]],
) -> tuple[Adoption, ...]:
    """Every listing the config manages and live has whose live values are not the ones last
    applied, by address. Live listings the config does not describe are `sync import`'s."""
    found = []
    for address in sorted(desired.keys() & live.keys()):
        have = live[address]
        recorded = have if desired[address].quantity is not None else replace(have, quantity=None)
        last = applied.get(address)
        if last is not None and all(last.get(f) == getattr(recorded, f) for f in MANAGED_FIELDS):
            continue
        found.append(Adoption(recorded, fingerprint(have), last))
    return tuple(found)


def render_refresh_only(
    plan: RefreshOnlyPlan, desired: Mapping[str, Resource] | None = None
) -> str:
    """The reviewable list: per listing, the recorded values it replaces, or for a listing
    never applied, where live differs from the config (those become changes to apply)."""
    count = len(plan.adoptions)
    if not count:
        return "Refresh-only: every managed live listing already matches its last-applied values.\n"
    lines = [
        f"Refresh-only: sellersync will record what is live as last applied for {count} "
        "listing(s). Nothing is written to Amazon.",
        "",
    ]
    for adoption in plan.adoptions:
        live, currency = adoption.live, adoption.live.currency
        if adoption.last_applied is None:
            lines.append(f"  # {adoption.address} never applied by sellersync: adopted as live")
            want = (desired or {}).get(adoption.address)
            for name in MANAGED_FIELDS if want is not None else ():
                value = getattr(live, name)
                if value != getattr(want, name):
                    lines.append(
                        f"      {name} = {field_text(value, name, currency)}  (the config says "
                        f"{field_text(getattr(want, name), name, currency)}: the next plan "
                        "changes it)"
                    )
        else:
            lines.append(f"  # {adoption.address} last-applied values replaced by live")
            lines += [
                f"    ~ {name} = {field_text(last, name, currency)} -> "
                f"{field_text(value, name, currency)}"
                for name, last, value in adoption.replaced()
            ]
    lines += ["", f"Refresh-only: {count} listing(s) to adopt, 0 writes to Amazon."]
    return "\n".join(lines) + "\n"
