"""`sync drift` on a store that sells, and adoption with `sync drift --refresh-only` and
`sync apply --refresh-only`, against the seeded sandbox (frozen clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.config import load_config
from engine.desired.render import render
from engine.flows.session import live_session
from engine.sandbox import faults
from engine.sandbox.runtime import Sandbox
from engine.state import api_calls, last_applied
from engine.state.breakers import Breaker
from engine.watch import breaker
from engine.watch.refill import refill
from tests.cli.test_plan_cmds import AT, fix_de_price, sync
from tests.minimal_config import edited
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)

US_HP = 'listing.US["HP-100"]'
US_SPK = 'listing.US["SPK-1"]'
DE_HP = 'listing.DE["HP-100"]'
WRITES = {"patchListingsItem", "putListingsItem", "deleteListingsItem", "createFeed"}


def edit_live(config, edit, *args):
    """An edit made in Seller Central: `edit` is a function of engine.sandbox.faults."""
    box = Sandbox.open(config.state_dir)
    try:
        edit(box.account, *args)
    finally:
        box.store.close()


def drift_json(config, capsys, code):
    assert sync(config, "drift", "--json", *AT) == code
    return json.loads(capsys.readouterr().out)


def recorded(config):
    with live_session(config) as (_, db), db.read() as conn:
        return last_applied.load(conn, config.project.seller_id)


def amazon_writes(config):
    """Every listing write the account ever sent (the API call log)."""
    with live_session(config) as (_, db), db.read() as conn:
        calls = api_calls.since(conn, config.project.seller_id, datetime.min.replace(tzinfo=UTC))
    return [c.operation for c in calls if c.operation in WRITES]


@pytest.fixture
def applied(seeded_config, capsys):
    """The seeded store with everything the config asks for applied (the DE price typo
    fixed by hand first: correcting it needs an approval)."""
    config = seeded_config()
    fix_de_price(config)
    assert sync(config, "apply", "--auto-approve") == 0
    assert amazon_writes(config)  # the call log shows writes: none is missed below
    capsys.readouterr()
    return config


def test_a_day_of_sales_is_not_drift_once_its_orders_are_pulled(applied, capsys):
    config = applied
    assert drift_json(config, capsys, 0)["drifted"] == []
    # A seed whose day sells no DE HP-100: that listing was fixed by hand, never applied,
    # so its sales show as "not adopted" (a person adopts it), which is not this test's case.
    assert sync(config, "sandbox", "simulate", "--hours", "24", "--seed", "6") == 0
    capsys.readouterr()

    unexplained = drift_json(config, capsys, 2)  # orders never pulled: cannot tell
    sold = [d for d in unexplained["drifted"] if d["field"] == "quantity"]
    assert sold and all(d["live"] < d["last_applied"] for d in sold)
    assert {d["hint"] for d in sold} == {"orders never pulled for US"}
    assert unexplained["notes"][0].startswith("Orders were never pulled for US")

    assert sync(config, "orders", "pull") == 0
    capsys.readouterr()
    report = drift_json(config, capsys, 0)
    assert report["differs"] is False and report["drifted"] == []
    assert [(e["address"], e["live"]) for e in report["explained_by_orders"]] == [
        (d["address"], d["live"]) for d in sold
    ]
    assert sync(config, "drift", *AT) == 0
    assert "MFN quantity(ies) explained by orders placed since the last apply" in (
        capsys.readouterr().out
    )

    # Units put back by hand on top of the sales are drift again: quantity went up.
    edit_live(config, faults.out_of_band_quantity, "US", "HP-100", sold[0]["last_applied"] + 3)
    [raised] = drift_json(config, capsys, 2)["drifted"]
    assert (raised["address"], raised["field"]) == (US_HP, "quantity")


def test_a_breaker_write_is_held_not_drift(applied, capsys):
    config = applied
    seller = config.project.seller_id
    trip = Breaker("US", "SPK-1", datetime.now(UTC), "velocity: test", "INC-TEST-US-SPK-1")
    with live_session(config) as (backend, db):
        tripped = breaker.trip(db, seller, [trip])
        [done] = breaker.enforce(backend, db, seller, tripped, backend.now())
    assert done.outcome == "written"

    report = drift_json(config, capsys, 0)
    [held] = report["held_by_breaker"]
    assert (held["address"], held["field"]) == (US_SPK, "minimum_seller_allowed_price")
    assert held["reason"] == "held by breaker INC-TEST-US-SPK-1" and report["drifted"] == []
    assert sync(config, "drift", *AT) == 0
    assert f"{US_SPK} minimum_seller_allowed_price held by breaker INC-TEST-US-SPK-1" in (
        capsys.readouterr().out
    )
    # A hand edit beside the breaker's write is drift all the same.
    edit_live(config, faults.out_of_band_price, "US", "SPK-1", "60.00")
    assert [d["field"] for d in drift_json(config, capsys, 2)["drifted"]] == ["our_price"]


CAPPED = edited(
    "project.yaml",
    "  stock:\n",
    "  exposure: {refill_every: 4h, floor: 2, ceiling: 10}\n  stock:\n",
)
STOCK = "sku,on_hand\nHP-100,{}\nSPK-1,12\n"


def test_a_watchdog_refill_is_explained_not_drift(seeded_config, capsys):
    """Stock arrived after the last apply, and the watch pass refilled the capped HP-100
    listings to their cap (2) before any apply ran: drift names the refills, not edits."""
    config = seeded_config({**CAPPED, "stock.csv": STOCK.format(5)})
    fix_de_price(config)
    assert sync(config, "apply", "--auto-approve") == 0
    capsys.readouterr()
    assert recorded(config)[US_HP]["quantity"] == 1  # 5 units: one per marketplace
    (config.root / "stock.csv").write_text(STOCK.format(30), encoding="utf-8")
    config = load_config(config.root)
    keys = {(code, "HP-100") for code in ("US", "DE", "JP")}
    with live_session(config) as (backend, db):
        now = backend.now()
        done = refill(config, backend, db, render(config, now).resources, keys, now)
    assert {(r.outcome, r.before, r.after) for r in done} == {("written", 1, 2)}

    report = drift_json(config, capsys, 0)
    assert report["drifted"] == [] and report["pending"] == []
    # DE and JP were seeded as the config wanted them, so the apply never wrote them and
    # their refills have no last apply to differ from: only US is measured from a refill.
    [refilled] = report["refilled_by_watchdog"]
    assert (refilled["address"], refilled["field"], refilled["live"]) == (US_HP, "quantity", 2)
    assert refilled["reason"].startswith("refilled to 2 by the watchdog at ")
    assert sync(config, "drift", *AT) == 0
    assert "1 MFN quantity(ies) set by the watchdog's refills of capped listings" in (
        capsys.readouterr().out
    )
    # Units put on the listing by hand after the refill are drift all the same.
    edit_live(config, faults.out_of_band_quantity, "US", "HP-100", 6)
    [raised] = drift_json(config, capsys, 2)["drifted"]
    assert (raised["address"], raised["field"], raised["live"]) == (US_HP, "quantity", 6)
    assert raised["hint"].startswith("refilled to 2 by the watchdog at ")


def test_ignore_rules_in_project_yaml_keep_a_field_out_of_drift(applied, capsys):
    config = applied
    project = config.root / "project.yaml"
    edit_live(config, faults.out_of_band_price, "US", "SPK-1", "97.99")
    assert [d["address"] for d in drift_json(config, capsys, 2)["drifted"]] == [US_SPK]
    project.write_text(
        project.read_text(encoding="utf-8")
        + "drift:\n  ignore:\n"
        + "    - {field: our_price, skus: [SPK-*], marketplaces: [US], reason: repricer}\n",
        encoding="utf-8",
    )
    report = drift_json(config, capsys, 0)
    assert report["ignored"] == [
        {"address": US_SPK, "field": "our_price", "live": "97.99", "reason": "repricer"}
    ]
    project.write_text(
        project.read_text(encoding="utf-8").replace("field: our_price", "field: price"),
        encoding="utf-8",
    )
    assert sync(config, "drift", *AT) == 1
    assert "drift.ignore[0].field: expected one of: product_type" in capsys.readouterr().err


def test_refresh_only_adopts_what_is_live_after_review(seeded_config, capsys, tmp_path):
    config = seeded_config()  # nothing applied yet: every difference is "not yet adopted"
    adopt = tmp_path / "adopt.json"
    before = drift_json(config, capsys, 2)
    assert {p["address"] for p in before["not_adopted"]} == {DE_HP, US_HP, US_SPK}
    assert [p["address"] for p in before["pending"]] == ['listing.JP["SPK-1"]']

    assert sync(config, "drift", "--refresh-only", "--out", str(adopt), *AT) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "Refresh-only: sellersync will record what is live as last applied for 5 listing(s). "
        "Nothing is written to Amazon.\n"
    )
    assert (
        f"  # {DE_HP} never applied by sellersync: adopted as live\n"
        "      our_price = 5799.00 EUR  (the config says 57.99 EUR: the next plan changes it)\n"
    ) in captured.out
    assert f"sync apply --refresh-only {adopt}" in captured.err
    saved = json.loads(adopt.read_text(encoding="utf-8"), parse_float=Decimal)
    assert saved["kind"] == "refresh-only" and len(saved["listings"]) == 5

    assert sync(config, "apply", "--refresh-only", str(adopt), "--auto-approve") == 0
    assert "Recorded what is live as last applied for 5 listing(s)" in capsys.readouterr().out
    assert amazon_writes(config) == []
    assert recorded(config)[DE_HP]["our_price"] == Decimal("5799.00")
    assert recorded(config)[US_SPK]["quantity"] is None  # FBA: Amazon's, as apply records it

    after = drift_json(config, capsys, 2)  # the typo fix is now a config change to apply
    assert after["not_adopted"] == [] and after["drifted"] == []
    [typo] = [p for p in after["pending"] if p["address"] == DE_HP]
    assert typo["currency"] == "EUR"
    assert typo["fields"]["our_price"] == {"before": "5799.00", "after": "57.99"}
    assert [p["address"] for p in after["pending"]] == [
        DE_HP,
        'listing.JP["SPK-1"]',
        US_HP,
        US_SPK,
    ]
    edit_live(config, faults.out_of_band_price, "US", "SPK-1", "97.99")
    [edited] = drift_json(config, capsys, 2)["drifted"]  # a Seller Central edit is drift now
    assert (edited["address"], edited["last_applied"], edited["live"]) == (
        US_SPK,
        "103.94",
        "97.99",
    )


def test_refresh_only_refuses_a_file_live_has_moved_on_from(seeded_config, capsys, tmp_path):
    config = seeded_config()
    adopt = tmp_path / "adopt.json"
    assert sync(config, "drift", "--refresh-only", "--out", str(adopt), *AT) == 0
    edit_live(config, faults.out_of_band_price, "US", "SPK-1", "97.99")
    capsys.readouterr()
    assert sync(config, "apply", "--refresh-only", str(adopt), "--auto-approve") == 4
    err = capsys.readouterr().err
    assert (
        "the refresh-only file is stale, nothing was recorded: "
        f"{US_SPK} changed live since the file was made"
    ) in err
    assert recorded(config) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("drift", "--out", "x.json"), "--out saves a refresh-only file; add --refresh-only"),
        (("drift", "--refresh-only", "--markdown", "x.md"), "drop --markdown"),
        (("apply", "--refresh-only", "--auto-approve"), "--refresh-only needs the FILE"),
        (("apply", "--refresh-only", "--recheck"), "does not go with a journal chore"),
    ],
)
def test_refresh_only_misuse_is_one_line(seeded_config, capsys, args, message):
    assert sync(seeded_config(), *args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_apply_refresh_only_names_a_file_that_is_not_one(seeded_config, capsys, tmp_path):
    plan = tmp_path / "plan.json"
    config = seeded_config()
    assert sync(config, "plan", "--out", str(plan), *AT) == 0
    capsys.readouterr()
    assert sync(config, "apply", "--refresh-only", str(plan), "--auto-approve") == 1
    assert "not a refresh-only file (make one with `sync drift --refresh-only" in (
        capsys.readouterr().err
    )
