"""`sync plan` (and every command that plans: drift, apply without a file, apply's re-plan):
the I/O gathered first, then one pure computation.

1. when the plan refreshes live state, render the desired state before anything is read
   (`render_for_plan`): MFN quantities are left unallocated, since allocation starts from
   what each listing holds live. That render tells the refresh which listings the config
   wants (their detail is fetched fresh), and `compute` allocates it. A plan from the
   snapshot cache (`--no-refresh`) needs nothing rendered first: `compute` renders it,
   allocating as it goes. Either way the config is rendered once (an unseeded sandbox is
   seeded from a render of its own, `seed_listings`, made only when it is needed);
2. `gather`: one read of the state store (the values last applied, the third side of the
   drift comparison, which also stand in for the detail of listings whose report row agrees
   with them; the units reserved for unshipped orders, engine.ops.unshipped; the tripped
   breakers; the guardrails' facts, engine.ops.guardrail_context; when the config caps any
   listing, the sales history and refill holds behind the caps, engine.ops.exposure), one
   read of live state
   (a refresh or the snapshot cache, which `load_for_plan` reads while the config's parse
   workers run; a plan of some marketplaces also reads the MFN quantities the others hold,
   since they share each SKU's stock), the git commit and the backend's identity;
3. `compute`, pure: render or allocate stock with the live quantities (a capped listing at most at
   its cap, a held one not refilled, which a plan note names), keep every listing a tripped,
   unacknowledged breaker holds at its breaker state (a plan never restores what the
   watchdog stopped), diff (deleting only unmanaged listings the config's `prune` names),
   evaluate the guardrails (apply refuses a plan they block), and pin the plan (config
   digest, git commit, backend identity, creation time);
4. `explain`: what can explain the plan's drift (engine.flows.drift_facts: orders placed and
   breaker writes since the last apply, the config's drift.ignore rules), read for the
   drifted listings only, and the drift report built from it.

`build_plan` runs 1-4 over an open backend and store; `plan_config` opens them for a command.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.apply.freeze import freeze_notes
from engine.config.errors import ConfigErrors
from engine.config.loader import load_config, load_project
from engine.config.model import Config
from engine.core.errors import UserError
from engine.core.fieldjson import FieldValues
from engine.core.gcpause import gc_paused
from engine.core.identity import BackendIdentity
from engine.core.marketplaces import did_you_mean
from engine.core.progress import NO_PROGRESS, Progress
from engine.core.resource import Resource, address, address_key
from engine.desired.exposure import SalesHistory, uses_exposure
from engine.desired.product_types import listing_problems
from engine.desired.render import DesiredState, allocate_stock, held_refills, render
from engine.desired.stock import Reservation
from engine.flows import drift_facts
from engine.flows.session import live_session
from engine.guardrails.context import GuardrailContext
from engine.guardrails.evaluate import evaluate
from engine.guardrails.report import GuardrailReport
from engine.live.backend import Backend, LiveState, SnapshotMissing
from engine.live.bulk_read import REPORT_LAG, Snapshot, SnapshotCache
from engine.ops import guardrail_context
from engine.ops.exposure import read_history
from engine.ops.unshipped import read_reservation
from engine.plan.diff import diff
from engine.plan.drift import DriftFacts, DriftReport, drift_report
from engine.plan.model import HeldListing, Plan
from engine.plan.saved import ReviewItem
from engine.plan.target import counted, only_targeted, sku_target
from engine.state import breakers as breaker_store
from engine.state import last_applied
from engine.state.breakers import Breaker
from engine.state.db import StateDB
from engine.watch.breaker import hold_tripped

GIT_TIMEOUT_S = 10


class UnknownMarketplace(UserError):
    """--marketplace names a marketplace the config does not enable."""


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything a plan is computed from besides the config and its rendering, read once.
    `elsewhere`: MFN quantities live in the enabled marketplaces not being planned."""

    marketplaces: tuple[str, ...]
    live: LiveState
    elsewhere: Mapping[tuple[str, str], int]
    applied: Mapping[str, FieldValues]
    reservation: Reservation | None
    breakers: Sequence[Breaker]
    guardrails: GuardrailContext
    backend: BackendIdentity
    git_commit: str | None = None
    history: SalesHistory | None = None  # None: no listing is capped


@dataclass(frozen=True, slots=True)
class PlanRun:
    """A plan with what it was computed from: the desired and live state, the listings it
    could not plan (held for review in the config, or unreadable live), and notes on what
    it had to plan without (units in unshipped orders, when orders were never pulled).
    `drift`: the drift report `explain` made (every run `build_plan` returns has one)."""

    plan: Plan
    desired: DesiredState
    live: LiveState
    review: tuple[ReviewItem, ...]
    guardrails: GuardrailReport
    notes: tuple[str, ...] = ()
    drift_facts: DriftFacts = field(default_factory=DriftFacts)  # engine.plan.drift
    drift: DriftReport | None = None

    def currencies(self) -> dict[str, str]:
        """Each live listing's currency, for showing its amounts."""
        return {a: listing.resource.currency for a, listing in self.live.listings.items()}

    def drift_report(self) -> DriftReport:
        """The drift report: the one `explain` made, else one from the facts at hand."""
        if self.drift is not None:
            return self.drift
        return drift_report(self.plan, self.currencies(), self.drift_facts)


