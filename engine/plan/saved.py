"""The plan as `sync plan` writes it (`--out`, `--json`) and `sync show` reads it back: the
plan file, plus what explains the plan to a person.

`Plan` is what `sync apply` checks and makes live. A person reading a plan also needs what
the plan left out and why: the listings held for review, the notes on what it was computed
without (orders never pulled), and how its drift reads (which differences are drift, which
are expected). Those are recorded beside the plan in the same file, so `sync show FILE`
prints exactly the text `sync plan` printed, and `sync plan --json` carries them for
machines. Apply ignores them: it plans again and compares only what it would make live.

Pure: a SavedPlan is built from values and rendered to text or JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core.fieldjson import decode
from engine.plan.drift import DriftedValue, DriftReport, ExpectedDifference, expected_lines
from engine.plan.model import FORMAT_VERSION, Plan, _plain
from engine.plan.text import blocked_line, render_text
from engine.plan.validate import parse_plan_json


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A listing the plan leaves alone until a person looks at it."""

    address: str
    reason: str


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan with its review list, notes and drift report (see the module docstring)."""

    plan: Plan
    drift: DriftReport
    review: tuple[ReviewItem, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, plan: Plan, drift: DriftReport, review: Sequence[ReviewItem], notes: Sequence[str]
    ) -> SavedPlan:
        return cls(
            plan, drift, tuple(ReviewItem(r.address, r.reason) for r in review), tuple(notes)
        )

    def to_json(self) -> dict[str, Any]:
        """The plan file's JSON with `needs_review`, `notes` and `drift_report` added."""
        return {
            **self.plan.to_json(),
            "needs_review": [{"address": r.address, "reason": r.reason} for r in self.review],
            "notes": list(self.notes),
            "drift_report": {
                "drifted": [
                    {"address": d.address, "field": d.field, "currency": d.currency, "hint": d.hint}
                    for d in self.drift.drifted
                ],
                "expected": [
                    {
                        "address": e.address,
                        "field": e.field,
                        "live": _plain(e.live),
                        "kind": e.kind,
                        "reason": e.reason,
                    }
                    for e in self.drift.expected
                ],
                "restocks": self.drift.restocks,
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> SavedPlan:
        """A plan file read back (PlanFormatError when it is not one). A file written without
        the explanation (by `plan.dumps()`) reads as a plan whose drift is all drift."""
        data = parse_plan_json(text, FORMAT_VERSION)
        plan = Plan.from_json(data)
        report = data.get("drift_report", {"drifted": None, "expected": [], "restocks": 0})
        return cls(
            plan,
            _drift_report(plan, report),
            tuple(ReviewItem(r["address"], r["reason"]) for r in data.get("needs_review", ())),
            tuple(data.get("notes", ())),
        )

    def text(self, *, color: bool = False) -> str:
        """What `sync plan` prints: drift, listings held for review, listings held by a
        breaker and what the plan was computed without first (they explain the plan), then
        the plan with its guardrail verdicts."""
        plan = self.plan
        lines: list[str] = []
        if plan.target:
            lines += [targeted_warning(plan.target), ""]
        drifted = self.drift.drifted
        if drifted:
            lines.append(
                f"Note: {len(drifted)} field(s) changed outside sellersync since the last "
                "apply (drift):"
            )
            lines += [f"  {d.address} {d.describe()}" for d in drifted]
            lines.append("")
        if self.drift.expected:
            lines.append(
                f"Note: {len(self.drift.expected)} difference(s) since the last apply are "
                "expected, not drift:"
            )
            lines += [f"  {line}" for line in expected_lines(self.drift)]
            lines.append("")
        if self.review:
            lines.append(f"{len(self.review)} listing(s) need review and are not planned:")
            lines += [f"  {item.address}: {item.reason}" for item in self.review]
            lines.append("")
        if plan.held:
            lines.append(f"{len(plan.held)} listing(s) held by a tripped breaker:")
            lines += [f"  {h.message}" for h in plan.held]
            lines.append("")
        for note in self.notes:
            lines += [f"Note: {note}", ""]
        lines.append(render_text(plan.changeset, color=color, verdicts=plan.guardrails))
        blocked = blocked_line(plan.guardrails)
        if blocked is not None:
            lines += ["", blocked]
        return "\n".join(lines)


def targeted_warning(target: Sequence[str]) -> str:
    """What a targeted plan says first, as Terraform warns about -target."""
    return (
        f"Warning: this plan is targeted (--sku {' --sku '.join(target)}): it covers only the "
        "listings whose SKU matches, so it may not show everything the config asks for. "
        "Targeting is for exceptional cases, such as fixing one listing; plan without --sku "
        "to see the whole account."
    )


def _drift_report(plan: Plan, report: Mapping[str, Any]) -> DriftReport:
    """The drift report the file recorded, rebuilt over the plan's drift entries."""
    values = {(d.address, d.field): d for d in plan.drift}
    if report["drifted"] is None:  # no explanation recorded: every difference is drift
        shown = [{"address": a, "field": f, "currency": "", "hint": ""} for a, f in values]
    else:
        shown = report["drifted"]
    drifted = []
    for item in shown:
        entry = values.get((item["address"], item["field"]))
        if entry is None:
            continue
        decoded = (
            decode({entry.field: entry.last_applied})[entry.field],
            decode({entry.field: entry.live})[entry.field],
        )
        drifted.append(
            DriftedValue(entry.address, entry.field, *decoded, item["currency"], item["hint"])
        )
    expected = tuple(
        ExpectedDifference(
            e["address"],
            e["field"],
            decode({e["field"]: e["live"]})[e["field"]],
            e["kind"],
            e["reason"],
        )
        for e in report["expected"]
    )
    return DriftReport(plan, tuple(drifted), (), 0, expected=expected, restocks=report["restocks"])
