"""`sync watch --once` and `sync incident` as a CI job runs them: on the demo seller's
sandbox (opened by the command itself from the state directory), exit codes, JSON, the
Markdown file, and one-line errors."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from engine.cli.main import main
from engine.cli.watch_cmds import parse_interval
from engine.core.errors import UserError
from engine.core.marketplaces import MARKETPLACES
from engine.sandbox.promotions import Promotion
from engine.sandbox.scenario import add_promotion
from tests.watch.conftest import STEP, _clean_spapi_env, open_demo  # noqa: F401  (fixtures)


def run(config_dir, *args):
    return main(["--config", str(config_dir), *args])


@pytest.fixture
def seller(open_demo):  # noqa: F811  (the imported fixture)
    """The demo sandbox prepared in-process; the commands reopen it from its state dir
    (its frozen clock is saved there)."""
    demo = open_demo()
    demo.box.stop()
    return demo


def test_a_quiet_pass_exits_0_and_writes_json_and_markdown(seller, tmp_path, capsys):
    markdown = tmp_path / "watch.md"
    code = run(seller.config_dir, "watch", "--once", "--json", "--markdown", str(markdown))
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["status"] == "quiet"
    assert [r["marketplace"] for r in summary["reads"]] == list(seller.config.project.marketplaces)
    assert markdown.read_text(encoding="utf-8").startswith("### sellersync watch: quiet")


def test_a_runaway_promotion_exits_2_and_the_incident_is_listed(seller, capsys):
    now = seller.box.clock.now()
    add_promotion(
        seller.box.account,
        Promotion(
            "SC-KIDS99",
            "percent-off",
            Decimal(99),
            "HP-KIDS-1",
            MARKETPLACES["US"].marketplace_id,
            now,
            now + timedelta(hours=2),
            now,
        ),
    )
    seller.buyers(STEP)
    seller.box.save_clock()
    assert run(seller.config_dir, "watch", "--once") == 2
    out = capsys.readouterr().out
    assert "BREAKER TRIPPED" in out and 'below_floor on listing.US["HP-KIDS-1"]' in out
    assert run(seller.config_dir, "incident", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["marketplace"], listed["sku"]) == ("US", "HP-KIDS-1")
    assert (listed["status"], listed["acknowledged"]) == ("tripped", None)
    assert run(seller.config_dir, "incident", listed["incident"]) == 0
    out = capsys.readouterr().out
    assert "7-day cancellation rate" in out and "<CancelReason>GeneralAdjustment" in out

    # Acknowledged in incidents.yaml, before a watch pass releases it: not tripped any more.
    (seller.config_dir / "incidents.yaml").write_text(
        "incidents:\n"
        f"  - id: {listed['incident']}\n"
        "    marketplace: US\n"
        "    sku: HP-KIDS-1\n"
        "    acknowledged_by: maria.keller\n"
        '    acknowledged_at: "2026-11-28T09:15:00Z"\n'
        "    resolution: promotion code fixed\n",
        encoding="utf-8",
    )
    assert run(seller.config_dir, "incident") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "no tripped breakers"
    assert lines[1].startswith("Acknowledged in incidents.yaml, no longer holding their listing")
    assert lines[2].endswith("acknowledged by maria.keller 2026-11-28T09:15:00Z")
    assert run(seller.config_dir, "incident", "--json") == 0
    [acked] = json.loads(capsys.readouterr().out)
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged"] == {"by": "maria.keller", "at": "2026-11-28T09:15:00Z"}


def test_an_unknown_incident_is_one_line(seller, capsys):
    assert run(seller.config_dir, "incident", "INC-NOPE") == 1
    assert capsys.readouterr().err == (
        "Error: no tripped breaker has incident 'INC-NOPE' (tripped: none)\n"
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("1h", 3600), ("90s", 90), ("600", 600)]
)
def test_intervals(text, seconds):
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["15 minutes", "30s", "-5m", ""])
def test_bad_intervals_are_refused(text):
    with pytest.raises(UserError, match="--interval"):
        parse_interval(text)
