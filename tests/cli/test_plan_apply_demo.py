"""The plan/apply loop through the CLI on a copy of the demo config, against the embedded
sandbox seeded at NOW on a frozen virtual clock (waits move that clock: nothing sleeps).

Covers what ties the pieces together: stock allocation converges (plan, apply, plan is
empty), guardrail verdicts in the plan and apply's refusal, breakers held in the plan until
incidents.yaml acknowledges them, `sync apply` without a file, and heartbeats."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from engine.cli.main import main
from engine.config import Config, load_config
from engine.flows.connect import open_backend, sandbox_seed
from engine.sandbox.clock import VirtualClock
from engine.sandbox.runtime import Sandbox
from engine.state import journal
from engine.state.breakers import Breaker
from engine.state.db import open_state
from engine.watch import breaker
from tests.conftest import NOW
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config"
PLAN_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
AT = ["--now", "2026-11-22T12:00:00Z"]
TRIP = Breaker("US", "HP-100", NOW, "floor: test trip", "INC-202611221200-US-HP-100")
# The seed types one US price 100x too high; correcting it is a -99 % change, which the
# price_change_size rule (soft-mandatory) lets through only with an approval.
TYPO_APPROVAL = """\
approvals:
  - rule: price_change_size
    scope: {marketplaces: [US], skus: [ACC-CASE-HP]}
    approves: {value: "19.99"}
    reason: Correcting the price typed 100x too high
    approver: test.reviewer
    expires: "2027-01-31T00:00:00Z"
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    config_dir = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG, config_dir, ignore=shutil.ignore_patterns(".sellersync"))
    config = load_config(config_dir)
    box = Sandbox.open(
        config.state_dir, seed=sandbox_seed(config, NOW), clock=VirtualClock.frozen_at(NOW)
    )
    box.store.close()
    return config_dir


def sync(config_dir: Path, *args: str) -> int:
    return main(["--config", str(config_dir), *args])


