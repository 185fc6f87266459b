"""The built-in rules, in the order verdicts list them."""

from engine.guardrails.rules import blast_radius, fx, prices, promotions, stock, weakening
from engine.guardrails.rules.base import Rule

BUILTIN_RULES: tuple[Rule, ...] = (
    *weakening.RULES,
    *promotions.RULES,
    *prices.RULES,
    *fx.RULES,
    *blast_radius.RULES,
    *stock.RULES,
)
