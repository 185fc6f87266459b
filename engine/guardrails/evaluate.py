"""Evaluation: every rule over a changeset and the desired state, turned into
verdicts by level and approvals.

A rule reports findings; what a finding means is decided here, per marketplace:
advisory → warn; soft-mandatory → approved when an unexpired approval in config covers it,
else block; hard-mandatory → block, whatever is approved. A rule that finds nothing anywhere
passes once, plan-wide. The rule that guards the guardrails (`Rule.approved_earlier`) is
hard-mandatory, yet an approval the last successful apply already ran under covers it: that
approval was reviewed and applied in an earlier change than the weakening it approves.

An approval covers a finding when its rule and scope (marketplaces, SKUs) take it in, it has
not expired, and it approves what the finding is about (`approves`: the value, a range, or
the fingerprint the plan prints). A finding whose only approvals in scope approve something
else says so (a stale approval: the change was edited after it was reviewed); one whose
approval has expired says when. Approvals that cover no finding of the rules evaluated are
reported, so that they get cleaned up rather than wait to approve a later change nobody
reviewed.

`evaluate_config` runs the rules that need nothing live over the config alone, with no change
planned: `sync validate` reports what they block offline (a pre-commit hook, a CI step before
any credentials are at hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from engine.config.model import Approval, Config
from engine.core.changes import Changeset
from engine.core.resource import address
from engine.desired.render import DesiredState
from engine.guardrails.context import UNKNOWN, GuardrailContext
from engine.guardrails.report import GuardrailReport
from engine.guardrails.rules import BUILTIN_RULES
from engine.guardrails.rules.base import Finding, Inputs, Rule
from engine.guardrails.settings import Settings
from engine.guardrails.verdict import ApprovalUsed, Verdict, minute, ordered

OFFLINE_RULES: tuple[Rule, ...] = tuple(rule for rule in BUILTIN_RULES if not rule.needs_live)
NO_CHANGES = Changeset((), 0, (), ())


def evaluate(
    changes: Changeset,
    config: Config,
    desired: DesiredState,
    *,
    now: datetime,
    context: GuardrailContext = UNKNOWN,
    rules: Sequence[Rule] = BUILTIN_RULES,
    marketplaces: Sequence[str] | None = None,
) -> GuardrailReport:
    """Verdicts of `rules` (default: every built-in rule). `now` decides which sales and
    promotions still matter and which approvals have expired; `context` carries live figures
    and the baseline of the last apply (see GuardrailContext: anything unknown is reported
    as unchecked, never as a pass); `marketplaces`: those the plan covers (default: every
    enabled one)."""
    if now.tzinfo is None:
        raise ValueError("evaluate needs a timezone-aware `now`")
    settings = Settings(config, {rule.id: rule.default_level for rule in BUILTIN_RULES})
    inputs = Inputs(config, desired.resources, changes, now, context, settings, marketplaces)
    judge = _Judge(config, settings, context, now)
    verdicts: list[Verdict] = []
    for rule in rules:
        findings = list(rule.check(inputs))
        if not findings:
            verdicts.append(Verdict(rule.id, settings.level(rule.id, None), "pass", rule.passes))
        verdicts += [judge(rule, f) for f in findings]
    verdicts += judge.unused({rule.id for rule in rules}, inputs.marketplaces)
    return GuardrailReport(ordered(verdicts))


def evaluate_config(config: Config, desired: DesiredState, *, now: datetime) -> GuardrailReport:
    """Verdicts of the rules that need nothing live (`Rule.needs_live` false) over the
    desired state rendered from the config alone, as of `now`, with no change planned.
    Whatever they block, every plan from this config blocks too, whatever is live."""
    return evaluate(NO_CHANGES, config, desired, now=now, rules=OFFLINE_RULES)


class _Judge:
    """Turns findings into verdicts, remembering which approvals took part (covered a
    finding, or were in its scope), for the report of approvals that match nothing."""

    def __init__(
        self, config: Config, settings: Settings, context: GuardrailContext, now: datetime
    ):
        self.config = config
        self.settings = settings
        self.baseline = context.baseline
        self.now = now
        self.involved: set[int] = set()  # positions in config.approvals

    def __call__(self, rule: Rule, finding: Finding) -> Verdict:
        level = self.settings.level(rule.id, finding.marketplace)
        where = None if finding.sku is None else address(finding.marketplace or "", finding.sku)
        fingerprint = finding.fingerprint(rule.id)
        verdict = Verdict(
            rule.id,
            level,
            "block",
            finding.message,
            finding.marketplace,
            where,
            fingerprint=fingerprint,
            value=_value_text(finding.value),
            promotions=finding.promotions,
        )
        if finding.unknown or level == "advisory":
            return replace(verdict, outcome="warn")
        in_scope = [
            (i, a)
            for i, a in enumerate(self.config.approvals)
            if a.in_scope(rule.id, finding.marketplace, finding.sku)
        ]
        self.involved.update(i for i, _ in in_scope)
        matching = [a for _, a in in_scope if a.target.matches(finding.value, fingerprint)]
        if rule.approved_earlier:
            earlier = [a for a in matching if self._applied_earlier(a)]
            covering = next((a for a in earlier if self.now < a.expires), None)
            if covering is not None:
                return replace(verdict, outcome="approved", approval=ApprovalUsed.of(covering))
            return _noted(verdict, self._why_not_earlier(matching, earlier, in_scope))
        covering = next((a for a in matching if self.now < a.expires), None)
        if covering is None:
            return _noted(verdict, self._why_not(matching, in_scope, finding))
        if level == "hard-mandatory":
            return _noted(
                verdict, f"approval by {covering.approver} ignored: {rule.id} is hard-mandatory"
            )
        return replace(verdict, outcome="approved", approval=ApprovalUsed.of(covering))

    def _applied_earlier(self, approval: Approval) -> bool:
        return self.baseline is not None and self.baseline.approved_earlier(approval)

    def _why_not(
        self, matching: list[Approval], in_scope: list[tuple[int, Approval]], finding: Finding
    ) -> str | None:
        if matching:  # all expired
            latest = max(matching, key=lambda a: a.expires)
            return f"approval by {latest.approver} expired at {minute(latest.expires)}"
        if in_scope:
            stale = in_scope[0][1]
            what = _value_text(finding.value)
            found = f"this finding is about {what}" if what is not None else "not this finding"
            return (
                f"stale approval by {stale.approver} ({stale.where()}) approves "
                f"{stale.target.describe()}; {found}"
            )
        return None

    def _why_not_earlier(
        self,
        matching: list[Approval],
        earlier: list[Approval],
        in_scope: list[tuple[int, Approval]],
    ) -> str | None:
        if earlier:  # all expired
            latest = max(earlier, key=lambda a: a.expires)
            return f"approval by {latest.approver} expired at {minute(latest.expires)}"
        if matching:
            return (
                f"approval by {matching[0].approver} ({matching[0].where()}) does not count: "
                "it was not applied before this change; apply it on its own first"
            )
        if in_scope:
            stale = in_scope[0][1]
            return (
                f"stale approval by {stale.approver} ({stale.where()}) approves "
                f"{stale.target.describe()}"
            )
        return None

    def unused(self, rule_ids: set[str], marketplaces: Sequence[str]) -> list[Verdict]:
        """A warning per approval of an evaluated rule that no finding was in scope of,
        where the plan covers any of its marketplaces."""
        planned = set(marketplaces)
        found = []
        for i, approval in enumerate(self.config.approvals):
            if i in self.involved or approval.rule not in rule_ids:
                continue
            if approval.marketplaces is not None and not planned & set(approval.marketplaces):
                continue
            if approval.expires <= self.now:
                state = f"expired at {minute(approval.expires)}"
            elif approval.rule in _EARLIER_RULES and not self._applied_earlier(approval):
                state = "matches no finding yet; it counts once applied, for a later change"
            else:
                state = "matches no finding in this plan"
            found.append(
                Verdict(
                    approval.rule,
                    self.settings.level(approval.rule, None),
                    "warn",
                    f"approval by {approval.approver} ({approval.where()}) for "
                    f"{approval.target.describe()} {state}; remove it from approvals.yaml "
                    "once it has served",
                )
            )
        return found


_EARLIER_RULES = frozenset(rule.id for rule in BUILTIN_RULES if rule.approved_earlier)


def _noted(verdict: Verdict, note: str | None) -> Verdict:
    return verdict if note is None else replace(verdict, message=f"{verdict.message} ({note})")


def _value_text(value: Decimal | str | None) -> str | None:
    if value is None:
        return None
    return f"{value:f}" if isinstance(value, Decimal) else value
