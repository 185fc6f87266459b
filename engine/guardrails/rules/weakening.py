"""The guardrail that guards the guardrails: a change may not weaken the rules that judge it.

A pull request that declares a 99 % promotion could set `price_floor` and `max_discount` to
advisory for that marketplace in the same diff, and its plan would show two warnings. So the
config's guardrail settings are compared with the ones the last successful apply ran under
(engine.guardrails.baseline): a level lowered, a limit raised (maximum discount, duration,
units cap, change sizes, blast radius, account-health levels), or a floor lowered or removed
is a hard-mandatory finding. Only an approval that was itself applied in an earlier change
(recorded in the baseline, and still in approvals.yaml) covers it, like a policy set that
lives apart from the code it checks: whoever may approve a weakening approves it on its own,
before the change that relies on it. An approval added in the same change counts for
nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.guardrails.baseline import WEAKENING_RULE, Weakening, snapshot, weakenings
from engine.guardrails.rules.base import Finding, Inputs, Rule


def check_guardrail_weakening(inputs: Inputs) -> Iterator[Finding]:
    """Every guardrail setting of the planned marketplaces at least as strict as the
    baseline's; without a baseline (before the first successful apply) one warning says
    that nothing was compared."""
    baseline = inputs.context.baseline
    if baseline is None:
        yield Finding(
            None,
            None,
            "guardrail settings not compared with the last applied ones: no successful apply "
            "has recorded them yet (the first one does); until then a change can weaken them "
            "unseen",
            unknown=True,
        )
        return
    config = inputs.config
    now = snapshot(config, inputs.settings, inputs.marketplaces)

    def listed(code: str, sku: str) -> bool:
        return sku in config.products and config.marketplaces[code].lists(sku)

    for found in weakenings(baseline, now, inputs.marketplaces, listed):
        yield Finding(
            found.marketplace,
            found.sku,
            _message(found),
            value=found.value,
            subject=f"{found.setting} {found.before} -> {found.after}",
        )


def _message(found: Weakening) -> str:
    return (
        f"{found.setting}: {found.why} since the last apply; a guardrail may not be weakened "
        "in the change it checks: approve the weakening in an earlier, separate change "
        "(docs/guardrails.md)"
    )


RULES = (
    Rule(
        WEAKENING_RULE,
        "hard-mandatory",
        "no guardrail is weaker than at the last apply",
        check_guardrail_weakening,
        needs_live=True,
        approved_earlier=True,
    ),
)
