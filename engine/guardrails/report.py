"""The result of an evaluation, and the gate `sync apply` goes through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.guardrails.verdict import Verdict, minute

EXIT_BLOCKED = ExitCode.BLOCKED


@dataclass(frozen=True, slots=True)
class GuardrailReport:
    verdicts: tuple[Verdict, ...]  # blocks first (see verdict.ordered)

    @property
    def blocked(self) -> bool:
        """Whether apply must refuse: a finding no unexpired, matching approval covers."""
        return any(v.outcome == "block" for v in self.verdicts)

    def outcomes(self) -> dict[str, int]:
        counts = {"block": 0, "approved": 0, "warn": 0, "pass": 0}
        for verdict in self.verdicts:
            counts[verdict.outcome] += 1
        return counts


class GuardrailsBlocked(UserError):
    """A plan with findings nothing approves: apply writes nothing (exit 3)."""

    exit_code = EXIT_BLOCKED

    def __init__(self, blocks: list[Verdict]):
        super().__init__(f"plan blocked by {len(blocks)} guardrail finding(s); nothing was applied")
        self.blocks = blocks

    def lines(self) -> list[str]:
        return [str(self)] + [f"  {v.describe()}" for v in self.blocks]


def ensure_applicable(verdicts: Sequence[Verdict], *, now: datetime | None = None) -> None:
    """Raise GuardrailsBlocked when a plan's verdicts carry a block. Given the apply time, an
    approval that has expired since the plan was made approves nothing any more either,
    and the refusal says so: "approval by X expired at T"."""
    blocks = [v for v in verdicts if v.outcome == "block"]
    if now is not None:
        blocks += [
            expired(v)
            for v in verdicts
            if v.outcome == "approved" and v.approval is not None and v.approval.expires <= now
        ]
    if blocks:
        raise GuardrailsBlocked(blocks)


def expired(verdict: Verdict) -> Verdict:
    """An approved verdict whose approval has expired, as the block it is now."""
    approval = verdict.approval
    assert approval is not None
    note = f"approval by {approval.approver} expired at {minute(approval.expires)}"
    return replace(verdict, outcome="block", approval=None, message=f"{verdict.message} ({note})")