def render_for_plan(config: Config, now: datetime) -> DesiredState:
    """Every listing of every enabled marketplace, MFN quantities not allocated yet: the one
    render a plan makes (`compute` allocates once live is read)."""
    return render(config, now, replenishment=False, allocate=False)


def seed_listings(config: Config, rendered: DesiredState) -> list[Resource]:
    """What an unseeded sandbox starts with: `rendered` (from `render_for_plan`) with stock
    allocated as for a fresh account (no listing holds anything yet)."""
    return list(allocate_stock(config, rendered).resources.values())


def build_plan(
    config: Config,
    backend: Backend,
    state: StateDB,
    *,
    now: datetime,
    marketplaces: Sequence[str] = (),
    refresh: bool = True,
    rendered: DesiredState | None = None,
    target: Sequence[str] = (),
) -> PlanRun:
    """The plan for `marketplaces` (default: every enabled one) as of `now`. `rendered`: the
    config already rendered by `render_for_plan` at `now` (else a refresh renders it here
    first, and a plan from the cache in `compute`). `target`: SKU patterns (`--sku`) the
    plan is limited to (engine.plan.target)."""
    # Reading the cache and diffing build millions of objects that never form cycles; with
    # the collector on, its full passes over the growing heap made both 1.5-2x slower at 1M
    # listings (bench/plan_bench.py).
    with gc_paused():
        codes = selected_marketplaces(config, marketplaces)
        wanted = None
        if refresh:
            if rendered is None:
                rendered = render_for_plan(config, now)
            wanted = rendered.for_marketplaces(codes).resources
        inputs = gather(config, backend, state, codes, now=now, refresh=refresh, wanted=wanted)
        run = compute(config, rendered, inputs, now=now, target=tuple(target))
        run = check_definitions(config, backend, run)
        return explain(config, state, run, inputs.applied)


def plan_config(
    config_dir: Path,
    *,
    now: datetime,
    activity: str,
    marketplaces: Sequence[str] = (),
    refresh: bool = True,
    full_refresh: bool = False,
    with_applied: bool = False,
    target: Sequence[str] = (),
    progress: Progress = NO_PROGRESS,
) -> tuple[PlanRun, Mapping[str, FieldValues]]:
    """Load the config, open the live session (recorded as `activity`) and plan. Returns the
    run and, `with_applied`, the values last applied as the plan read them (else empty). A
    refresh reports each marketplace's report and detail reads to `progress`."""
    config, cached = load_for_plan(config_dir, refresh=refresh, marketplaces=marketplaces)
    # A refresh needs the render before its live read, and an unseeded sandbox is seeded
    # from it; a plan from the cache renders in `compute` (one render either way).
    rendered = render_for_plan(config, now) if refresh else None

    def seed() -> list[Resource]:
        return seed_listings(config, rendered or render_for_plan(config, now))

    with live_session(
        config,
        activity,
        full_refresh=full_refresh,
        preloaded=cached,
        seed=seed,
        progress=progress,
    ) as (backend, db):
        run = build_plan(
            config,
            backend,
            db,
            now=now,
            marketplaces=marketplaces,
            refresh=refresh,
            rendered=rendered,
            target=target,
        )
        if not with_applied:
            return run, {}
        with db.read() as conn:
            return run, last_applied.load(conn, config.project.seller_id)


def gather(
    config: Config,
    backend: Backend,
    state: StateDB,
    codes: Sequence[str],
    *,
    now: datetime,
    refresh: bool,
    wanted: Mapping[str, Resource] | None = None,
) -> PlanInputs:
    """Read what a plan of `codes` needs: the state store once, then live (see the module
    docstring). `wanted`: the listings the config wants, with unallocated quantities (a
    refresh fetches their detail when the report shows a change)."""
    seller_id = config.project.seller_id
    with state.read() as conn:
        applied = last_applied.load(conn, seller_id)
        recent = last_applied.written_since(conn, seller_id, now - REPORT_LAG)
        # Every enabled marketplace, not only the planned ones: they share each SKU's stock.
        reservation = read_reservation(conn, seller_id, list(config.marketplaces))
        breakers = breaker_store.tripped(conn, seller_id)
        context = guardrail_context.from_store(
            conn, seller_id, codes, now, sharing_stock=list(config.marketplaces)
        )
        history = (
            read_history(conn, seller_id, list(config.marketplaces), now)
            if uses_exposure(config)
            else None
        )
    live = backend.read_listings(
        codes, refresh=refresh, wanted=wanted, applied=applied, recent=recent
    )
    return PlanInputs(
        marketplaces=tuple(codes),
        live=live,
        elsewhere=quantities_elsewhere(config, backend, codes, applied),
        applied=applied,
        reservation=reservation,
        breakers=breakers,
        guardrails=context,
        backend=backend.identity,
        git_commit=git_commit(config.root),
        history=history,
    )


