"""What the rules need from outside the config: plain data, each part optional.

The guardrails are pure, so whoever runs them (the plan command, over the SP-API backend or
the sandbox) reads orders and account health and passes them in. `None` means *unknown*,
never zero: a rule that needs an unknown figure says so with a warning instead of passing
silently or blocking every plan of a seller whose figures cannot be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.guardrails.baseline import GuardrailBaseline


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One marketplace's account-health figures, in percent (None: not reported)."""

    cancellation_rate_pct: Decimal | None = None  # 7-day pre-fulfilment cancellation rate
    order_defect_rate_pct: Decimal | None = None  # 60-day order defect rate


@dataclass(frozen=True, slots=True)
class GuardrailContext:
    """Live facts for one evaluation.

    open_order_units: units in open unshipped orders per (marketplace, SKU); a listing
        missing from a known mapping has none. None: orders were not read.
    account_health: figures per marketplace code; a marketplace missing is unknown.
    live_listing_counts: listings live per marketplace, unmanaged ones included. None:
        counted from the plan (listings it updates, deletes or leaves unchanged).
    baseline: the guardrail settings, fx rates and weakening approvals the last successful
        apply ran under (engine.guardrails.baseline). None: no apply recorded one yet, so
        weakenings and rate moves cannot be measured.
    """

    open_order_units: Mapping[tuple[str, str], int] | None = None
    account_health: Mapping[str, AccountHealth] | None = None
    live_listing_counts: Mapping[str, int] | None = None
    baseline: GuardrailBaseline | None = None


UNKNOWN = GuardrailContext()
