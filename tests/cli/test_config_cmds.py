import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest

from engine.cli import main as cli_main
from engine.cli.main import main
from engine.config import load_config
from engine.core.exitcodes import ExitCode
from engine.state import orders as order_store
from engine.state import refill_holds, watched_orders
from engine.state.db import open_state
from engine.state.refill_holds import StoredHold
from engine.state.watched_orders import OrderUnits
from tests.guardrails.conftest import approval, files, promotion
from tests.minimal_config import CAPPED, write_config
from tests.ops.stored_orders import NOW as AT_NOON
from tests.ops.stored_orders import SELLER, order

NOW = ["--now", "2026-11-22T12:00:00Z"]
PULLED = AT_NOON - timedelta(minutes=2)


def run(config_dir, *args):
    return main(["--config", str(config_dir), *args])


def test_validate_ok(config_dir, capsys):
    assert run(config_dir, "validate", *NOW) == 0
    out = capsys.readouterr().out
    assert "valid. 2 products, 3 marketplaces, 6 listings" in out


def tree(root):
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns) for p in root.rglob("*"))


def test_validate_blocks_a_promotion_below_the_floor_offline_and_writes_nothing(config_dir, capsys):
    oops = promotion("OOPS-99", "{percent: 99}", kind="promo_code\n    code: OOPS")
    write_config(config_dir, files(promotions=(oops,)))
    before = tree(config_dir)
    assert run(config_dir, "validate", *NOW) == ExitCode.BLOCKED == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        "Guardrails that need no live state (price_floor, max_discount, promotion_duration): "
        "2 blocked, 0 approved, 0 warning(s)."
    )
    assert lines[2].startswith(
        '  BLOCK    price_floor (hard-mandatory) listing.US["HP-100"]: lowest price a buyer '
        "can reach is 0.60 USD from 2026-11-25T00:00Z (promo_code OOPS-99 (99% off)), "
        "below the floor 22.00 USD"
    )
    assert lines[3].startswith('  BLOCK    max_discount (soft-mandatory) listing.US["HP-100"]')
    assert lines[4].startswith("Blocked: 2 guardrail finding(s)")
    assert lines[5].startswith("Do not create promotion OOPS-99 in Seller Central as declared")
    assert len(lines) == 6
    assert tree(config_dir) == before  # no state store, no sandbox, no cache
    assert run(config_dir, "validate", "--no-guardrails", *NOW) == 0
    assert "Guardrails" not in capsys.readouterr().out


def test_validate_shows_approved_findings_and_warnings_and_exits_0(config_dir, capsys):
    half = promotion("HALF", "{percent: 50}")  # 29.99 USD: above the floor, past 40 %
    long_sale = promotion("LONG", "{percent: 5}", skus="[SPK-1]", end="2027-02-01T00:00:00Z")
    advisory = "marketplace: US\nguardrails:\n  promotion_duration: {level: advisory}\n"
    write_config(
        config_dir,
        {
            **files(promotions=(half, long_sale), approvals=(approval("max_discount"),)),
            "marketplaces/US.yaml": advisory,
        },
    )
    assert run(config_dir, "validate", *NOW) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("0 blocked, 1 approved, 1 warning(s).")
    assert lines[2].startswith('  APPROVED max_discount (soft-mandatory) listing.US["HP-100"]: ')
    assert lines[2].endswith(
        "approved (range 0..1000000) by maria.keller until 2026-12-31T00:00Z: Reviewed in the "
        "pull request"
    )
    assert lines[3].startswith('  WARN     promotion_duration (advisory) listing.US["SPK-1"]: ')
    assert len(lines) == 4


def test_render_json_keeps_money_as_decimal_strings(config_dir, capsys):
    assert run(config_dir, "render", "--format", "json", "-m", "DE", *NOW) == 0
    doc = json.loads(capsys.readouterr().out, parse_float=Decimal)
    assert doc["format_version"] == 1
    assert doc["rendered_at"] == "2026-11-22T12:00:00Z"
    assert [r["address"] for r in doc["resources"]] == [
        'listing.DE["HP-100"]',
        'listing.DE["SPK-1"]',
    ]
    assert doc["resources"][0]["our_price"] == "57.99"
    assert {r["marketplace"] for r in doc["replenishment"]} == {"DE"}


def test_render_table_lists_every_listing_and_a_summary(config_dir, capsys):
    assert run(config_dir, "render", *NOW) == 0
    out = capsys.readouterr().out
    assert 'listing.JP["HP-100"]' in out and "8980 JPY" in out
    assert "6 listing(s) (3 MFN, 3 FBA), 0 held for review." in out