def compute(
    config: Config,
    rendered: DesiredState | None,
    inputs: PlanInputs,
    *,
    now: datetime,
    target: tuple[str, ...] = (),
) -> PlanRun:
    """The plan, pure: `rendered` (every enabled marketplace, from `render_for_plan`) with
    stock allocated from the live quantities, held, diffed against live and evaluated.
    Without `rendered`, the config is rendered here with the live quantities: the same
    listings, each built once instead of built and then copied with its quantity
    (`allocate_stock` copies every MFN listing: at 200k listings, 0.6 s of a 5 s plan,
    bench/plan_bench.py). A `target` limits what is diffed, never what is allocated or what
    the guardrails count (engine.plan.target)."""
    codes = list(inputs.marketplaces)
    within = sku_target(target)
    live = inputs.live
    live_resources = live.resources()
    quantities = {**inputs.elsewhere, **live_quantities(live_resources.values())}
    if rendered is None:
        desired = render(
            config,
            now,
            quantities,
            reservation=inputs.reservation,
            replenishment=False,
            history=inputs.history,
        )
    else:
        desired = allocate_stock(
            config, rendered, quantities, reservation=inputs.reservation, history=inputs.history
        )
    if len(codes) < len(config.marketplaces):
        desired = desired.for_marketplaces(codes)
    held = {n.address: n.reason for n in desired.needs_review if within(n.sku)}
    review = [ReviewItem(a, reason) for a, reason in held.items()]
    review += [
        ReviewItem(a, f"live listing could not be read ({why}); not planned")
        for a, why in sorted(live.unreadable.items())
        if within(address_key(a)[1])
    ]
    # A listing whose live shape is unreadable is neither created over nor deleted.
    wanted_now = desired.resources
    if live.unreadable:
        wanted_now = {a: r for a, r in wanted_now.items() if a not in live.unreadable}
    wanted_now, stopped = hold_tripped(wanted_now, inputs.breakers, config.incidents)

    def prune(marketplace: str, sku: str) -> bool:
        return config.prunes(marketplace, sku) and address(marketplace, sku) not in held

    context = inputs.guardrails
    if target:
        wanted_now, context = only_targeted(wanted_now, within), counted(context, live_resources)
        live_resources = only_targeted(live_resources, within)
        stopped = [h for h in stopped if within(address_key(h.address)[1])]
    changeset = diff(wanted_now, live_resources, inputs.applied, prune)
    report = evaluate(changeset, config, desired, now=now, context=context, marketplaces=codes)
    plan = Plan.build(
        changeset,
        created_at=now,
        config_digest=config.digest,
        backend=inputs.backend,
        git_commit=inputs.git_commit,
        guardrails=report.verdicts,
        held=tuple(HeldListing(h.address, h.breaker.incident_id, h.line()) for h in stopped),
        marketplaces=tuple(codes),
        target=target,
    )
    notes = reservation_notes(config, inputs.reservation) + live.notes
    notes += freeze_notes(config.project.freezes, now)
    if inputs.history is not None and inputs.history.holds:
        stopped_at = {h.address for h in stopped}  # a tripped breaker says so already
        planned = (a for a in wanted_now if a not in stopped_at)
        held_back = held_refills(config, now, planned, quantities, inputs.history)
        notes += tuple(h.line() for h in held_back)
    return PlanRun(plan, desired, live, tuple(review), report, notes)


def check_definitions(config: Config, backend: Backend, run: PlanRun) -> PlanRun:
    """The listings the plan puts (creates, and changes a patch cannot make), checked against
    their product type's definition before anything is written: each one Amazon would refuse
    as INVALID is a note naming the product's file and line (`sync validate --live` checks
    every listing). Definitions come from the backend's cache in the state folder, fetched
    when missing or stale; when they cannot be read, a note says the puts were not checked."""
    from engine.flows.validate import product_type_schemas
    from engine.live.clients import SpApiError
    from engine.live.definitions import DefinitionError
    from engine.live.patches import write_kind

    puts = [c.after for c in run.plan.changes if c.after is not None and write_kind(c) == "put"]
    if not puts:
        return run
    try:
        schemas = product_type_schemas(backend, puts)
    except (SpApiError, DefinitionError) as err:
        why = f"the product type definitions could not be read ({err})"
        return replace(run, notes=(*run.notes, f"{why}; the {len(puts)} put(s) were not checked"))
    problems = listing_problems(config, puts, schemas)
    lines = tuple(f"{p.error()}" for p in problems)
    return replace(run, notes=run.notes + lines)


def explain(
    config: Config, state: StateDB, run: PlanRun, applied: Mapping[str, FieldValues]
) -> PlanRun:
    """`run` with the facts that can explain its drift (read for the drifted listings only)
    and the drift report they make."""
    with state.read() as conn:
        facts = drift_facts.gather(conn, config, run.plan, applied)
    return replace(run, drift_facts=facts, drift=drift_report(run.plan, run.currencies(), facts))


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
            f"marketplace {', '.join(unknown)} is not enabled in project.yaml"
            f"{''.join(did_you_mean(code) for code in unknown)}; enabled: "
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