def plan_json(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert sync(config_dir, "plan", "--json", "-m", "US", *AT) == 0
    return json.loads(capsys.readouterr().out, parse_float=Decimal)


def changes(plan: dict) -> dict[str, dict]:
    return {c["address"]: c["change"] for c in plan["resource_changes"]}


def apply_runs(config_dir: Path) -> list:
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    try:
        with db.read() as conn:
            return journal.runs(conn, config.project.seller_id)
    finally:
        db.close()


def test_plan_apply_plan_converges(demo, capsys, tmp_path):
    (demo / "approvals.yaml").write_text(TYPO_APPROVAL, encoding="utf-8")
    plan_file = tmp_path / "plan.json"
    assert sync(demo, "plan", "--out", str(plan_file), *AT) == 0
    assert sync(demo, "apply", str(plan_file), "--auto-approve") == 0
    assert "0 failed" in capsys.readouterr().out
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 0
    assert "No changes." in capsys.readouterr().out


def test_a_declared_99_percent_promotion_blocks_the_plan_and_apply_writes_nothing(
    demo, capsys, tmp_path
):
    promotions = demo / "promotions.yaml"
    promotions.write_text(
        promotions.read_text(encoding="utf-8")
        + """\
  - id: OOPS-99
    kind: percent_off
    discount: {percent: 99}
    marketplaces: [US]
    skus: [HP-100]
    start: "2026-11-22T00:00:00Z"
    end: "2026-11-29T00:00:00Z"
""",
        encoding="utf-8",
    )
    plan_file = tmp_path / "plan.json"
    assert sync(demo, "plan", "--out", str(plan_file), *AT) == 0
    out = capsys.readouterr().out
    assert "sync apply will refuse this plan" in out
    assert "BLOCK" in out and "(hard-mandatory)" in out and 'listing.US["HP-100"]' in out
    saved = json.loads(plan_file.read_text(encoding="utf-8"))
    assert any(
        v["outcome"] == "block" and v["level"] == "hard-mandatory" for v in saved["guardrails"]
    )
    assert sync(demo, "apply", str(plan_file), "--auto-approve") == 3
    assert sync(demo, "apply", "--auto-approve") == 3  # planning on the spot: refused too
    assert "nothing was applied" in capsys.readouterr().err
    assert apply_runs(demo) == []


# The founding incident, declared: a promotion code meant as 9 % off typed as 99 %. Declaring
# it changes no listing; the plan must still fail a CI check.
PROMO_CODE_99 = """\
  - id: BLACKFRIDAY-99
    kind: promo_code
    code: BF99
    discount: {percent: 99}
    marketplaces: [US]
    skus: [HP-*]
    start: "2026-11-22T00:00:00Z"
    end: "2026-11-29T00:00:00Z"
"""


def declare(config_dir: Path, promotion: str) -> None:
    promotions = config_dir / "promotions.yaml"
    promotions.write_text(promotions.read_text(encoding="utf-8") + promotion, encoding="utf-8")


def test_detailed_exitcode_3_for_a_blocked_plan_even_without_listing_changes(
    demo, capsys, tmp_path
):
    # The demo's price typo blocks its plan, but only against live: the config alone is fine.
    assert sync(demo, "validate", *AT) == 0
    assert sync(demo, "plan", "--detailed-exitcode", "-m", "DE", *AT) == 2  # clean, changes
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 3  # the US price typo: blocked
    (demo / "approvals.yaml").write_text(TYPO_APPROVAL, encoding="utf-8")
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 2  # every block approved
    assert sync(demo, "apply", "--auto-approve") == 0
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 0
    capsys.readouterr()

    declare(demo, PROMO_CODE_99)
    plan_file, comment = tmp_path / "plan.json", tmp_path / "plan.md"
    args = ["plan", "--out", str(plan_file), "--markdown", str(comment), *AT]
    assert sync(demo, *args, "--detailed-exitcode") == 3
    out = capsys.readouterr().out
    # No listing changes, but not "nothing to do": Seller Central is where it must stop.
    assert "No listing changes. Live listings match the configuration." in out
    assert "No changes." not in out
    assert (
        "Do not create promotion BLACKFRIDAY-99 in Seller Central as declared: the guardrails "
        "block it" in out
    )
    assert "Do not create promotion BLACKFRIDAY-99" in comment.read_text(encoding="utf-8")
    blocks = json.loads(plan_file.read_text(encoding="utf-8"))["guardrails"]
    blocked = [v for v in blocks if v["outcome"] == "block"]
    assert {v["rule"] for v in blocked} == {"price_floor", "max_discount"}
    assert out.rstrip().endswith("`sync apply` will refuse this plan.")
    assert f"Blocked: {len(blocked)} guardrail finding(s)" in out
    assert "blocked" in comment.read_text(encoding="utf-8")
    assert sync(demo, *args) == 0  # without --detailed-exitcode a plan that ran is a success
    capsys.readouterr()
    # Both rules need nothing live: validate blocks the same findings, offline.
    assert sync(demo, "validate", *AT) == 3
    assert f"Blocked: {len(blocked)} guardrail finding(s)" in capsys.readouterr().out


def test_a_tripped_breaker_holds_the_listing_until_the_incident_is_acknowledged(demo, capsys):
    config: Config = load_config(demo)
    seller = config.project.seller_id
    db = open_state(config.project.state, config.state_dir)
    try:
        tripped = breaker.trip(db, seller, [TRIP])
        with open_backend(config) as backend:
            [done] = breaker.enforce(backend, db, seller, tripped, NOW)
    finally:
        db.close()
    assert done.outcome == "written"
    address = 'listing.US["HP-100"]'

    held = plan_json(demo, capsys)
    jsonschema.validate(held, json.loads(PLAN_SCHEMA.read_text(encoding="utf-8")))
    assert [(h["address"], h["incident"]) for h in held["held"]] == [(address, TRIP.incident_id)]
    assert address not in changes(held)  # live quantity 0 is what the plan wants
    assert sync(demo, "plan", *AT) == 0
    assert f"held by breaker {TRIP.incident_id}" in capsys.readouterr().out

    (demo / "incidents.yaml").write_text(
        f"""\
incidents:
  - id: {TRIP.incident_id}
    marketplace: US
    sku: HP-100
    acknowledged_by: test.reviewer
    acknowledged_at: "2026-11-22T11:00:00Z"
    resolution: Test trip; the price is correct
""",
        encoding="utf-8",
    )
    restored = plan_json(demo, capsys)
    assert restored["held"] == []
    quantity = next(f for f in changes(restored)[address]["fields"] if f["field"] == "quantity")
    assert quantity["before"] == 0 and quantity["after"] > 0


def test_apply_without_a_file_plans_shows_and_applies_that_plan(demo, capsys):
    (demo / "approvals.yaml").write_text(TYPO_APPROVAL, encoding="utf-8")
    assert sync(demo, "apply", "--auto-approve") == 0
    out = capsys.readouterr().out
    assert out.index("Plan: ") < out.index("Apply finished: ")
    assert "0 failed" in out
    [run] = apply_runs(demo)
    assert run.status == "succeeded"
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 0


def test_plan_apply_and_watch_record_heartbeats_shown_by_status(demo, capsys):
    (demo / "approvals.yaml").write_text(TYPO_APPROVAL, encoding="utf-8")
    assert sync(demo, "plan", *AT) == 0
    assert sync(demo, "apply", "--auto-approve") == 0
    assert sync(demo, "watch", "--once") in (0, 2)
    capsys.readouterr()
    assert sync(demo, "status", "--json", "--now", "2026-11-23T12:00:00Z") == 0
    status = json.loads(capsys.readouterr().out)
    assert all(status["last_success"][a] is not None for a in ("plan", "apply", "watch"))
    assert status["api_calls"] > 0  # plan's reads went to the call log


def test_apply_records_the_guardrails_it_ran_under_and_the_next_change_cannot_weaken_them(
    demo, capsys
):
    """First apply: nothing to compare with, said in a warning. After it, a change that
    declares a 99 % code and sets price_floor to advisory in the same diff is blocked by
    guardrail_weakening (hard-mandatory); the warning from before is gone."""
    (demo / "approvals.yaml").write_text(TYPO_APPROVAL, encoding="utf-8")
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 2
    assert "guardrail settings not compared with the last applied ones" in (capsys.readouterr().out)
    assert sync(demo, "apply", "--auto-approve") == 0
    capsys.readouterr()
    us = demo / "marketplaces" / "US.yaml"
    us.write_text(
        us.read_text(encoding="utf-8") + "\nguardrails:\n  price_floor: {level: advisory}\n",
        encoding="utf-8",
    )
    declare(demo, PROMO_CODE_99)
    assert sync(demo, "plan", "--detailed-exitcode", *AT) == 3
    out = capsys.readouterr().out
    assert "BLOCK    guardrail_weakening (hard-mandatory) marketplace US" in out
    assert "guardrails.price_floor.level: level lowered from hard-mandatory to advisory" in out
    assert "not compared with the last applied ones" not in out
