"""build_plan end to end against the embedded sandbox, seeded from the minimal config at NOW
on a frozen virtual clock (see the seeded_config fixture). The seed's deliberate differences
for that config: US HP-100 holds 4 more units (over-committed: the plan pulls them back),
US SPK-1 is priced 5 % high, DE HP-100's price is typed 100x too high (offer suppressed),
JP SPK-1 is missing, and US LEGACY-HP-100 is a listing the config does not know."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.cli.main import main
from engine.config import load_config, parsepool
from engine.core.marketplaces import MARKETPLACES
from engine.core.resource import address
from engine.flows.plan import UnknownMarketplace, build_plan, git_commit, load_for_plan
from engine.flows.session import live_session
from engine.live.bulk_read import ReportFormatError, SnapshotCache
from engine.ops.unshipped import stored_reservation
from engine.sandbox import faults
from engine.sandbox import orders as sandbox_orders
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.runtime import Sandbox
from engine.state import last_applied
from engine.state.tables import api_calls
from tests.conftest import NOW
from tests.minimal_config import edited, write_config
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)
from tests.sandbox.orderfixtures import make_order

US_HP = address("US", "HP-100")
US_SPK = address("US", "SPK-1")
DE_HP = address("DE", "HP-100")
JP_SPK = address("JP", "SPK-1")
LEGACY = address("US", "LEGACY-HP-100")


def plan_for(config, **options):
    with live_session(config) as (backend, db):
        return build_plan(config, backend, db, now=NOW, **options)


def changes_by_address(run):
    return {c.address: c for c in run.plan.changes}


def fields(change):
    return {f.field: (f.before, f.after, f.cause) for f in change.fields}


def calls_recorded(config) -> int:
    engine = sa.create_engine(f"sqlite:///{config.state_dir / 'state.sqlite3'}")
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(api_calls)).scalar_one()
    finally:
        engine.dispose()


def sandbox_edit(config, edit):
    """An out-of-band change, as if made in Seller Central."""
    box = Sandbox.open(config.state_dir)
    try:
        edit(box.account)
    finally:
        box.store.close()


def test_first_plan_on_the_seeded_demo_shows_the_seeded_differences(seeded_config):
    run = plan_for(seeded_config())
    changes = changes_by_address(run)
    assert sorted(changes) == sorted([DE_HP, JP_SPK, US_HP, US_SPK])
    assert changes[JP_SPK].action == "create"
    assert fields(changes[US_SPK]) == {"our_price": (Decimal("103.94"), Decimal("98.99"), "config")}
    assert fields(changes[DE_HP]) == {"our_price": (Decimal("5799.00"), Decimal("57.99"), "config")}
    # Never deleted without a prune setting: reported.
    assert run.plan.unmanaged == (LEGACY,)
    assert run.plan.drift == ()
    # 30 on hand less the buffer of 2 may be advertised; the seeded 4 extra units make 32:
    # they come back from US, furthest above its alert level.
    assert fields(changes[US_HP]) == {"quantity": (14, 10, "config")}
    assert run.plan.git_commit is None  # tmp_path is no git repository
    assert run.plan.backend.kind == "sandbox" and run.plan.backend.seller_id == "A1TESTSELLER"
    assert run.plan.created_at == NOW


def test_a_quantity_below_the_alert_level_is_topped_up_from_live(seeded_config):
    config = seeded_config()
    sandbox_edit(config, lambda account: faults.out_of_band_quantity(account, "US", "HP-100", 1))
    changes = changes_by_address(plan_for(config))
    # Needs 20 - 1 = 19; DE and JP advertise 9 + 9 of the 28 sellable units: 9 are left.
    assert fields(changes[US_HP]) == {"quantity": (1, 10, "config")}


def test_prune_deletes_only_what_the_setting_names(seeded_config, tmp_path):
    config = seeded_config(
        {"marketplaces/DE.yaml": "marketplace: DE\nprune: [LEGACY-*]\n"}  # DE only: not US
    )
    assert plan_for(config).plan.unmanaged == (LEGACY,)
    write_config(
        tmp_path / "config",
        edited(
            "project.yaml",
            "marketplaces: [US, DE, JP]\n",
            "marketplaces: [US, DE, JP]\nprune: [OLD-*, LEGACY-HP-1??]\n",
        ),
    )
    run = plan_for(load_config(tmp_path / "config"))
    deletes = [c for c in run.plan.changes if c.action == "delete"]
    assert [c.address for c in deletes] == [LEGACY]
    assert run.plan.changes[0] is deletes[0]  # deletes come first
    assert run.plan.unmanaged == ()
    assert run.plan.live_fingerprints[LEGACY] != "absent"


def test_drift_is_reported_apart_from_config_changes(seeded_config, tmp_path):
    config = seeded_config()
    first = plan_for(config)
    # As if apply had written the whole desired state: record it as last applied.
    with live_session(config) as (_, db), db.write() as conn:
        for resource in first.desired.resources.values():
            last_applied.record(conn, config.project.seller_id, resource, NOW)
    sandbox_edit(config, lambda account: faults.out_of_band_price(account, "US", "HP-100", "49.99"))
    # ...and a config change on another listing, made after that apply.
    write_config(
        tmp_path / "config",
        edited(
            "marketplaces/DE.yaml",
            "currency: EUR\n",
            "currency: EUR\noverrides: {SPK-1: {our_price: '89.99'}}\n",
        ),
    )
    run = plan_for(load_config(tmp_path / "config"))
    changes = changes_by_address(run)
    assert fields(changes[US_HP]) == {
        "our_price": (Decimal("49.99"), Decimal("59.99"), "drift"),
        "quantity": (14, 10, "drift"),
    }
    assert fields(changes[address("DE", "SPK-1")]) == {
        "our_price": (Decimal("93.99"), Decimal("89.99"), "config")
    }
    drifted = {(d.address, d.field): (d.last_applied, d.live) for d in run.plan.drift}
    # The out-of-band edit, and the seeded differences (now away from what was "applied").
    assert drifted == {
        (US_HP, "our_price"): (Decimal("59.99"), Decimal("49.99")),
        (US_HP, "quantity"): (10, 14),
        (US_SPK, "our_price"): (Decimal("98.99"), Decimal("103.94")),
        (DE_HP, "our_price"): (Decimal("57.99"), Decimal("5799.00")),
    }


def test_no_refresh_plans_from_the_cache_without_api_calls(seeded_config):
    config = seeded_config()
    refreshed = plan_for(config)
    before = calls_recorded(config)
    assert before > 0  # the refresh went through the store-backed recorder
    cached = plan_for(config, refresh=False)
    assert calls_recorded(config) == before
    assert cached.plan.changes == refreshed.plan.changes
    assert cached.live.snapshots == refreshed.live.snapshots


def test_one_marketplace_is_planned_alone(seeded_config):
    run = plan_for(seeded_config(), marketplaces=["DE"])
    assert [c.address for c in run.plan.changes] == [DE_HP]
    assert {r.marketplace for r in run.desired.resources.values()} == {"DE"}
    assert run.plan.unmanaged == ()


def test_an_unknown_marketplace_is_a_user_error_before_any_call(seeded_config):
    config = seeded_config()
    with pytest.raises(UnknownMarketplace, match="marketplace FR is not enabled"):
        plan_for(config, marketplaces=["DE", "FR"])
    assert calls_recorded(config) == 0


def test_git_commit_is_read_where_the_config_lives(tmp_path):
    assert git_commit(tmp_path) is None
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    assert git_commit(repo) is None  # no commit yet
    (repo / "f").write_text("x")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    (repo / "config").mkdir()
    assert git_commit(repo / "config") == head.stdout.strip()


def test_a_listing_held_for_review_is_never_pruned(seeded_config, tmp_path):
    seeded_config()  # JP HP-100 is live...
    config = load_config(  # ...and now has no Japanese texts, while prune names everything
        write_config(
            tmp_path / "config",
            {
                **edited(
                    "products/audio.yaml",
                    "      ja: {title: Sonora HP-100 ヘッドホン}\n",
                    "    missing_translation: needs_review\n",
                ),
                **edited(
                    "project.yaml",
                    "marketplaces: [US, DE, JP]\n",
                    "marketplaces: [US, DE, JP]\nprune: ['*']\n",
                ),
            },
        )
    )
    run = plan_for(config)
    assert [c.address for c in run.plan.changes if c.action == "delete"] == [LEGACY]
    assert [item.address for item in run.review] == [address("JP", "HP-100")]
    assert address("JP", "HP-100") in run.plan.unmanaged


def test_cached_snapshots_are_read_while_the_config_loads_and_used_once(seeded_config, monkeypatch):
    config = seeded_config()
    plan_for(config)
    expected = plan_for(config, refresh=False, marketplaces=["DE", "US"])
    # Parse in worker processes even for this small config, to exercise the overlap.
    monkeypatch.setattr(parsepool, "PARALLEL_THRESHOLD_BYTES", 0)
    loaded, cached = load_for_plan(config.root, refresh=False, marketplaces=["DE", "US"])
    assert loaded.digest == config.digest
    assert sorted(cached) == ["DE", "US"]
    # The plan takes the snapshots read ahead: the files are not needed any more.
    for code in cached:
        SnapshotCache(config.state_dir).path(code).unlink()
    with live_session(loaded, preloaded=cached) as (backend, db):
        run = build_plan(loaded, backend, db, now=NOW, refresh=False, marketplaces=["DE", "US"])
    assert run.plan.changes == expected.plan.changes and run.plan.changes


def test_a_corrupt_snapshot_is_left_for_the_plan_to_report(seeded_config):
    config = seeded_config()
    plan_for(config)
    SnapshotCache(config.state_dir).path("JP").write_text("{not json", encoding="utf-8")
    loaded, cached = load_for_plan(config.root, refresh=False)
    assert sorted(cached) == ["DE", "US"]
    with (
        pytest.raises(ReportFormatError, match="corrupt snapshot"),
        live_session(loaded, preloaded=cached) as (backend, db),
    ):
        build_plan(loaded, backend, db, now=NOW, refresh=False)


def test_meanwhile_runs_once_however_the_config_is_parsed(config_dir, monkeypatch):
    calls = []
    small = load_config(config_dir, meanwhile=lambda: calls.append("in-process"))
    monkeypatch.setattr(parsepool, "PARALLEL_THRESHOLD_BYTES", 0)
    parallel = load_config(config_dir, meanwhile=lambda: calls.append("workers"))
    assert calls == ["in-process", "workers"]
    assert parallel.digest == small.digest and parallel.products.keys() == small.products.keys()


def sell(config, *orders):
    """Orders placed as buyers place them: stored in the sandbox, and their units taken off
    the listings' live quantities (as Amazon does when an order is placed)."""
    box = Sandbox.open(config.state_dir)
    try:
        with box.store.write() as tx:
            tables = OrderTables(tx)
            for order in orders:
                tables.add_order(order)
                sandbox_orders.change_stock(tx, order.seller_id, order, -1, order.purchase_date)
    finally:
        box.store.close()


