"""A plan file is a claim, not an authority: what `sync apply FILE` checks it against.

The file travels: in CI it is an artifact of the pull request's run, and anyone who can edit
a file can put 1.00 where the reviewed plan said 19.99, or empty its guardrail verdicts. So
apply plans again, from the config it finds and live as it is now, over the marketplaces the
file covers, and compares. It applies the plan it computed itself, and only when the file
says exactly the same thing: the same changes, from the same live state (fingerprints), to
the same values, with the same guardrail verdicts. Nothing the file says is taken on trust;
the file only chooses between "apply what I would compute anyway" and "refuse".

The comparison is pure (`differences`); engine.flows.apply.check_plan_file does the I/O
around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from engine.core.changes import ResourceChange
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.resource import Resource
from engine.guardrails.verdict import OUTCOME_ORDER, Verdict
from engine.plan.model import Plan, fingerprint
from engine.plan.text import field_text

SHOWN = 5  # a file differing in thousands of places names the first few
RESOURCE_FIELDS = tuple(f.name for f in fields(Resource))


class PlanMismatch(UserError):
    """The plan file does not say what the config and live give now; nothing was written."""

    exit_code = ExitCode.STALE_OR_LOCKED

    def __init__(self, path: str, differences: list[str]):
        self.differences = differences
        shown = "; ".join(differences[:SHOWN])
        more = len(differences) - SHOWN
        if more > 0:
            shown += f"; and {more} more difference(s)"
        super().__init__(
            f"{path} is not the plan the config and live give now, nothing was written: "
            f"{shown}. If nobody edited the file, live or the state store changed since it was "
            "made: run `sync plan` again, review the new plan and apply that one"
        )


def differences(claimed: Plan, fresh: Plan, live: Mapping[str, Resource]) -> list[str]:
    """Every way the file `claimed` differs from `fresh` (planned now over the same
    marketplaces), first difference first; empty when apply may go ahead. `live` is what the
    fresh plan read, to tell a change the file invents from one live no longer needs."""
    found: list[str] = []
    if claimed.marketplaces != fresh.marketplaces:
        found.append(
            f"the file covers marketplaces {_codes(claimed.marketplaces)}, "
            f"planned now: {_codes(fresh.marketplaces)}"
        )
    ours = {c.address: c for c in fresh.changes}
    theirs = {c.address: c for c in claimed.changes}
    for change in claimed.changes:
        found += _change_differences(claimed, change, ours.get(change.address), live)
    for change in fresh.changes:
        if change.address not in theirs:
            found.append(
                f"{change.address} needs a change ({change.action}: {_fields(change)}) "
                "that the file does not list"
            )
    found += _verdict_differences(claimed.guardrails, fresh.guardrails)
    return found


def _change_differences(
    claimed: Plan,
    change: ResourceChange,
    fresh: ResourceChange | None,
    live: Mapping[str, Resource],
) -> list[str]:
    where = change.address
    recorded = claimed.live_fingerprints.get(where)
    if recorded != fingerprint(change.before):
        return [f"{where}: its recorded before-state does not match its live fingerprint"]
    if fresh is None:
        if recorded != fingerprint(live.get(where)):
            return [f"{where} changed live since the plan was made"]
        return [
            f"{where}: the file {change.action}s it ({_fields(change)}), which no longer "
            "follows from the config and live"
        ]
    if fingerprint(fresh.before) != recorded:
        return [f"{where} changed live since the plan was made"]
    if change.action != fresh.action:
        return [f"{where}: the file says {change.action}, planned now: {fresh.action}"]
    return _value_differences(where, change.after, fresh.after)


def _value_differences(where: str, claimed: Resource | None, fresh: Resource | None) -> list[str]:
    """The first field (in Resource order) whose value differs: it names the listing and
    the field; the rest add nothing a person would act on."""
    if claimed is None or fresh is None:
        return [] if claimed is fresh else [f"{where}: the file and the plan made now disagree"]
    cur = fresh.currency
    for name in RESOURCE_FIELDS:
        theirs, ours = getattr(claimed, name), getattr(fresh, name)
        if theirs != ours:
            return [
                f"{where} {name}: {field_text(theirs, name, cur)} in the file, "
                f"{field_text(ours, name, cur)} planned now"
            ]
    return []


def _verdict_differences(claimed: tuple[Verdict, ...], fresh: tuple[Verdict, ...]) -> list[str]:
    """Verdicts are compared by rule, level, outcome and scope (their messages may word live
    figures differently from one read to the next)."""
    theirs = sorted(_verdict_key(v) for v in claimed)  # blocks and approvals first
    ours = sorted(_verdict_key(v) for v in fresh)
    if theirs == ours:
        return []
    missing = [k for k in ours if k not in theirs]
    extra = [k for k in theirs if k not in ours]
    found = [f"guardrail {_verdict_text(k)} is missing from the file" for k in missing]
    found += [
        f"the file has guardrail {_verdict_text(k)}, planned now: no such verdict" for k in extra
    ]
    return found or ["the guardrail verdicts are counted differently in the file"]


VerdictKey = tuple[int, str, str, str, str]


def _verdict_key(verdict: Verdict) -> VerdictKey:
    order = OUTCOME_ORDER.index(verdict.outcome)
    return (order, verdict.rule, verdict.level, verdict.outcome, verdict.scope)


def _verdict_text(key: VerdictKey) -> str:
    _, rule, level, outcome, scope = key
    return f"{rule} ({level}) {outcome} at {scope}"


def _fields(change: ResourceChange) -> str:
    resource = change.after or change.before
    cur = "" if resource is None else resource.currency
    shown = [
        f"{f.field} {field_text(f.before, f.field, cur)} -> {field_text(f.after, f.field, cur)}"
        for f in change.fields
    ]
    return ", ".join(shown) or "no field"


def _codes(codes: tuple[str, ...]) -> str:
    return ", ".join(codes) or "none"