def test_render_unknown_marketplace_is_a_user_error(config_dir, capsys):
    assert run(config_dir, "render", "-m", "FR") == 1
    assert "Error: marketplace FR is not enabled; enabled: US, DE, JP" in capsys.readouterr().err


def test_explain_prints_values_and_origins(config_dir, capsys):
    assert run(config_dir, "explain", 'listing.DE["HP-100"]', *NOW) == 0
    out = capsys.readouterr().out
    assert out.startswith('listing.DE["HP-100"]  (amazon.de, EUR, language de)')
    assert "our_price" in out and "57.99" in out
    assert "products/audio.yaml:6 (products[0].base_price)" in out
    assert "marketplaces/DE.yaml:4 (pricing.tax_delta)" in out
    assert "missing_translation" in out and "built-in default" in out
    assert "promotion floor: 20.24 EUR (cost 20.00 USD + 10%)" in out  # the minimum allowed


def test_explain_shows_the_units_reserved_for_unshipped_orders(config_dir, capsys):
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    try:
        with db.write() as conn:
            order_store.save(conn, SELLER, order(1, "DE", "Unshipped", quantity=4))
            for code in ("US", "DE", "JP"):
                order_store.set_checkpoint(conn, SELLER, code, PULLED)
    finally:
        db.close()
    assert run(config_dir, "explain", 'listing.DE["HP-100"]', *NOW) == 0
    out = capsys.readouterr().out
    # 30 on hand - 4 sold - buffer 2 = 24 over three sites: 8 each (9 for DE without).
    assert "  quantity                      8\n" in out
    assert (
        "30 on hand, 4 reserved for unshipped orders (302-0000001-0000001), from orders pulled "
        "for US, DE, JP until 2026-11-22 11:58 UTC"
    ) in out


def test_explain_shows_the_exposure_cap_from_the_stored_orders_and_a_held_refill(tmp_path, capsys):
    config_dir = write_config(tmp_path / "config", CAPPED)
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    try:
        with db.write() as conn:
            # 110 units in the pulled order and 20 the watchdog saw: 130 a week, 4 per 4 h.
            order_store.save(conn, SELLER, order(1, "DE", "Shipped", quantity=110))
            lines = [
                OrderUnits(f"w{i}", f"303-{i}", "DE", "HP-100", AT_NOON - timedelta(days=1), 2)
                for i in range(10)
            ]
            watched_orders.record_units(conn, SELLER, lines)
            since = AT_NOON - timedelta(minutes=20)
            refill_holds.put(
                conn,
                SELLER,
                StoredHold("DE", "HP-100", since, "unjudged", "1 order(s) not priced yet"),
            )
    finally:
        db.close()
    assert run(config_dir, "explain", 'listing.DE["HP-100"]', *NOW) == 0
    out = capsys.readouterr().out
    assert (
        "exposure cap 4: 130 unit(s) sold in the last 7 days make 4 per refill interval of 4h "
        "(rounded up), within floor 2, ceiling 6"
    ) in out
    assert "refill held since 2026-11-22 11:40 UTC: 1 order(s) not priced yet" in out
    assert "  quantity                      0\n" in out  # held: nothing live is not raised
    assert "project.yaml:22 (defaults.exposure.refill_every)" in out
    assert run(config_dir, "explain", 'listing.US["HP-100"]', *NOW) == 0
    out = capsys.readouterr().out
    assert "exposure cap 2: 0 unit(s) sold" in out and "refill held" not in out
    assert "  quantity                      2\n" in out


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("DE/HP-100", 'must look like listing.DE["HP-100"]'),
        ('listing.FR["HP-100"]', "marketplace FR is not enabled"),
        ('listing.DE["NOPE"]', "no product with SKU 'NOPE'"),
    ],
)
def test_explain_bad_address(config_dir, capsys, address, message):
    assert run(config_dir, "explain", address) == 1
    assert message in capsys.readouterr().err


def test_bad_now_is_a_user_error(config_dir, capsys):
    assert run(config_dir, "render", "--now", "2026-11-22T12:00:00") == 1
    assert "needs a timezone" in capsys.readouterr().err


def test_missing_config_dir(tmp_path, capsys):
    assert run(tmp_path / "nowhere", "validate") == 1
    assert "config directory not found" in capsys.readouterr().err


