"""The long runs report their progress (engine.core.progress): `orders pull`, a plan's
refresh (full or not), `drift` (and `drift --refresh-only`) and `import`, each over the
seeded sandbox with a recording Progress. The counts must be the work really done: the
orders pulled, the listing details fetched."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from engine.flows import drift, ops
from engine.flows.import_listings import import_from_live
from engine.flows.plan import plan_config
from engine.flows.session import live_session
from engine.sandbox import simulation
from engine.sandbox.runtime import Sandbox
from tests.conftest import NOW
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)


class Recording:
    """A Progress that keeps every stage with its total and the units it advanced."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.done: list[int] = []

    def stage(self, label: str, total: int | None = None) -> None:
        self.stages.append((label, total))
        self.done.append(0)

    def advance(self, units: int = 1) -> None:
        assert self.stages, "advanced before any stage"
        self.done[-1] += units

    def counted(self) -> dict[str, int]:
        return {label: done for (label, _), done in zip(self.stages, self.done, strict=True)}

    def totals(self) -> dict[str, int | None]:
        return dict(self.stages)


def live_counts(config, marketplaces=("US", "DE", "JP")) -> Counter[str]:
    """Live listings by marketplace, from the snapshots the run just cached."""
    with live_session(config) as (backend, _):
        state = backend.read_listings(list(marketplaces), refresh=False)
    return Counter(r.marketplace for r in state.resources().values())


def test_a_full_refresh_reports_a_report_then_every_listings_detail(seeded_config):
    config = seeded_config()
    full = Recording()
    plan_config(config.root, now=NOW, activity="plan", full_refresh=True, progress=full)
    live = live_counts(config)
    assert set(live) == {"US", "DE", "JP"} and all(live.values())
    assert full.stages == [
        stage
        for code in ("US", "DE", "JP")
        for stage in ((f"{code}: listings report", None), (f"{code}: listing detail", live[code]))
    ]
    assert full.counted() == {
        **{f"{code}: listings report": 0 for code in live},
        **{f"{code}: listing detail": n for code, n in live.items()},
    }

    # A plain refresh right after fetches detail only where the report shows a change or
    # the config wants one: fewer, and what it counts is what it announced.
    plain = Recording()
    plan_config(config.root, now=NOW, activity="plan", progress=plain)
    details = {k: v for k, v in plain.totals().items() if k.endswith("listing detail")}
    assert len(details) == 3 and sum(details.values()) < sum(live.values())
    assert {k: plain.counted()[k] for k in details} == details


def test_orders_pull_counts_the_orders_of_each_read(seeded_config):
    config = seeded_config()
    box = Sandbox.open(config.state_dir)
    simulation.simulate(box.account, box.advance, timedelta(hours=48), random.Random(11))
    box.store.close()
    progress = Recording()
    result = ops.pull(config.root, progress)
    read = {m.marketplace: m.read for m in result.marketplaces}
    assert sum(read.values()) > 5 and read["JP"] < read["US"]
    # One read a region (US, DE and JP are three), its items inline: no stage of their own.
    assert progress.stages == [(f"{code}: orders", None) for code in ("US", "DE", "JP")]
    assert progress.counted() == {f"{code}: orders": n for code, n in read.items()}


def test_import_reports_the_report_and_the_detail_of_every_row(seeded_config):
    config = seeded_config()
    progress = Recording()
    result, _ = import_from_live(config.root, "US", "LEGACY-*", now=NOW, progress=progress)
    assert result.skus == ("LEGACY-HP-100",)
    us = live_counts(config, ["US"])["US"]
    # Nothing cached and nothing applied yet: every row of the report needs its detail.
    assert progress.stages == [("US: listings report", None), ("US: listing detail", us)]
    assert progress.counted() == {"US: listings report": 0, "US: listing detail": us}


def test_drift_reports_the_refresh_like_a_plan(seeded_config):
    config = seeded_config()
    recorded = {}
    for flow in (drift.drift, drift.refresh_only):
        recorded[flow.__name__] = Recording()
        flow(
            config.root,
            now=NOW,
            marketplaces=(),
            full_refresh=True,
            progress=recorded[flow.__name__],
        )
    live = live_counts(config)  # what the refreshes cached
    assert set(live) == {"US", "DE", "JP"} and all(live.values())
    for name, progress in recorded.items():
        assert progress.stages == [
            stage
            for code in ("US", "DE", "JP")
            for stage in (
                (f"{code}: listings report", None),
                (f"{code}: listing detail", live[code]),
            )
        ], name
        assert sum(progress.done) == sum(live.values()), name