def headphones_sold(config, n, code, units, placed, **options):
    mkt = MARKETPLACES[code]
    order = make_order(
        n,
        placed,
        marketplace_id=mkt.marketplace_id,
        sku="HP-100",
        quantity=units,
        currency=mkt.currency,
        price="2980" if code == "JP" else "59.99",
        **options,
    )
    return replace(order, seller_id=config.project.seller_id)


def headphones(run):
    return {m: run.desired.resources[address(m, "HP-100")].quantity for m in ("US", "DE", "JP")}


def test_pulled_unshipped_orders_lower_the_planned_mfn_quantities_by_exactly_their_units(
    seeded_config,
):
    config = seeded_config()
    pending = headphones_sold(config, 2, "US", 2, NOW - timedelta(minutes=10))
    sell(
        config,
        headphones_sold(config, 1, "DE", 6, NOW - timedelta(hours=3)),  # paid, ships in 17 h
        replace(pending, fate=replace(pending.fate, paid_at=NOW + timedelta(hours=1))),
        headphones_sold(config, 3, "JP", 1, NOW - timedelta(hours=30)),  # shipped 10 h ago
    )
    # Live now: US 14 - 2, DE 9 - 6, JP 9 - 1 (the seed over-commits US by 4).
    before = plan_for(config)
    # Orders never pulled: planned as before reservations existed (30 on hand - buffer 2 = 28:
    # the 5 units not advertised go to DE, below its alert level), and the plan says why.
    assert headphones(before) == {"US": 12, "DE": 8, "JP": 8}
    assert before.notes == (
        "Orders were never pulled (`sync orders pull`): units in unshipped orders are unknown, "
        "so MFN quantities are allocated from all units on hand, none reserved.",
    )

    assert main(["--config", str(config.root), "orders", "pull"]) == 0
    with live_session(config) as (_, db):
        reservation = stored_reservation(db, config)
    assert reservation is not None and reservation.units == {"HP-100": 6 + 2}  # not the shipped
    after = plan_for(config)
    assert after.notes == ()
    # 28 - 8 = 20 may be advertised, 23 are: 3 come back from US, furthest above its alert.
    assert headphones(after) == {"US": 9, "DE": 3, "JP": 8}
    assert sum(headphones(before).values()) - sum(headphones(after).values()) == 6 + 2
    assert fields(changes_by_address(after)[US_HP]) == {"quantity": (12, 9, "config")}


