"""`sync sandbox reset --from-config DIR --exact`: a sandbox seeded exactly from a config, so
that a plan against it shows only what changed in the config since (how CI plans a fork's
pull request against the base branch's config), and every reset names its config."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.cli.sandbox_cmds import sandbox
from engine.core.resource import address
from engine.flows.plan import plan_config
from engine.sandbox.runtime import Sandbox
from engine.sandbox.seed import build_seed
from tests.minimal_config import edited, write_config
from tests.sandbox.conftest import NOW, SELLER, _clean_spapi_env, demo_resources  # noqa: F401


def reset(config_dir: Path, *args: str):
    result = CliRunner().invoke(
        sandbox, ["--timing", "fast", "reset", *args], obj={"config_dir": config_dir}
    )
    assert result.exit_code == 0, result.output
    return result.output


def changes(config_dir: Path) -> dict[str, set[str]]:
    """address -> the fields the plan changes (create/delete: the action); live listings
    the config does not describe count as "unmanaged"."""
    run, _ = plan_config(config_dir, now=datetime.now(UTC), activity="plan")
    return {
        c.address: {f.field for f in c.fields} if c.action == "update" else {c.action}
        for c in run.plan.changes
    } | {unmanaged: {"unmanaged"} for unmanaged in run.plan.unmanaged}


def test_an_exact_seed_has_no_differences_and_records_its_source(tmp_path):
    seed, differences = build_seed(SELLER, demo_resources(), NOW, exact=True, source="/x")
    assert differences == [] and seed.notes == ()
    assert len(seed.listings) == len(demo_resources())  # none missing, none unmanaged
    assert not seed.issues
    assert (seed.source, seed.exact) == ("/x", True)
    demo, _ = build_seed(SELLER, demo_resources(), NOW)
    assert (demo.source, demo.exact) == ("", False)


def test_reset_exact_then_plan_shows_no_changes(config_dir):
    out = reset(config_dir, "--exact")
    assert f"seeded from the config in {config_dir.resolve()}" in out
    assert "exact: no deliberate differences" in out
    assert changes(config_dir) == {}
    assert main(["--config", str(config_dir), "plan", "--detailed-exitcode"]) == 0


def test_a_plain_reset_names_its_config_and_the_demo_differences(config_dir):
    out = reset(config_dir)
    assert f"seeded from the config in {config_dir.resolve()}" in out
    assert "deliberate difference(s) from the config" in out and "exact" not in out
    assert changes(config_dir)  # the demo's differences show as changes
    out = reset(config_dir, "--stored")
    assert f"restored the stored seed, rendered from {config_dir.resolve()}" in out


def test_the_base_config_seeds_a_pr_plan_that_shows_only_the_pr_diff(tmp_path):
    base = write_config(tmp_path / "base" / "config")
    pr = write_config(
        tmp_path / "pr" / "config",
        edited("products/audio.yaml", 'base_price: "99.00"', 'base_price: "109.00"'),
    )
    # Seeded from the PR's own config, as before: the demo's differences, not the PR's.
    reset(pr)
    assert changes(pr) != {address(m, "SPK-1"): {"our_price"} for m in ("US", "DE", "JP")}

    out = reset(pr, "--from-config", str(base), "--exact")
    assert f"seeded from the config in {base.resolve()}" in out
    assert changes(pr) == {address(m, "SPK-1"): {"our_price"} for m in ("US", "DE", "JP")}
    # The sandbox is the PR config's (its state folder), not the base's.
    assert not (tmp_path / "base" / ".sellersync").exists()
    box = Sandbox.open(tmp_path / "pr" / ".sellersync")
    status = box.status()
    box.store.close()
    assert status["seeded_from"] == str(base.resolve()) and status["seed_exact"]


def test_stored_refuses_reseeding_options(config_dir, tmp_path):
    other = shutil.copytree(config_dir, tmp_path / "other")
    for args in (["--stored", "--exact"], ["--stored", "--from-config", str(other)]):
        result = CliRunner().invoke(
            sandbox, ["reset", *args], obj={"config_dir": config_dir}, standalone_mode=False
        )
        assert result.exit_code != 0
        assert "--stored restores the stored seed" in str(result.exception)


@pytest.mark.parametrize("args", [["--from-config", "missing-dir"]])
def test_from_config_must_exist(config_dir, args):
    result = CliRunner().invoke(sandbox, ["reset", *args], obj={"config_dir": config_dir})
    assert result.exit_code == 2 and "does not exist" in result.output
