"""What every rule works with: its inputs, its findings, and its registration."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from engine.config.model import Config
from engine.core.changes import Changeset, ResourceChange
from engine.core.money import currency
from engine.core.resource import Resource
from engine.desired.pricing import FloorRule
from engine.guardrails.context import GuardrailContext
from engine.guardrails.settings import Settings
from engine.guardrails.stacking import (
    Discount,
    Floor,
    LowestPrice,
    lowest_price,
    upcoming_discounts,
)
from engine.guardrails.verdict import Level


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a rule objects to. `sku` None: about the marketplace as a whole;
    `marketplace` None too: about the whole plan. `unknown`: the rule could not check
    because a figure is missing; that is reported as a warning whatever the rule's level
    (it is neither a pass nor an approvable block).

    `value` is what the finding is about (the price written, the discount depth, the new
    limit): an approval's `approves.value` or range is matched against it. `subject` is
    what identifies the finding for its fingerprint (default: the message); a rule whose
    message quotes live figures that move between plan and apply (rates, counts of live
    listings) gives the facts of the change instead, so that an approval by fingerprint
    keeps covering the same change. `promotions`: the declared promotions it is about."""

    marketplace: str | None
    sku: str | None
    message: str
    unknown: bool = False
    value: Decimal | str | None = None
    subject: str | None = None
    promotions: tuple[str, ...] = ()

    def fingerprint(self, rule: str) -> str:
        """12 hex digits naming this finding of `rule`: what `approves.fingerprint` pins."""
        facts = "\x1f".join(
            (rule, self.marketplace or "", self.sku or "", self.subject or self.message)
        )
        return hashlib.sha256(facts.encode("utf-8")).hexdigest()[:12]


# The fields that bound what a buyer pays: a change to any of them (directly, or through a
# cost, fx rate, tax delta, ending or floor the config changed) is judged like a price.
PRICE_FIELDS = ("our_price", "minimum_seller_allowed_price", "maximum_seller_allowed_price")


class Inputs:
    """Everything one evaluation looks at, with the per-listing work shared by rules.

    The listing rules run over every desired listing (a million in a large account), so the
    work per listing is kept to what a listing can differ in: most listings have no sale or
    promotion reaching them (their lowest price is their own price) and inherit their
    marketplace's limits (looked up once per marketplace, see `Settings.listing`). Sales
    and promotions are matched per marketplace first, then per SKU.
    """

    def __init__(
        self,
        config: Config,
        desired: dict[str, Resource],
        changes: Changeset,
        now: datetime,
        context: GuardrailContext,
        settings: Settings,
        marketplaces: Sequence[str] | None = None,
    ):
        self.config = config
        self.desired = desired
        self.changes = changes
        self.now = now
        self.context = context
        self.settings = settings
        # The marketplaces planned (a plan with -m covers some): settings-wide rules judge these.
        self.marketplaces = tuple(config.marketplaces if marketplaces is None else marketplaces)
        self._floor_rules: dict[str, FloorRule] = {}  # per marketplace, for inheriting listings

    @cached_property
    def discounts(self) -> dict[str, tuple[Discount, ...]]:
        """Sales and promotions not yet ended, per desired listing address; listings that
        none reaches are left out."""
        reaching = upcoming_discounts(self.config, self.now)
        found: dict[str, tuple[Discount, ...]] = {}
        for address, resource in self.desired.items():
            candidates = reaching.get(resource.marketplace)
            if candidates:
                discounts = candidates.on(resource)
                if discounts:
                    found[address] = discounts
        return found

    @cached_property
    def _lowest(self) -> dict[str, LowestPrice]:
        found = {}
        for address, discounts in self.discounts.items():
            resource = self.desired[address]
            cur = currency(resource.currency)
            found[address] = lowest_price(resource.our_price, cur, discounts, self.now)
        return found

    def lowest(self, address: str) -> LowestPrice:
        """The lowest price a buyer can reach on a desired listing: its own price now when
        no discount reaches it."""
        found = self._lowest.get(address)
        if found is None:
            return LowestPrice(self.desired[address].our_price, self.now, ())
        return found

    def lowest_amount(self, address: str, resource: Resource) -> Decimal:
        """`lowest(address).price` without building a LowestPrice for undiscounted listings."""
        found = self._lowest.get(address)
        return resource.our_price if found is None else found.price

    def floor_amount(self, resource: Resource) -> Decimal:
        """The listing's floor price (`floor(resource).price`, without its description)."""
        product = self.config.products[resource.sku]
        return self._floor_rule(resource).price(
            product, self.config.fx, currency(resource.currency)
        )

    def floor(self, resource: Resource) -> Floor:
        """The listing's floor with how it was worked out, for messages."""
        basis = self._floor_rule(resource).basis(self.config.products[resource.sku])
        return Floor(self.floor_amount(resource), basis)

    def _floor_rule(self, resource: Resource) -> FloorRule:
        code, sku = resource.key
        if not self.settings.inherits(code, sku):
            return FloorRule.parse(self.settings.listing("promotion_limits.floor", code, sku))
        rule = self._floor_rules.get(code)
        if rule is None:
            setting = self.settings.listing("promotion_limits.floor", code, sku)
            rule = self._floor_rules[code] = FloorRule.parse(setting)
        return rule

    @cached_property
    def floors_before(self) -> dict[str, Decimal]:
        """Per address, the minimum seller allowed price live when the plan lowers it by a
        config change (not when it restores drift): the floor the listing had. A price that
        falls in the same change as its floor is checked against the floor it had, or the
        lowered floor would vouch for the lowered price (a cost or rate typo lowers both)."""
        found: dict[str, Decimal] = {}
        for change in self.changes.changes:
            if change.action != "update":
                continue
            for field in change.fields:
                if (
                    field.field == "minimum_seller_allowed_price"
                    and field.cause != "drift"
                    and field.before is not None
                    and (field.after is None or field.after < field.before)
                ):
                    found[change.address] = field.before
        return found

    def guarding_floor(self, address: str, resource: Resource) -> Decimal:
        """The floor a listing's prices are checked against: its floor now, or the one it
        had when this plan lowers it (`floors_before`)."""
        floor = self.floor_amount(resource)
        before = self.floors_before.get(address)
        return floor if before is None or before <= floor else before

    def price_changes(self) -> Iterator[ResourceChange]:
        """Creates, and updates that change a field bounding what a buyer pays
        (PRICE_FIELDS)."""
        for change in self.changes.changes:
            if change.after is not None and any(f.field in PRICE_FIELDS for f in change.fields):
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
    """A guardrail. `needs_live`: whether its verdict depends on anything beyond the config
    and the time, i.e. the changeset (live before-values), live figures in the context
    (orders, account health, listing counts) or quantities allocated from live stock. A rule
    that needs nothing live (a promotion stacked below the floor is wrong whatever Amazon
    holds) also runs in `sync validate`, offline, with no change planned."""

    id: str
    default_level: Level
    passes: str  # what a pass means, shown when the rule finds nothing
    check: Callable[[Inputs], Iterable[Finding]]
    needs_live: bool
    # Approved only by an approval the last successful apply already ran under (the
    # baseline), whatever its level: for the rule that guards the guardrails themselves.
    approved_earlier: bool = False


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
