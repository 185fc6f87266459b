"""`sync show FILE` and targeting (`--sku`) on plan, drift and apply, against the seeded
sandbox (frozen clock)."""

from __future__ import annotations

import json

from engine.cli.main import main
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (fixture)

AT = ["--now", "2026-11-22T12:00:00Z"]


def sync(config, *args):
    return main(["--config", str(config.root), *args])


def test_show_prints_the_text_plan_printed_and_the_json_it_saved(seeded_config, capsys, tmp_path):
    config = seeded_config()
    saved = tmp_path / "plan.json"
    assert sync(config, "plan", "--out", str(saved), *AT) == 0
    planned = capsys.readouterr().out
    assert "need review" in planned or "Note:" in planned  # the explanation comes first

    assert sync(config, "show", str(saved)) == 0
    assert capsys.readouterr().out == planned
    assert sync(config, "show", str(saved), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads(saved.read_text(encoding="utf-8"))
    assert {"needs_review", "notes", "drift_report", "target"} <= shown.keys()


def test_show_refuses_a_broken_file_in_one_line(seeded_config, capsys, tmp_path):
    config = seeded_config()
    broken = tmp_path / "plan.json"
    broken.write_text('{"format_version": "2.0"}', encoding="utf-8")
    assert sync(config, "show", str(broken)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {broken}: ") and err.count("\n") == 1
    assert sync(config, "show", str(tmp_path / "missing.json")) == 1
    assert "cannot read the plan file" in capsys.readouterr().err


def test_a_targeted_plan_covers_only_matching_skus_and_says_so(seeded_config, capsys):
    config = seeded_config()
    assert sync(config, "plan", "--sku", "SPK-*", *AT) == 0
    out = capsys.readouterr().out
    assert out.startswith("Warning: this plan is targeted (--sku SPK-*)")
    assert '# listing.JP["SPK-1"] will be created' in out
    assert "HP-100" not in out  # neither the blocked DE price nor the legacy listing
    assert "Blocked" not in out

    assert sync(config, "plan", "--sku", "SPK-*", "--sku", "HP-100", "--json", *AT) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == ["SPK-*", "HP-100"]
    assert {c["sku"] for c in data["resource_changes"]} == {"SPK-1", "HP-100"}
    assert data["unmanaged"] == []


def test_apply_of_a_targeted_file_plans_again_with_its_target(seeded_config, capsys, tmp_path):
    config = seeded_config()
    saved = tmp_path / "spk.json"
    assert sync(config, "plan", "--sku", "SPK-*", "--out", str(saved), *AT) == 0
    capsys.readouterr()
    # The whole account's plan is blocked (the DE price typo); the targeted one is not.
    assert sync(config, "apply", str(saved), "--auto-approve") == 0
    out = capsys.readouterr().out
    assert "Apply finished: 2 applied, 0 failed" in out  # SPK-1 in JP (created) and the US
    assert "HP-100" not in out
    assert sync(config, "plan", "--sku", "SPK-*", "--detailed-exitcode", *AT) == 0
    assert sync(config, "plan", "--detailed-exitcode", *AT) == 3  # the rest is still to do


def test_apply_takes_sku_only_without_a_file(seeded_config, capsys, tmp_path):
    config = seeded_config()
    saved = tmp_path / "plan.json"
    saved.write_text("{}", encoding="utf-8")
    assert sync(config, "apply", str(saved), "--sku", "HP-*", "--auto-approve") == 1
    assert "a saved plan keeps the target it was made with" in capsys.readouterr().err


def test_a_targeted_apply_without_a_file_writes_only_matching_listings(seeded_config, capsys):
    config = seeded_config()
    assert sync(config, "apply", "--sku", "SPK-1", "--auto-approve") == 0
    out = capsys.readouterr().out
    assert out.startswith("Warning: this plan is targeted (--sku SPK-1)")
    assert "HP-100" not in out
    assert "Apply finished: 2 applied, 0 failed" in out


def test_drift_takes_a_target(seeded_config, capsys):
    config = seeded_config()
    assert sync(config, "drift", "--json", "--sku", "SPK-*") == 2
    data = json.loads(capsys.readouterr().out)
    assert [p["address"] for p in data["pending"]] == ['listing.JP["SPK-1"]']
    assert data["unmanaged"] == []