def test_planning_some_marketplaces_counts_the_stock_the_others_hold(seeded_config):
    # The seeded account advertises more HP-100 units than the warehouse can cover; the full
    # plan pulls US back. Planning DE and US alone must come to the same US quantity: JP's
    # units are still promised, so they are not handed out again.
    config = seeded_config()
    full = changes_by_address(plan_for(config))
    cached_others = changes_by_address(plan_for(config, marketplaces=["DE", "US"]))
    assert fields(cached_others[US_HP])["quantity"] == fields(full[US_HP])["quantity"]
    for code in ("DE", "JP", "US"):
        SnapshotCache(config.state_dir).path(code).unlink()
    refreshed_others = changes_by_address(plan_for(config, marketplaces=["DE", "US"]))
    assert fields(refreshed_others[US_HP])["quantity"] == fields(full[US_HP])["quantity"]
    assert SnapshotCache(config.state_dir).load("JP") is not None  # JP was read to count it


def test_a_plan_that_cuts_listings_below_their_pulled_orders_to_reserve_them_is_not_blocked(
    seeded_config,
):
    config = seeded_config()
    placed = NOW - timedelta(hours=1)  # paid, none shipped yet
    sell(
        config,
        headphones_sold(config, 1, "US", 10, placed),
        headphones_sold(config, 2, "DE", 4, placed),
        headphones_sold(config, 3, "JP", 5, placed),
    )
    assert main(["--config", str(config.root), "orders", "pull"]) == 0
    run = plan_for(config)
    # Live 4, 5, 4 after the orders; 30 on hand - 19 owed - buffer 2 leaves 9 to advertise,
    # so every marketplace is cut below the units its own orders owe: harmless, since the
    # orders already took their units, and 9 advertised + 19 owed fit the 30 on hand.
    assert headphones(run) == {"US": 3, "DE": 3, "JP": 3}
    changes = changes_by_address(run)
    assert fields(changes[US_HP]) == {"quantity": (4, 3, "config")}
    assert fields(changes[DE_HP])["quantity"] == (5, 3, "config")
    open_orders = [v for v in run.guardrails.verdicts if v.rule == "open_orders"]
    assert [(v.outcome, v.address) for v in open_orders] == [("pass", None)]
