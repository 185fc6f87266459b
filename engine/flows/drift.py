"""`sync drift`: plan against a fresh read of live and report what differs and why, or
(`--refresh-only`) what adopting live as the values last applied would record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.core.progress import NO_PROGRESS, Progress
from engine.core.resource import Resource
from engine.flows.plan import plan_config
from engine.plan.drift import DriftReport
from engine.plan.refresh_only import RefreshOnlyPlan, adoptions
from engine.plan.target import only_targeted, sku_target


@dataclass(frozen=True, slots=True)
class AdoptionPlan:
    """A refresh-only plan and the desired state it was made beside (for showing it)."""

    plan: RefreshOnlyPlan
    desired: Mapping[str, Resource]


def drift(
    config_dir: Path,
    *,
    now: datetime,
    marketplaces: Sequence[str],
    full_refresh: bool,
    target: Sequence[str] = (),
    progress: Progress = NO_PROGRESS,
) -> DriftReport:
    """The drift report of a plan made now from a refresh of live (of the listings whose
    SKU matches `target`, when given). The refresh reports its reads to `progress`."""
    run, _ = plan_config(
        config_dir,
        now=now,
        activity="drift",
        marketplaces=marketplaces,
        full_refresh=full_refresh,
        target=target,
        progress=progress,
    )
    return run.drift_report()


def refresh_only(
    config_dir: Path,
    *,
    now: datetime,
    marketplaces: Sequence[str],
    full_refresh: bool,
    target: Sequence[str] = (),
    progress: Progress = NO_PROGRESS,
) -> AdoptionPlan:
    """What `sync apply --refresh-only` would record: the managed listings whose values last
    applied would become what is live. Nothing is written. The refresh reports its reads to
    `progress`."""
    run, applied = plan_config(
        config_dir,
        now=now,
        activity="drift",
        marketplaces=marketplaces,
        full_refresh=full_refresh,
        with_applied=True,
        target=target,
        progress=progress,
    )
    live = run.live.resources()
    plan = RefreshOnlyPlan(
        run.plan.created_at,
        run.plan.backend,
        adoptions(only_targeted(run.desired.resources, sku_target(target)), live, applied),
    )
    return AdoptionPlan(plan, run.desired.resources)
