"""Chaos: a 2,000-change plan applied under a mixed storm of what Amazon can do to a client.

The storm (engine.sandbox.faults, seeded): a share of every operation throttled (429), a
429 storm on the reads at the start, JSON 5xx and HTML gateway pages, connections dropped
before and after calls are handled, answers lost after writes (and after createFeed),
document uploads and downloads failing, and a few feed messages refused. The first apply
goes as JSON_LISTINGS_FEED (2,000 changes, above the bulk threshold), later ones per item.

Between applies the test plans again from live, as a person would (`sync plan`, then apply
the new plan), with the storm still on. It converges within three applies with:

- 0 internal errors: nothing but a UserError (one line, exit 1) ever leaves apply or plan;
- 0 stuck runs: after every apply, no run of the account is left unfinished;
- 0 false failures: no change journaled failed (or not sent) is live when its apply ends;
- 0 lost writes: every change journaled verified is live, and the last plan is empty;
- duplicates counted on the server side (writes the sandbox accepted twice for one change).

Runtime: the sandbox's clock is virtual and moved by the backend's waits (no real sleeping),
writes are visible at once (processing_delay 0) and rate limits are off (the storm throttles
instead). Reproduce the figures it prints with:

    .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/apply/test_chaos.py
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.apply.executor import ApplyReport, Executor
from engine.apply.verify import reflects
from engine.core.changes import ResourceChange
from engine.core.errors import UserError
from engine.core.resource import Resource
from engine.live.clients import Connection
from engine.live.invoke import Invoker
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.live.throttle import TokenBuckets
from engine.plan.diff import diff
from engine.plan.model import Plan, change_from_json
from engine.sandbox import faults
from engine.sandbox.clock import VirtualClock
from engine.sandbox.runtime import Sandbox
from engine.state import journal
from engine.state.db import StateDB, open_sqlite
from tests.apply.conftest import CONFIG_DIGEST, POLLING, AppliedWrites, saved
from tests.live.conftest import FakeTimer, calls_of
from tests.sandbox.conftest import NOW, SELLER, make_resource

SPARE = 10
WRITES = ("patchListingsItem", "putListingsItem", "deleteListingsItem", "createFeed")


@dataclass(frozen=True)
class Variant:
    """One write path under the storm: how many changes of each kind, the backend's bulk
    threshold, and how often answers are lost and document transfers fail."""

    updates: int
    creates: int
    deletes: int
    bulk_threshold: int
    lost_answers: float
    lost_on: tuple[str, ...]  # the operations whose answers get lost
    document_errors: float

    @property
    def changes(self) -> int:
        return self.updates + self.creates + self.deletes


# 2,000 changes go as one JSON_LISTINGS_FEED: createFeed always loses its answer (the feed
# must be found, not submitted twice) and document transfers fail more often. Per item (600,
# below the bulk threshold) every write can lose its answer. The threshold is the test's
# own (the default follows bench/feed_crossover.py and may move either way).
BULK_FROM = 1_000
FEED = Variant(1_970, 20, 10, BULK_FROM, 1.0, ("createFeed",), document_errors=0.6)
PER_ITEM = Variant(590, 6, 4, BULK_FROM, 0.1, WRITES, document_errors=0.25)
SEED = 19
MAX_APPLIES = 3


def sku(n: int) -> str:
    return f"CH-{n:05d}"


def seeded(variant: Variant) -> list[Resource]:
    """What the sandbox is seeded with: more listings than the plan touches, since the seed
    makes a few deliberately different (one missing, say; engine.sandbox.seed)."""
    return [
        make_resource("DE", sku(n), f"{20 + n % 150}.99", quantity=5 + n % 40)
        for n in range(variant.updates + variant.deletes + SPARE)
    ]


def desired(variant: Variant, live: list[Resource]) -> tuple[dict[str, Resource], set[str]]:
    """The config's wish, from live as it is: the variant's updates (price changes read the
    live offer first: read-merge-replace), deletes and creates, the rest as they are.
    Returns it and the SKUs to delete."""
    ordered = sorted(live, key=lambda r: r.sku)
    wanted = {}
    updates, deletes = variant.updates, variant.deletes
    for n, have in enumerate(ordered[:updates]):
        kind = n % 4
        if kind == 0:
            want = replace(have, our_price=have.our_price + Decimal("1.00"))
        elif kind == 1:
            want = replace(have, quantity=(have.quantity or 0) + 3)
        elif kind == 2:
            want = replace(have, title=f"{have.title} – storm edition")
        else:
            want = replace(have, our_price=have.our_price - Decimal("1.00"), quantity=77)
        wanted[want.address] = want
    deleted = {r.sku for r in ordered[updates : updates + deletes]}
    wanted |= {r.address: r for r in ordered[updates + deletes :]}
    for n in range(variant.creates):
        new = make_resource("DE", f"CH-NEW-{n:03d}", "44.99", quantity=3)
        wanted[new.address] = new
    return wanted, deleted


def storm(store: Any, variant: Variant) -> None:
    """The mixed storm, seeded so a run is reproducible."""
    faults.set_seed(store, SEED)
    faults.set_throttle_share(store, 0.08)
    faults.set_server_errors(store, 0.04, status=503)
    faults.set_gateway_errors(store, 0.02)
    faults.set_dropped_connections(store, 0.03, when="either")
    faults.set_lost_answers(store, variant.lost_answers, operations=variant.lost_on)
    faults.set_document_errors(store, variant.document_errors)
    faults.set_feed_message_errors(store, 0.003)


@dataclass
class Figures:
    applies: int = 0
    reports: list[ApplyReport] = field(default_factory=list)
    user_errors: list[str] = field(default_factory=list)  # one line each: allowed
    internal_errors: list[str] = field(default_factory=list)
    stuck_runs: int = 0
    false_failures: list[str] = field(default_factory=list)
    lost_writes: list[str] = field(default_factory=list)
    planned: list[int] = field(default_factory=list)  # changes in each plan

    def line(self, writes: AppliedWrites, backend: SpApiBackend) -> str:
        lost = [r.lost for r in self.reports if r.lost is not None]
        feeds = [c.status for c in calls_of(backend) if c.operation == "createFeed"]
        return (
            f"chaos: {self.planned[0]} changes, {self.applies} applies (plans of "
            f"{', '.join(map(str, self.planned))} changes); lost answers "
            f"{sum(x.lost for x in lost)} ({sum(x.found_live for x in lost)} found live, "
            f"{sum(x.resent for x in lost)} re-sent); createFeed answers lost "
            f"{sum(status != 202 for status in feeds)} of {len(feeds)}; server-side writes "
            f"{sum(writes.by_sku.values())}, duplicates {writes.duplicates()}; lost writes "
            f"{len(self.lost_writes)}, internal errors {len(self.internal_errors)}, stuck runs "
            f"{self.stuck_runs}, false failures {len(self.false_failures)}; user errors "
            f"{len(self.user_errors)}"
        )


class Chaos:
    """The sandbox under the storm, a backend and an executor on it, and the bookkeeping."""

    def __init__(self, box: Sandbox, db: StateDB, state_dir: Path, variant: Variant) -> None:
        self.variant = variant
        self.box = box
        self.db = db
        self.timer = FakeTimer(box.clock)
        recorder = MemoryRecorder()
        self.backend = SpApiBackend(
            Connection(box.credentials.as_spapi_credentials(), endpoint=box.url, timeout=10.0),
            SELLER,
            state_dir=state_dir,
            now=box.clock.now,
            kind="sandbox",
            timer=self.timer,
            bulk_threshold=variant.bulk_threshold,
            recorder=recorder,
            invoker=Invoker(
                TokenBuckets(self.timer),
                recorder,
                self.timer,
                box.clock.now,
                rng=random.Random(SEED),
            ),
        )
        self.executor = Executor(
            self.backend, db, now=box.clock.now, timer=self.timer, holder="chaos", polling=POLLING
        )

    def live(self, wanted: dict[str, Resource]) -> dict[str, Resource]:
        """Live for the wanted addresses and the seeded ones, 20 a call (as plan reads)."""
        skus = sorted({r.sku for r in wanted.values()} | {r.sku for r in seeded(self.variant)})
        found, unreadable = self.backend.read_details("DE", skus)
        assert unreadable == {}
        return {listing.address: listing.resource for listing in found.values()}

    def plan(self, wanted: dict[str, Resource], deleted: set[str]) -> tuple[Plan, str]:
        """What `sync plan` would make now: live read, diffed; the `deleted` SKUs, which
        the config no longer has, are deleted."""
        built = Plan.build(
            diff(wanted, self.live(wanted), prune=lambda m, s: s in deleted),
            created_at=NOW,
            config_digest=CONFIG_DIGEST,
            backend=self.backend.identity,
        )
        return saved(built)

    def calm(self, look: Callable[[], Any]) -> Any:
        """`look` at live with the storm paused (the test's own checks, not the run's)."""
        active = faults.active(self.box.store)
        faults.clear(self.box.store)
        try:
            return look()
        finally:
            with self.box.store.write() as tx:
                for name, config in active.items():
                    tx.set_fault(name, config)


@pytest.fixture(params=[FEED, PER_ITEM], ids=["feed", "per-item"])
def chaos(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chaos]:
    """The two write paths, each under the storm: 2,000 changes as JSON_LISTINGS_FEED, and
    600 per item."""
    box = Sandbox.open(
        tmp_path / "sandbox",
        seed=(SELLER, seeded(request.param)),
        clock=VirtualClock.frozen_at(NOW),
        rate_limits=False,
        processing_delay=timedelta(0),
    )
    box.start()
    db = open_sqlite(tmp_path / "state")
    made = Chaos(box, db, tmp_path / "live-state", request.param)
    try:
        yield made
    finally:
        made.backend.close()
        db.close()
        box.stop()
        box.store.close()


def settle_check(chaos: Chaos, report: ApplyReport, figures: Figures) -> None:
    """After one apply: no run left unfinished, and nothing failed that is in fact live."""
    with chaos.db.read() as conn:
        if journal.resume_point(conn, SELLER) is not None:
            figures.stuck_runs += 1
        entries = journal.entries(conn, report.run_id) if report.run_id else []
    failed = {e.address: change_from_json(e.payload) for e in entries if e.state == "failed"}
    if not failed:
        return
    live = chaos.calm(lambda: chaos.live({}))
    figures.false_failures += [a for a, c in failed.items() if reflects(c, live.get(a))]


def test_apply_converges_under_a_storm_without_losing_or_doubling_writes(chaos, capsys):
    variant = chaos.variant
    wanted, deleted = desired(variant, list(chaos.live({}).values()))
    writes = AppliedWrites(chaos.box.account)
    first_plan, _ = chaos.plan(wanted, deleted)
    assert len(first_plan.changes) == variant.changes
    storm(chaos.box.store, variant)
    faults.set_throttle_storm(
        chaos.box.store,
        until=chaos.box.clock.now() + timedelta(seconds=8),
        operations=["searchListingsItems"],
    )
    figures = Figures()
    verified: dict[str, ResourceChange] = {}
    plan, digest = saved(first_plan)
    while plan.changes and figures.applies < MAX_APPLIES:
        figures.planned.append(len(plan.changes))
        figures.applies += 1
        try:
            report = chaos.executor.apply(plan, digest, CONFIG_DIGEST)
        except UserError as err:
            figures.user_errors.append(" ".join(err.lines()))
        except Exception as err:  # what the CLI would turn into exit 70
            figures.internal_errors.append(repr(err))
        else:
            figures.reports.append(report)
            settle_check(chaos, report, figures)
            verified |= {a: c for a, c in _changes(plan).items() if a in report.applied}
        for _attempt in range(3):  # planning reads under the storm too
            try:
                plan, digest = chaos.plan(wanted, deleted)
                break
            except UserError as err:
                figures.user_errors.append(" ".join(err.lines()))
        else:
            pytest.fail(f"could not plan three times under the storm: {figures.user_errors}")

    live = chaos.calm(lambda: chaos.live(wanted))
    figures.lost_writes = [a for a, c in verified.items() if not reflects(c, live.get(a))]
    final, _ = chaos.calm(lambda: chaos.plan(wanted, deleted))
    with capsys.disabled():
        print("\n" + figures.line(writes, chaos.backend))

    assert figures.internal_errors == []
    assert figures.stuck_runs == 0
    assert figures.false_failures == []
    assert figures.lost_writes == []
    assert final.changes == (), f"not converged after {figures.applies} applies"
    assert figures.applies <= MAX_APPLIES
    assert writes.duplicates() == 0
    # The storm did make writes uncertain, and each was settled without writing twice.
    lost = [r.lost for r in figures.reports if r.lost is not None]
    if variant is PER_ITEM:
        assert sum(x.found_live for x in lost) > 0  # landed: never sent again
        assert sum(x.resent for x in lost) > 0  # did not land: sent again after the wait
    else:
        created = [c.status for c in calls_of(chaos.backend) if c.operation == "createFeed"]
        assert created and set(created) <= {500, 504}  # every answer lost: found by getFeeds
    assert all(line.count("\n") == 0 for line in figures.user_errors)


def _changes(plan: Plan) -> dict[str, ResourceChange]:
    return {c.address: c for c in plan.changes}
