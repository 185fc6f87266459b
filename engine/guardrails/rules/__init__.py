"""The built-in rules, in the order verdicts list them."""

from engine.guardrails.rules import blast_radius, prices, promotions, stock
from engine.guardrails.rules.base import Rule

BUILTIN_RULES: tuple[Rule, ...] = (
    *promotions.RULES,
    *prices.RULES,
    *blast_radius.RULES,
    *stock.RULES,
)
