import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from engine.cli import main as cli_main
from engine.cli.main import main
from engine.config import load_config
from engine.exitcodes import ExitCode
from engine.state import orders as order_store
from engine.state.db import open_state
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


def test_unexpected_error_saves_a_traceback_and_exits_70(
    config_dir, capsys, monkeypatch, tmp_path
):
    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("engine.cli.config_cmds.render", explode)
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
