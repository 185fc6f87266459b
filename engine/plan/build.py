"""Planning with I/O at the edges: live state in, desired state rendered against it, a Plan out.

The pure steps (render, diff, Plan.build) are untouched; this module feeds them, in an order
set by stock allocation, which depends on what each MFN listing holds live:

1. read live state through the backend: a refresh (report and detail, told which listings
   the config wants so that their detail is current) or the local snapshot cache (which
   `load_for_plan` reads while the config's parse workers run). A plan of some marketplaces
   also reads the MFN quantities the others hold, since they share each SKU's stock;
2. render the desired state with the live quantities and the units reserved for unshipped
   orders (engine.ops.unshipped, from the orders `sync orders pull` stored; when no
   marketplace was ever pulled nothing is reserved and the plan carries a note saying so);
3. load the values last applied, the third side of the drift comparison (loaded before the
   live read: they stand in for the detail of listings whose report row agrees with them),
   the tripped breakers, and the guardrails' facts (orders and account health, as
   `sync orders pull` stored them; the guardrail baseline the last successful apply
   recorded);
4. keep every listing a tripped, unacknowledged breaker holds at its breaker state, so a
   plan never restores what the watchdog stopped;
5. diff, deleting only unmanaged listings the config's `prune` names;
6. evaluate the guardrails over the changeset (apply refuses a plan they block);
7. pin the plan: config digest, git commit, backend identity, creation time;
8. gather what can explain the plan's drift (engine.plan.drift_facts): orders placed and
   breaker writes since the last apply, and the config's drift.ignore rules.

`sync plan`, `sync drift` and apply's no-file form all plan through `build_plan`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config.errors import ConfigErrors
from engine.config.loader import load_config, load_project
from engine.config.model import Config
from engine.core.errors import UserError
from engine.core.gcpause import gc_paused
from engine.core.resource import Resource, address
from engine.desired.render import DesiredState, render
from engine.desired.stock import Reservation
from engine.guardrails.evaluate import evaluate
from engine.guardrails.report import GuardrailReport
from engine.live.backend import Backend, LiveState, SnapshotMissing
from engine.live.snapshot import Snapshot, SnapshotCache
from engine.ops import guardrail_context
from engine.ops.unshipped import read_reservation
from engine.plan import drift_facts
from engine.plan.diff import diff
from engine.plan.drift import DriftFacts
from engine.plan.model import HeldListing, Plan
from engine.state import last_applied
from engine.state import watch as watch_state
from engine.state.db import StateDB
from engine.watch.breaker import hold_tripped

GIT_TIMEOUT_S = 10


class UnknownMarketplace(UserError):
    """--marketplace names a marketplace the config does not enable."""


@dataclass(frozen=True, slots=True)
class Review:
    """A listing the plan leaves alone until a person looks at it."""

    address: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlanRun:
    """A plan with what it was computed from: the desired and live state, the listings it
    could not plan (held for review in the config, or unreadable live), and notes on what
    it had to plan without (units in unshipped orders, when orders were never pulled)."""

    plan: Plan
    desired: DesiredState
    live: LiveState
    review: tuple[Review, ...]
    guardrails: GuardrailReport
    notes: tuple[str, ...] = ()
    drift_facts: DriftFacts = field(default_factory=DriftFacts)  # engine.plan.drift


def build_plan(
    config: Config,
    backend: Backend,
    state: StateDB,
    *,
    now: datetime,
    marketplaces: Sequence[str] = (),
    refresh: bool = True,
) -> PlanRun:
    """The plan for `marketplaces` (default: every enabled one) as of `now`."""
    # Reading the cache and diffing build millions of objects that never form cycles; with
    # the collector on, its full passes over the growing heap made both 1.5-2x slower at 1M
    # listings (bench/plan_bench.py).
    with gc_paused():
        return _build_plan(config, backend, state, now, marketplaces, refresh)


def _build_plan(
    config: Config,
    backend: Backend,
    state: StateDB,
    now: datetime,
    marketplaces: Sequence[str],
    refresh: bool,
) -> PlanRun:
    codes = selected_marketplaces(config, marketplaces)
    wanted = None
    if refresh:
        # Quantities are unknown until live is read (allocation starts from them), so they are
        # left out of what decides which listings need fresh detail.
        first = render(config, now, replenishment=False).for_marketplaces(codes)
        wanted = {a: replace(r, quantity=None) for a, r in first.resources.items()}
    seller_id = config.project.seller_id
    with state.read() as conn:
        applied = last_applied.load(conn, seller_id)
        # Every enabled marketplace, not only the planned ones: they share each SKU's stock.
        reservation = read_reservation(conn, seller_id, list(config.marketplaces))
    live = backend.read_listings(codes, refresh=refresh, wanted=wanted, applied=applied)
    live_resources = live.resources()
    quantities = {
        **quantities_elsewhere(config, backend, codes, applied),
        **live_quantities(live_resources.values()),
    }
    desired = render(config, now, quantities, reservation=reservation, replenishment=False)
    if len(codes) < len(config.marketplaces):
        desired = desired.for_marketplaces(codes)
    held = {n.address: n.reason for n in desired.needs_review}
    review = [Review(a, reason) for a, reason in held.items()]
    review += [
        Review(a, f"live listing could not be read ({why}); not planned")
        for a, why in sorted(live.unreadable.items())
    ]
    # A listing whose live shape is unreadable is neither created over nor deleted.
    wanted_now = desired.resources
    if live.unreadable:
        wanted_now = {a: r for a, r in wanted_now.items() if a not in live.unreadable}
    with state.read() as conn:
        breakers = watch_state.tripped(conn, seller_id)
        context = guardrail_context.from_store(
            conn, seller_id, codes, now, sharing_stock=list(config.marketplaces)
        )
    wanted_now, stopped = hold_tripped(wanted_now, breakers, config.incidents)

    def prune(marketplace: str, sku: str) -> bool:
        return config.prunes(marketplace, sku) and address(marketplace, sku) not in held

    changeset = diff(wanted_now, live_resources, applied, prune)
    report = evaluate(changeset, config, desired, now=now, context=context, marketplaces=codes)
    plan = Plan.build(
        changeset,
        created_at=now,
        config_digest=config.digest,
        backend=backend.identity,
        git_commit=git_commit(config.root),
        guardrails=report.verdicts,
        held=tuple(HeldListing(h.address, h.breaker.incident_id, h.line()) for h in stopped),
        marketplaces=tuple(codes),
    )
    with state.read() as conn:
        facts = drift_facts.gather(conn, config, plan, applied)
    notes = reservation_notes(config, reservation) + live.notes
    return PlanRun(plan, desired, live, tuple(review), report, notes, facts)


def reservation_notes(config: Config, reservation: Reservation | None) -> tuple[str, ...]:
    """One note when stock allocation could not reserve units in unshipped orders because
    orders were never pulled (everywhere, or in some marketplaces); none without MFN SKUs."""
    if not any(p.fulfillment == "MFN" for p in config.products.values()):
        return ()
    if reservation is None:
        return (
            "Orders were never pulled (`sync orders pull`): units in unshipped orders are "
            "unknown, so MFN quantities are allocated from all units on hand, none reserved.",
        )
    if reservation.not_pulled:
        return (
            f"Orders were never pulled for {', '.join(reservation.not_pulled)} "
            "(`sync orders pull`): units in unshipped orders there are unknown and not "
            "reserved in MFN stock allocation.",
        )
    return ()


def load_for_plan(
    root: Path, *, refresh: bool, marketplaces: Sequence[str] = ()
) -> tuple[Config, dict[str, Snapshot]]:
    """The config and, when the plan is to come from the snapshot cache, the cached
    snapshots it will read: those are read in this process while worker processes parse a
    large catalog (at 1M listings, 13 s of parsing and 8 s of reading the cache ran one after
    the other, with this process idle for most of the first). Pass them to the backend as
    `preloaded`. A refresh reads live through the backend after rendering, so it only loads.
    Either way unchanged config files come from the parse cache (engine.config.parsecache).
    """
    if refresh:
        return load_config(root, parse_cache=True), {}
    try:
        project = load_project(root)
    except ConfigErrors:
        return load_config(root), {}  # raises again, with every file's problems
    cache = SnapshotCache(project.state_dir)
    codes = [code for code in project.marketplaces if not marketplaces or code in marketplaces]
    snapshots: dict[str, Snapshot] = {}
    config = load_config(
        root, meanwhile=lambda: snapshots.update(cache.read_all(codes)), parse_cache=True
    )
    return config, snapshots


def selected_marketplaces(config: Config, requested: Sequence[str]) -> list[str]:
    """The requested marketplaces in project order; every enabled one when none are given."""
    unknown = [code for code in requested if code not in config.marketplaces]
    if unknown:
        raise UnknownMarketplace(
            f"marketplace {', '.join(unknown)} is not enabled in project.yaml; enabled: "
            f"{', '.join(config.marketplaces)}"
        )
    return [code for code in config.marketplaces if not requested or code in requested]


def quantities_elsewhere(
    config: Config,
    backend: Backend,
    codes: Sequence[str],
    applied: Mapping[str, Mapping[str, Any]],
) -> dict[tuple[str, str], int]:
    """MFN quantities live in the enabled marketplaces that are not being planned.
    Allocation spreads each SKU's stock over all of them: counting their units as 0 would
    hand those units out again (a plan of DE alone would promise stock the US already
    advertises). They come from the snapshot cache when there is one (planning one
    marketplace should not refresh them all), else from a refresh."""
    others = [code for code in config.marketplaces if code not in codes]
    if not others:
        return {}
    try:
        state = backend.read_listings(others, refresh=False)
    except SnapshotMissing:
        state = backend.read_listings(others, refresh=True, applied=applied)
    return live_quantities(state.resources().values())


def live_quantities(resources: Iterable[Resource]) -> dict[tuple[str, str], int]:
    """(marketplace, sku) -> MFN quantity held live: where stock allocation starts from."""
    return {r.key: r.quantity for r in resources if r.quantity is not None}


def git_commit(folder: Path) -> str | None:
    """The commit checked out where the config lives, or None outside a git repository
    (or without git installed). `git rev-parse` understands worktrees, packed refs and
    detached heads, which reading .git by hand would have to reimplement."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None
