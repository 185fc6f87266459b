"""The plan file: a reviewed changeset that `sync apply` makes live, exactly.

Modelled on `terraform show -json`: `resource_changes[].change.{actions, before, after}`.
It also pins what the plan was computed from, so apply can refuse a stale plan: the config
digest, the backend identity, and a fingerprint of the live state of every listing it
touches (checked again right before each write).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine import __version__
from engine.core.changes import Changeset, DriftedField, FieldChange, ResourceChange
from engine.core.fields import MANAGED_FIELDS, MONEY_FIELDS, SALE_FIELDS
from engine.core.identity import BackendIdentity
from engine.core.money import MoneyError, currency
from engine.core.resource import Resource
from engine.guardrails.verdict import Verdict
from engine.plan.validate import PlanFormatError, parse_plan_json

# 2.0: fingerprints cover FINGERPRINT_FIELDS only, and the plan names the marketplaces it
# covers (apply re-plans exactly those to check the file against).
FORMAT_VERSION = "2.0"
ABSENT = "absent"  # fingerprint of a listing that does not exist live


# What a fingerprint covers: the listing's key and the fields sellersync manages. Not its
# identifiers or language: a plan may know a listing from a stand-in (its report row agreeing
# with the values last applied, engine.live.bulk_read), which has neither, while apply reads
# full detail, which has both. Fingerprints over different fields made such plans stale at
# every try with nothing changing in between.
FINGERPRINT_FIELDS: tuple[str, ...] = ("marketplace", "sku", "currency", *MANAGED_FIELDS)


def fingerprint(resource: Resource | None) -> str:
    """sha256 over the canonical JSON of a live listing's FINGERPRINT_FIELDS (or ABSENT)."""
    if resource is None:
        return ABSENT
    data = resource.to_dict()
    text = json.dumps(
        {name: data[name] for name in FINGERPRINT_FIELDS},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class HeldListing:
    """A listing the plan keeps at its breaker state until incidents.yaml acknowledges the
    incident (engine.watch.breaker.Held), as the plan file records it."""

    address: str
    incident: str
    message: str  # Held.line(): what the text and Markdown plans show

    def to_dict(self) -> dict[str, str]:
        return {"address": self.address, "incident": self.incident, "message": self.message}


@dataclass(frozen=True, slots=True)
class Plan:
    created_at: datetime
    config_digest: str
    backend: BackendIdentity
    changes: tuple[ResourceChange, ...]
    unchanged: int
    unmanaged: tuple[str, ...]
    drift: tuple[DriftedField, ...]
    live_fingerprints: dict[str, str]  # address -> fingerprint, for every change
    git_commit: str | None = None
    guardrails: tuple[Verdict, ...] = field(default=())
    held: tuple[HeldListing, ...] = field(default=())
    marketplaces: tuple[str, ...] = field(default=())  # the marketplaces planned
    target: tuple[str, ...] = field(default=())  # SKU patterns it is limited to; () = all

    @classmethod
    def build(
        cls,
        changeset: Changeset,
        *,
        created_at: datetime,
        config_digest: str,
        backend: BackendIdentity,
        git_commit: str | None = None,
        guardrails: tuple[Verdict, ...] = (),
        held: tuple[HeldListing, ...] = (),
        marketplaces: tuple[str, ...] = (),
        target: tuple[str, ...] = (),
    ) -> Plan:
        return cls(
            created_at=created_at,
            config_digest=config_digest,
            backend=backend,
            changes=changeset.changes,
            unchanged=changeset.unchanged,
            unmanaged=changeset.unmanaged,
            drift=changeset.drift,
            live_fingerprints={c.address: fingerprint(c.before) for c in changeset.changes},
            git_commit=git_commit,
            guardrails=guardrails,
            held=held,
            marketplaces=marketplaces,
            target=target,
        )

    @property
    def changeset(self) -> Changeset:
        return Changeset(self.changes, self.unchanged, self.unmanaged, self.drift)

    def summary(self) -> dict[str, int]:
        count = self.changeset.count
        return {
            "add": count("create"),
            "change": count("update"),
            "delete": count("delete"),
            "unchanged": self.unchanged,
        }

    # ---- JSON ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "sellersync_version": __version__,
            "created_at": _iso(self.created_at),
            "config_digest": self.config_digest,
            "git_commit": self.git_commit,
            "backend": {
                "kind": self.backend.kind,
                "seller_id": self.backend.seller_id,
                "endpoint": self.backend.endpoint,
            },
            "marketplaces": list(self.marketplaces),
            "target": list(self.target),
            "summary": self.summary(),
            "resource_changes": [self._change_json(c) for c in self.changes],
            "unmanaged": list(self.unmanaged),
            "drift": [
                {
                    "address": d.address,
                    "field": d.field,
                    "last_applied": _plain(d.last_applied),
                    "live": _plain(d.live),
                }
                for d in self.drift
            ],
            "guardrails": [v.to_dict() for v in self.guardrails],
            "held": [h.to_dict() for h in self.held],
        }

    def _change_json(self, change: ResourceChange) -> dict[str, Any]:
        return {
            "address": change.address,
            "type": "listing",
            "marketplace": change.marketplace,
            "sku": change.sku,
            "change": {
                "actions": [change.action],
                "before": change.before.to_dict() if change.before else None,
                "after": change.after.to_dict() if change.after else None,
                "fields": [
                    {
                        "field": f.field,
                        "before": _plain(f.before),
                        "after": _plain(f.after),
                        "cause": f.cause,
                    }
                    for f in change.fields
                ],
            },
            "live_fingerprint": self.live_fingerprints[change.address],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> Plan:
        """Read a plan file back. Raises PlanFormatError on a file that is not a plan: the whole
        file is checked (engine.plan.validate) before any of it is used."""
        return cls.from_json(parse_plan_json(text, FORMAT_VERSION))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        """The plan in a document `parse_plan_json` has checked."""
        changes = [change_from_json(item) for item in data["resource_changes"]]
        fingerprints = {
            item["address"]: item["live_fingerprint"] for item in data["resource_changes"]
        }
        backend = data["backend"]
        return cls(
            created_at=datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")),
            config_digest=data["config_digest"],
            backend=BackendIdentity(backend["kind"], backend["seller_id"], backend["endpoint"]),
            changes=tuple(changes),
            unchanged=data["summary"]["unchanged"],
            unmanaged=tuple(data["unmanaged"]),
            drift=tuple(
                DriftedField(d["address"], d["field"], d["last_applied"], d["live"])
                for d in data["drift"]
            ),
            live_fingerprints=fingerprints,
            git_commit=data.get("git_commit"),
            guardrails=tuple(Verdict.from_dict(v) for v in data.get("guardrails", ())),
            held=tuple(HeldListing(**h) for h in data.get("held", ())),
            marketplaces=tuple(data["marketplaces"]),
            target=tuple(data.get("target", ())),
        )


def change_from_json(item: Mapping[str, Any]) -> ResourceChange:
    """One `resource_changes` item of a plan file back as the ResourceChange it was written
    from. The apply journal keeps these items as its entries' payloads, so a change can be
    checked against live again long after its plan file is gone. Every amount must be
    written to its currency's minor unit: "1.00 JPY" is not a price sellersync writes."""
    change = item["change"]
    before = _resource(item["address"], "before", change["before"])
    after = _resource(item["address"], "after", change["after"])
    fields = tuple(
        FieldChange(
            f["field"],
            _field_value(f["field"], before),
            _field_value(f["field"], after),
            f["cause"],
        )
        for f in change["fields"]
    )
    return ResourceChange(item["address"], change["actions"][0], before, after, fields)


def _resource(address: str, side: str, data: Mapping[str, Any] | None) -> Resource | None:
    if not data:
        return None
    resource = Resource.from_dict(dict(data))
    try:
        cur = currency(resource.currency)
    except MoneyError as err:
        raise PlanFormatError(f"{address} {side}: {err}") from None
    amounts = [(name, getattr(resource, name)) for name in MONEY_FIELDS]
    for name in SALE_FIELDS:
        sale = getattr(resource, name)
        if sale is not None:
            amounts.append((f"{name}.price", sale.price))
    for name, amount in amounts:
        if amount is None:
            continue
        if not amount.is_finite() or amount.as_tuple().exponent != -cur.minor_unit:
            places = f"{cur.minor_unit} decimal place(s)" if cur.minor_unit else "no decimals"
            raise PlanFormatError(
                f"{address} {side}.{name} is {amount} {cur.code}, but {cur.code} amounts have "
                f"{places}: this is not a plan sellersync wrote"
            )
    return resource


def _field_value(name: str, resource: Resource | None) -> Any:
    return None if resource is None else getattr(resource, name)


def _plain(value: Any) -> Any:
    """JSON-ready field value: Decimal as string, sale as its dict, tuples as lists."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
