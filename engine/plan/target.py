"""Targeting: a plan limited to the listings whose SKU matches `--sku` patterns, as
Terraform's `-target` limits a plan to some resources.

A target narrows what is diffed and so what apply writes; it never narrows what the plan
must know to be right. Stock is still allocated over every listing of a SKU's marketplaces
(a targeted DE plan must not hand out units the US advertises), and the guardrails that look
at totals still see them: the desired state they judge stays whole, and the blast-radius
share counts every live listing of a marketplace, not only the targeted ones (one repriced
listing out of one targeted would otherwise be 100 % of a marketplace). The plan file
records the target, so `sync apply FILE` plans again with the same one.

Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from engine.config.model import SkuSelector
from engine.core.resource import Resource, address_key
from engine.guardrails.context import GuardrailContext

T = TypeVar("T")


def sku_target(patterns: Sequence[str]) -> Callable[[str], bool]:
    """Whether a SKU is in the target: every SKU when there are no patterns."""
    if not patterns:
        return lambda sku: True
    return SkuSelector.of(tuple(patterns)).matches


def only_targeted(listings: Mapping[str, T], within: Callable[[str], bool]) -> dict[str, T]:
    """The listings (by address) whose SKU is in the target."""
    return {a: item for a, item in listings.items() if within(address_key(a)[1])}


def counted(context: GuardrailContext, live: Mapping[str, Resource]) -> GuardrailContext:
    """`context` with the live listings per marketplace counted from every live listing
    (unless it already knows them), for the rules that judge a share of a marketplace."""
    if context.live_listing_counts is not None:
        return context
    counts = Counter(resource.marketplace for resource in live.values())
    return replace(context, live_listing_counts=dict(counts))
