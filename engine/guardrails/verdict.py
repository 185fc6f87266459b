"""Verdicts: what one rule concluded about one listing, one marketplace or the whole plan.

Verdicts are plain data that travel in the plan file, so `sync apply` can refuse a plan from
the file alone, and a reviewer sees the approval that let a finding through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from engine.config.model import Approval

Level = Literal["advisory", "soft-mandatory", "hard-mandatory"]
Outcome = Literal["pass", "warn", "block", "approved"]

LEVELS: tuple[Level, ...] = ("advisory", "soft-mandatory", "hard-mandatory")
# Display order: what stops apply first, then what a reviewer approved, then the rest.
OUTCOME_ORDER: tuple[Outcome, ...] = ("block", "approved", "warn", "pass")


@dataclass(frozen=True, slots=True)
class ApprovalUsed:
    """The approval that let a soft-mandatory finding through, as recorded in the plan."""

    rule: str
    marketplaces: tuple[str, ...] | None
    skus: tuple[str, ...] | None
    reason: str
    approver: str
    expires: datetime
    approves: str = ""  # what it approves, as ApprovalTarget.describe says it

    @classmethod
    def of(cls, approval: Approval) -> ApprovalUsed:
        return cls(
            rule=approval.rule,
            marketplaces=approval.marketplaces,
            skus=None if approval.skus is None else approval.skus.patterns,
            reason=approval.reason,
            approver=approval.approver,
            expires=approval.expires,
            approves=approval.target.describe(),
        )

    def describe(self) -> str:
        what = f" ({self.approves})" if self.approves else ""
        return f"approved{what} by {self.approver} until {minute(self.expires)}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "marketplaces": None if self.marketplaces is None else list(self.marketplaces),
            "skus": None if self.skus is None else list(self.skus),
            "reason": self.reason,
            "approver": self.approver,
            "expires": _iso(self.expires),
            "approves": self.approves,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalUsed:
        markets, skus = data["marketplaces"], data["skus"]
        return cls(
            rule=data["rule"],
            marketplaces=None if markets is None else tuple(markets),
            skus=None if skus is None else tuple(skus),
            reason=data["reason"],
            approver=data["approver"],
            expires=datetime.fromisoformat(data["expires"].replace("Z", "+00:00")),
            approves=data.get("approves", ""),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's conclusion. `address` None: about a whole marketplace; `marketplace` None
    too: about the whole plan (a rule that found nothing anywhere passes plan-wide)."""

    rule: str
    level: Level
    outcome: Outcome
    message: str
    marketplace: str | None = None
    address: str | None = None
    approval: ApprovalUsed | None = None
    # What an approval pins (engine.config.model.ApprovalTarget): the finding's fingerprint,
    # and its value as text; None for passes. `promotions`: the declared promotions it is
    # about (Seller Central creates those, so the plan tells the seller not to).
    fingerprint: str | None = None
    value: str | None = None
    promotions: tuple[str, ...] = ()

    @property
    def scope(self) -> str:
        if self.address is not None:
            return self.address
        return "plan" if self.marketplace is None else f"marketplace {self.marketplace}"

    def describe(self) -> str:
        """One line: the rule, its level, where, what, and the approval that let it through."""
        text = f"{self.rule} ({self.level}) {self.scope}: {self.message}"
        return text if self.approval is None else f"{text}; {self.approval.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level,
            "outcome": self.outcome,
            "marketplace": self.marketplace,
            "address": self.address,
            "message": self.message,
            "approval": None if self.approval is None else self.approval.to_dict(),
            "fingerprint": self.fingerprint,
            "value": self.value,
            "promotions": list(self.promotions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        approval = data.get("approval")
        return cls(
            rule=data["rule"],
            level=data["level"],
            outcome=data["outcome"],
            message=data["message"],
            marketplace=data.get("marketplace"),
            address=data.get("address"),
            approval=None if approval is None else ApprovalUsed.from_dict(approval),
            fingerprint=data.get("fingerprint"),
            value=data.get("value"),
            promotions=tuple(data.get("promotions", ())),
        )


def ordered(verdicts: Iterable[Verdict]) -> tuple[Verdict, ...]:
    """Blocks first, then approved findings, warnings and passes; stable within each."""
    return tuple(sorted(verdicts, key=lambda v: OUTCOME_ORDER.index(v.outcome)))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def minute(value: datetime) -> str:
    """A time for messages, to the minute in UTC ("2026-12-03T08:00Z"): a reviewer reads
    windows and expiries, and microseconds of the moment a plan ran are noise."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
