"""`sync sandbox promo | simulate | scenario | messages` against the minimal test config."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engine.cli.sandbox_cmds import sandbox
from engine.core.errors import UserError
from engine.sandbox.orderstore import BuyerMessage, OrderTables
from engine.sandbox.store import Store
from tests.conftest import NOW


def invoke(config_dir: Path, *args: str):
    return CliRunner().invoke(
        sandbox,
        ["--state-dir", str(config_dir.parent / "st"), *args],
        obj={"config_dir": config_dir},
    )


def test_promo_create_list_end(config_dir):
    created = invoke(
        config_dir,
        *("promo", "create", "--kind", "promo-code", "--discount", "15", "--sku", "HP-*"),
        *("-m", "US", "--start", "2026-11-28T22:00Z", "--hours", "10", "--id", "BF15"),
        *("--max-redemptions", "50"),
    )
    assert created.exit_code == 0, created.output
    assert "BF15: promo-code code SAVE15, 15% off HP-* in US" in created.output
    assert "2026-11-28T22:00:00Z to 2026-11-29T08:00:00Z" in created.output
    listed = json.loads(invoke(config_dir, "promo", "list", "--json").output)
    assert listed[0]["id"] == "BF15" and listed[0]["max_redemptions"] == 50
    ended = invoke(config_dir, "promo", "end", "BF15")
    assert ended.exit_code == 0 and "ended BF15" in ended.output
    assert invoke(config_dir, "promo", "list").output.startswith("inactive")


def test_promo_errors_are_user_errors(config_dir):
    cases = [
        (("--discount", "150", "--hours", "1"), "discount 150"),
        (("--discount", "ten", "--hours", "1"), "--discount 'ten'"),
        (("--discount", "10"), "exactly one of --end and --hours"),
        (("--discount", "10", "--end", "soon"), "--end 'soon'"),
        (("--discount", "10", "--hours", "1", "-m", "XX"), "unknown marketplace"),
    ]
    for extra, message in cases:
        args = ["promo", "create", "--kind", "percent-off", "--sku", "HP-*"]
        if "-m" not in extra:
            args += ["-m", "US"]
        result = invoke(config_dir, *args, *extra)
        assert isinstance(result.exception, UserError), result.output
        assert message in str(result.exception)
    assert invoke(config_dir, "promo", "list").output == "no promotions\n"
    assert isinstance(invoke(config_dir, "promo", "end", "NOPE").exception, UserError)


def test_simulate_prints_a_summary(config_dir):
    result = invoke(config_dir, "simulate", "--hours", "48", "--seed", "1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["orders"] == sum(r["orders"] for r in data["by_marketplace"])
    assert {r["marketplace"] for r in data["by_marketplace"]} <= {"US", "DE", "JP"}
    text = invoke(config_dir, "simulate", "--hours", "1", "--seed", "1").output
    assert text.startswith("simulated ") and "order statuses now:" in text
    # The per-marketplace figures as a table (engine.cli.tables): a header, one row each,
    # numbers right-aligned under their column's right edge, no trailing blanks.
    lines = invoke(config_dir, "simulate", "--hours", "48", "--seed", "2").output.splitlines()
    at = lines.index("by marketplace:")
    header, first = lines[at + 1], lines[at + 2]
    assert header.split() == ["marketplace", "currency", "orders", "units", "revenue"]
    assert all(line == line.rstrip() for line in lines)
    orders_end = header.index("orders") + len("orders")
    assert first[:orders_end].endswith(" " + first.split()[2])


def test_incident_scenario(config_dir):
    result = invoke(config_dir, "scenario", "incident", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "as the seller had in the story (HP-100 300)" in result.output
    assert "sold out: US HP-100" in result.output


def test_messages(config_dir):
    assert invoke(config_dir, "messages").output == "no messages\n"
    store = Store(config_dir.parent / "st")
    with store.write() as tx:
        OrderTables(tx).add_message(
            BuyerMessage("111-0000001-0000001", "ATVPDKIKX0DER", "unexpectedProblem", "Sorry.", NOW)
        )
    store.close()
    text = invoke(config_dir, "messages", "--order", "111-0000001-0000001").output
    assert text == "2026-11-22T12:00:00Z 111-0000001-0000001 unexpectedProblem: Sorry.\n"
    rows = json.loads(invoke(config_dir, "messages", "--json").output)
    assert rows[0]["text"] == "Sorry."
    assert invoke(config_dir, "messages", "--order", "X").output == "no messages\n"
