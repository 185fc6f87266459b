"""Evaluation: every rule over a changeset and the desired state, turned into
verdicts by level and approvals.

A rule reports findings; what a finding means is decided here, per marketplace:
advisory → warn; soft-mandatory → approved when an unexpired approval in config covers the
rule, marketplace and SKU, else block; hard-mandatory → block, whatever is approved. A rule
that finds nothing anywhere passes once, plan-wide.

`evaluate_config` runs the rules that need nothing live over the config alone, with no change
planned: `sync validate` reports what they block offline (a pre-commit hook, a CI step before
any credentials are at hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from engine.config.model import Config
from engine.desired.render import DesiredState
from engine.desired.resource import address
from engine.guardrails.context import UNKNOWN, GuardrailContext
from engine.guardrails.report import GuardrailReport
from engine.guardrails.rules import BUILTIN_RULES
from engine.guardrails.rules.base import Finding, Inputs, Rule
from engine.guardrails.settings import Settings
from engine.guardrails.verdict import ApprovalUsed, Verdict, ordered
from engine.plan.diff import Changeset
from engine.plan.model import Plan

OFFLINE_RULES: tuple[Rule, ...] = tuple(rule for rule in BUILTIN_RULES if not rule.needs_live)
NO_CHANGES = Changeset((), 0, (), ())


def evaluate(
    plan_or_changeset: Plan | Changeset,
    config: Config,
    desired: DesiredState,
    *,
    now: datetime,
    context: GuardrailContext = UNKNOWN,
    rules: Sequence[Rule] = BUILTIN_RULES,
) -> GuardrailReport:
    """Verdicts of `rules` (default: every built-in rule). `now` decides which sales and
    promotions still matter and which approvals have expired; `context` carries live figures
    (see GuardrailContext: anything unknown is reported as unchecked, never as a pass)."""
    if now.tzinfo is None:
        raise ValueError("evaluate needs a timezone-aware `now`")
    changes = (
        plan_or_changeset.changeset if isinstance(plan_or_changeset, Plan) else plan_or_changeset
    )
    settings = Settings(config, {rule.id: rule.default_level for rule in BUILTIN_RULES})
    inputs = Inputs(config, desired.resources, changes, now, context, settings)
    verdicts: list[Verdict] = []
    for rule in rules:
        findings = list(rule.check(inputs))
        if not findings:
            verdicts.append(Verdict(rule.id, settings.level(rule.id, None), "pass", rule.passes))
        verdicts += [_judge(rule, f, config, settings, now) for f in findings]
    return GuardrailReport(ordered(verdicts))


def evaluate_config(config: Config, desired: DesiredState, *, now: datetime) -> GuardrailReport:
    """Verdicts of the rules that need nothing live (`Rule.needs_live` false) over the
    desired state rendered from the config alone, as of `now`, with no change planned.
    Whatever they block, every plan from this config blocks too, whatever is live."""
    return evaluate(NO_CHANGES, config, desired, now=now, rules=OFFLINE_RULES)


def _judge(
    rule: Rule, finding: Finding, config: Config, settings: Settings, now: datetime
) -> Verdict:
    level = settings.level(rule.id, finding.marketplace)
    where = None if finding.sku is None else address(finding.marketplace, finding.sku)
    verdict = Verdict(rule.id, level, "block", finding.message, finding.marketplace, where)
    if finding.unknown or level == "advisory":
        return replace(verdict, outcome="warn")
    approval = next(
        (a for a in config.approvals if a.covers(rule.id, finding.marketplace, finding.sku, now)),
        None,
    )
    if approval is None:
        return verdict
    if level == "hard-mandatory":
        note = f" (approval by {approval.approver} ignored: {rule.id} is hard-mandatory)"
        return replace(verdict, message=verdict.message + note)
    return replace(verdict, outcome="approved", approval=ApprovalUsed.of(approval))
