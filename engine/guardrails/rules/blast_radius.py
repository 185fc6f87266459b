"""Blast radius: how much of a marketplace one apply touches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

from engine.guardrails.rules.base import PRICE_FIELDS, Finding, Inputs, Rule, percent_text
from engine.guardrails.stacking import HUNDRED


def check_blast_radius(inputs: Inputs) -> Iterator[Finding]:
    """Blast radius, per marketplace: repricing more than `max_price_change_share_pct` of
    its live listings (from `min_price_changes` changes on), or more than `max_deletes`
    deletes, needs approval. A listing counts as repriced when the plan changes our price
    or a minimum or maximum seller allowed price: a wrong FX rate, cost or price rule moves
    them everywhere at once, and a lowered minimum is a price Amazon will then accept. A
    wrong prune deletes listings whose reviews and rank do not come back. When live
    counts are not known they are counted from the plan (managed listings only), which
    only makes the share larger."""
    changes = inputs.changes.changes
    repriced = Counter(
        c.marketplace
        for c in changes
        if c.action == "update" and any(f.field in PRICE_FIELDS for f in c.fields)
    )
    deletes = Counter(c.marketplace for c in changes if c.action == "delete")
    live = inputs.context.live_listing_counts or _managed_live_counts(inputs)
    settings = inputs.settings
    for code in inputs.marketplaces:
        count, total = repriced[code], live.get(code, 0)
        share_limit = settings.percent("guardrails.blast_radius.max_price_change_share_pct", code)
        least = int(settings.marketplace("guardrails.blast_radius.min_price_changes", code))
        if total and count >= least and count * HUNDRED / total > share_limit:
            yield Finding(
                code,
                None,
                f"{count} of {total} live listings change a price or price bound "
                f"({percent_text(count * HUNDRED / total)}); more than "
                f"{percent_text(share_limit)} of a marketplace in one apply needs approval",
                value=Decimal(count),
                subject=f"{count} repriced",
            )
        allowed = int(settings.marketplace("guardrails.blast_radius.max_deletes", code))
        if deletes[code] > allowed:
            yield Finding(
                code,
                None,
                f"{deletes[code]} listing(s) deleted; more than {allowed} in one apply "
                "needs approval",
                value=Decimal(deletes[code]),
                subject=f"{deletes[code]} deleted",
            )


def _managed_live_counts(inputs: Inputs) -> Counter[str]:
    """Listings live per marketplace that the plan knows of: desired ones it does not
    create, plus the ones it deletes."""
    counts = Counter(r.marketplace for r in inputs.desired.values())
    for change in inputs.changes.changes:
        counts[change.marketplace] += {"create": -1, "delete": 1}.get(change.action, 0)
    return counts


RULES = (
    Rule(
        "blast_radius",
        "soft-mandatory",
        "no marketplace has too many price changes or deletes",
        check_blast_radius,
        needs_live=True,
    ),
)