def test_unexpected_error_saves_a_traceback_and_exits_70(config_dir, capsys, monkeypatch, tmp_path):
    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("engine.flows.validate.render", explode)
    monkeypatch.setattr(cli_main, "crash_log_dir", lambda: tmp_path)
    assert run(config_dir, "validate") == ExitCode.INTERNAL_ERROR == 70
    err = capsys.readouterr().err
    assert "Internal error: RuntimeError('boom')" in err
    logs = list(tmp_path.glob("sellersync-crash-*.log"))
    assert len(logs) == 1 and "RuntimeError: boom" in logs[0].read_text()


def test_python_dash_m_engine_is_the_same_program():
    result = subprocess.run(
        [sys.executable, "-m", "engine", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "sellersync" in result.stdout


def _broken(config_dir):
    from tests.minimal_config import edited

    write_config(
        config_dir, edited("products/audio.yaml", 'base_price: "59.99"', "base_price: cheap")
    )
    return config_dir / "products" / "audio.yaml"


def test_validate_format_github_annotates_the_line_of_each_error(config_dir, capsys):
    path = _broken(config_dir)
    assert run(config_dir, "validate", "--format", "github", *NOW) == 1
    out = capsys.readouterr().out.splitlines()
    line = 1 + next(i for i, t in enumerate(path.read_text().splitlines()) if "cheap" in t)
    [annotation] = [o for o in out if o.startswith("::error ")]
    assert annotation.startswith(f"::error file={path},line={line},col=")
    assert ",title=config::products[0].base_price: " in annotation
    assert out[-1] == f"{config_dir}: 1 finding(s)."


def test_validate_format_github_escapes_what_the_runner_would_misread():
    from engine.plan.findings import Finding, github_annotations

    [line] = github_annotations([Finding("config", "error", "50%\nnext", "a,b:c.yaml", 3, 4)])
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,col=4,title=config::50%25%0Anext"


def test_validate_format_json_and_a_guardrail_block(config_dir, capsys):
    oops = promotion("OOPS-99", "{percent: 99}", kind="promo_code\n    code: OOPS")
    write_config(config_dir, files(promotions=(oops,)))
    assert run(config_dir, "validate", "--format", "json", *NOW) == ExitCode.BLOCKED
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["errors"] == 2
    assert {f["rule"] for f in report["findings"]} == {
        "guardrail/price_floor",
        "guardrail/max_discount",
    }
    assert report["findings"][0]["message"].startswith('listing.US["HP-100"]: lowest price')


def test_validate_format_sarif_is_valid_sarif_2_1_0(config_dir, capsys):
    path = _broken(config_dir)
    assert run(config_dir, "validate", "--format", "sarif", *NOW) == 1
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0"
    [sarif_run] = log["runs"]
    assert sarif_run["tool"]["driver"]["name"] == "sellersync"
    assert [r["id"] for r in sarif_run["tool"]["driver"]["rules"]] == ["config"]
    [result] = sarif_run["results"]
    assert result["ruleId"] == "config" and result["ruleIndex"] == 0 and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == str(path)
    assert location["region"]["startLine"] >= 1
    jsonschema.validate(log, SARIF_MINIMAL)


# The parts of the SARIF 2.1.0 schema a minimal log must satisfy (the full schema is not
# vendored here): what GitHub code scanning reads.
SARIF_MINIMAL = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"rules": {"type": "array"}},
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"]},
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_validate_format_github_of_a_missing_config_is_an_annotation(tmp_path, capsys):
    assert run(tmp_path / "nowhere", "validate", "--format", "github", *NOW) == 1
    [annotation, _] = capsys.readouterr().out.splitlines()
    assert annotation.startswith(f"::error file={tmp_path / 'nowhere'},title=config::")
    assert annotation.endswith("::config directory not found")


def test_explain_json_gives_values_as_strings_with_their_origins(config_dir, capsys):
    assert run(config_dir, "explain", 'listing.DE["HP-100"]', "--json", *NOW) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["format_version"], data["address"], data["currency"]) == (
        1,
        'listing.DE["HP-100"]',
        "EUR",
    )
    price = data["fields"]["our_price"]
    assert price["value"] == "57.99"
    [base] = [o for o in price["from"] if o["path"] == "products[0].base_price"]
    assert base["file"] == str(config_dir / "products" / "audio.yaml") and base["line"] == 6
    assert data["fields"]["minimum_seller_allowed_price"]["note"].startswith("promotion floor")
    assert data["settings"]["missing_translation"]["from"] is None  # a built-in default
