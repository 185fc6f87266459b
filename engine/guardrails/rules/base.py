"""What every rule works with: its inputs, its findings, and its registration."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from engine.config.model import Config
from engine.desired.resource import Resource
from engine.guardrails.context import GuardrailContext
from engine.guardrails.settings import Settings
from engine.guardrails.stacking import (
    Discount,
    Floor,
    LowestPrice,
    floor_price,
    listing_discounts,
    lowest_price,
)
from engine.guardrails.verdict import Level
from engine.money import currency
from engine.plan.diff import Changeset, ResourceChange


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a rule objects to. `sku` None: about the marketplace as a whole.
    `unknown`: the rule could not check because a live figure is missing; that is reported
    as a warning whatever the rule's level (it is neither a pass nor an approvable block)."""

    marketplace: str
    sku: str | None
    message: str
    unknown: bool = False


class Inputs:
    """Everything one evaluation looks at, with the per-listing work shared by rules."""

    def __init__(
        self,
        config: Config,
        desired: dict[str, Resource],
        changes: Changeset,
        now: datetime,
        context: GuardrailContext,
        settings: Settings,
    ):
        self.config = config
        self.desired = desired
        self.changes = changes
        self.now = now
        self.context = context
        self.settings = settings

    @cached_property
    def discounts(self) -> dict[str, tuple[Discount, ...]]:
        """Sales and promotions not yet ended, per desired listing address."""
        return {
            address: listing_discounts(self.config, resource, self.now)
            for address, resource in self.desired.items()
        }

    @cached_property
    def lowest(self) -> dict[str, LowestPrice]:
        """The lowest price a buyer can reach, per desired listing address."""
        return {
            address: lowest_price(
                resource.our_price,
                currency(resource.currency),
                self.discounts[address],
                self.now,
            )
            for address, resource in self.desired.items()
        }

    def floor(self, resource: Resource) -> Floor:
        setting = self.settings.listing("promotion_limits.floor", *resource.key)
        product = self.config.products[resource.sku]
        return floor_price(setting, product, self.config.fx, currency(resource.currency))

    def price_changes(self) -> Iterator[ResourceChange]:
        """Updates that change our price, and creates (which set one)."""
        for change in self.changes.changes:
            if change.after is not None and any(f.field == "our_price" for f in change.fields):
                yield change

    def stock_cuts(self) -> Iterator[ResourceChange]:
        """Deletes, and updates that lower the MFN quantity."""
        for change in self.changes.changes:
            if change.action == "delete" or (
                change.action == "update" and _lowers_quantity(change)
            ):
                yield change


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    default_level: Level
    passes: str  # what a pass means, shown when the rule finds nothing
    check: Callable[[Inputs], Iterable[Finding]]


def _lowers_quantity(change: ResourceChange) -> bool:
    before = change.before.quantity if change.before else None
    after = change.after.quantity if change.after else None
    return before is not None and after is not None and after < before


TENTH = Decimal("0.1")


def percent_text(value: Decimal, *, signed: bool = False) -> str:
    """A percentage for messages, to one decimal place without trailing zeros: 40%, -99.1%."""
    rounded = value.quantize(TENTH)
    text = f"{rounded:+f}" if signed else f"{rounded:f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"
