"""`sync sandbox ...` against the minimal test config, with the real loader and renderer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.cli.sandbox_cmds import COMMANDS, client_lines, sandbox, speed_note
from engine.core.errors import UserError
from engine.sandbox.app import SANDBOX_CREDENTIALS, LwaCredentials
from engine.sandbox.clock import VirtualClock
from engine.sandbox.faults import price_of
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.runtime import Sandbox
from engine.sandbox.store import Store

REPO = Path(__file__).resolve().parents[2]
DE = "A1PA6795UKMFR9"


def invoke(config_dir: Path, *args: str):
    return CliRunner().invoke(sandbox, list(args), obj={"config_dir": config_dir})


def live_price(state_dir: Path, sku: str) -> Decimal | None:
    store = Store(state_dir)
    with store.read() as tx:
        seller = tx.meta("seller_id")
        listing = tx.listing(seller, sku, DE)
    store.close()
    return None if listing is None else price_of(listing)


def test_commands_are_exported():
    assert [sandbox] == COMMANDS
    assert set(sandbox.commands) == {
        "serve",
        "reset",
        "status",
        "drift",
        "faults",
        "promo",
        "simulate",
        "scenario",
        "messages",
        "participation",
    }


def test_status_json_seeds_from_the_config(config_dir):
    result = invoke(config_dir, "status", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["url"] is None
    assert info["seller_id"] == "A1TESTSELLER"
    assert [m["code"] for m in info["marketplaces"]] == ["US", "DE", "JP"]
    assert {d["kind"] for d in info["seed_differences"]} >= {"missing", "unmanaged"}
    assert Path(info["state_dir"]) == config_dir.parent / ".sellersync"


def test_drift_then_reset_stored(config_dir):
    state = config_dir.parent / ".sellersync"
    assert invoke(config_dir, "status").exit_code == 0
    before = live_price(state, "HP-100")
    result = invoke(config_dir, "drift", "-m", "DE", "--sku", "HP-100", "--price", "12.34")
    assert result.exit_code == 0, result.output
    assert "out-of-band edit: DE HP-100: price 12.34" in result.output
    assert live_price(state, "HP-100") == Decimal("12.34") != before
    assert invoke(config_dir, "reset", "--stored").exit_code == 0
    assert live_price(state, "HP-100") == before


def test_drift_reports_user_errors(config_dir):
    result = invoke(config_dir, "drift", "-m", "DE", "--sku", "NOPE", "--price", "1.00")
    assert isinstance(result.exception, UserError)
    assert "no listing 'NOPE' in DE" in str(result.exception)
    result = invoke(config_dir, "drift", "-m", "DE", "--sku", "HP-100")
    assert isinstance(result.exception, UserError)


def test_faults_set_list_clear(config_dir):
    result = invoke(
        config_dir,
        "faults",
        "set",
        "--server-errors",
        "0.5",
        "--operation",
        "getListingsItem",
        "--seed",
        "3",
        "--throttle",
        "60",
    )
    assert result.exit_code == 0, result.output
    listed = invoke(config_dir, "faults", "list").output
    assert "server_error:" in listed and "getListingsItem" in listed and "throttle:" in listed
    assert invoke(config_dir, "faults", "clear", "server_error").exit_code == 0
    listed = invoke(config_dir, "faults", "list").output
    assert "server_error" not in listed and "throttle" in listed
    assert invoke(config_dir, "faults", "clear").exit_code == 0
    assert invoke(config_dir, "faults", "list").output.strip() == "no faults"
    bad = invoke(config_dir, "faults", "set", "--operation", "fooBar", "--slow", "1")
    assert isinstance(bad.exception, UserError)


def test_feed_faults_set_and_clear(config_dir):
    result = invoke(config_dir, "faults", "set", "--feeds-fatal", "--feed-message-errors", "0.25")
    assert result.exit_code == 0, result.output
    assert "feeds fatal" in result.output and "feed message errors p=0.25" in result.output
    listed = invoke(config_dir, "faults", "list").output
    assert "feed_fatal: {}" in listed and "feed_message_errors:" in listed and "0.25" in listed
    assert invoke(config_dir, "faults", "clear", "feed_fatal").exit_code == 0
    listed = invoke(config_dir, "faults", "list").output
    assert "feed_fatal" not in listed and "feed_message_errors" in listed
    bad = invoke(config_dir, "faults", "set", "--feed-message-errors", "1.5")
    assert bad.exit_code == 2 and "1.5" in bad.output


def test_connection_faults_set_and_clear(config_dir):
    result = invoke(
        config_dir,
        "faults",
        "set",
        "--drop-connections",
        "0.1",
        "--drop-when",
        "after",
        "--lost-answers",
        "0.05",
        "--document-errors",
        "0.2",
        "--throttle-share",
        "0.3",
        "--operation",
        "patchListingsItem",
    )
    assert result.exit_code == 0, result.output
    assert "dropped connections p=0.1 (after)" in result.output
    listed = invoke(config_dir, "faults", "list").output
    for name in ("dropped_connections", "lost_answers", "document_errors", "throttle_share"):
        assert f"{name}:" in listed
    assert '"when": "after"' in listed and "patchListingsItem" in listed
    assert invoke(config_dir, "faults", "clear", "lost_answers").exit_code == 0
    listed = invoke(config_dir, "faults", "list").output
    assert "lost_answers" not in listed and "dropped_connections" in listed
    bad = invoke(config_dir, "faults", "set", "--drop-connections", "0.1", "--drop-when", "later")
    assert bad.exit_code == 2 and "later" in bad.output


def test_reset_reseeds_from_the_config(config_dir):
    assert (
        invoke(config_dir, "drift", "-m", "DE", "--sku", "HP-100", "--price", "3.00").exit_code == 0
    )
    result = invoke(config_dir, "reset")
    assert result.exit_code == 0, result.output
    assert "seller A1TESTSELLER" in result.output
    assert live_price(config_dir.parent / ".sellersync", "HP-100") != Decimal("3.00")


@pytest.mark.skipif(os.name != "posix", reason="stops the server with SIGINT")
def test_serve_answers_on_localhost_and_status_finds_it(config_dir):
    script = (
        "import sys\n"
        "from engine.cli.main import cli\n"
        "from engine.cli.sandbox_cmds import COMMANDS\n"
        "for c in COMMANDS: cli.add_command(c)\n"
        "sys.exit(cli.main(args=sys.argv[1:], prog_name='sync', standalone_mode=False))\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            script,
            "--config",
            str(config_dir),
            "sandbox",
            "serve",
            "--speed",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        first = proc.stdout.readline()
        assert "serving at http://127.0.0.1:" in first, first + proc.stderr.read()
        started = proc.stdout.readline() + proc.stdout.readline()
        url = first.split("serving at ")[1].strip()
        token = httpx.post(url + "/auth/o2/token", data={"grant_type": "password"})
        assert token.status_code == 400 and token.json()["error"] == "unsupported_grant_type"
        info = json.loads(invoke(config_dir, "status", "--json").output)
        assert info["url"] == url
        assert info["clock"]["speed"] == 60
        # The serving process's profile, whatever this command's own would be.
        assert info["timing"] == "amazon"
        fast = json.loads(invoke(config_dir, "--timing", "fast", "status", "--json").output)
        assert fast["timing"] == "amazon"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out
    assert "timing amazon" in started  # serve runs on Amazon's processing times by default
    assert "clock speed 60x (--speed), saved in the state folder" in started
    after = json.loads(invoke(config_dir, "status", "--json").output)
    assert after["url"] is None and after["timing"] is None  # nothing serves, none saved
    assert after["clock"]["speed"] == 60  # saved: the next serve says where it comes from


def test_serve_says_a_speed_saved_by_an_earlier_serve():
    assert speed_note(10.0, None) == (
        "clock speed 10x, saved by an earlier --speed; give --speed 1 for real time"
    )
    assert speed_note(1.0, None) == "clock speed 1x (real time)"
    assert speed_note(10.0, 2.5).startswith("clock speed 2.5x (--speed)")


def test_issue_19_faults_are_reachable_from_faults_set(config_dir):
    """Every fault of issue 19, item 6 that this command sets: on, listed, cleared by name."""
    result = invoke(
        config_dir,
        "faults",
        "set",
        "--token-errors",
        "0.5",
        "--token-error",
        "temporarily_unavailable",
        "--tokens",
        "expired",
        "--feeds-stuck",
        "IN_PROGRESS",
        "--stuck-hours",
        "9",
        "--feeds-cancelled",
        "--region-down",
        "EU",
        "--region-down",
        "FE",
        "--bad-json",
        "0.1",
        "--bad-json-mode",
        "malformed",
        "--bad-gzip",
        "corrupt",
        "--writes",
        "reverted",
        "--write-hours",
        "6",
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "faults on: token endpoint temporarily_unavailable p=0.5, tokens expired, feeds stuck "
        "IN_PROGRESS 9.0 h, feeds cancelled, region down EU, FE, bad JSON malformed p=0.1, "
        "bad GZIP corrupt, writes reverted 6.0 h"
    )
    listed = invoke(config_dir, "faults", "list").output
    for name in (
        "token_endpoint",
        "token_invalidated",
        "feed_stuck",
        "feed_cancelled",
        "region_down",
        "bad_json",
        "bad_gzip",
        "write_visibility",
    ):
        assert f"{name}: " in listed
        assert invoke(config_dir, "faults", "clear", name).exit_code == 0
    assert invoke(config_dir, "faults", "list").output.strip() == "no faults"
    assert invoke(config_dir, "faults", "set", "--writes", "never").exit_code == 0
    assert '"mode": "never"' in invoke(config_dir, "faults", "list").output


def test_drift_edits_texts_and_deletes(config_dir):
    state = config_dir.parent / ".sellersync"
    result = invoke(
        config_dir,
        "drift",
        "-m",
        "DE",
        "--sku",
        "HP-100",
        "--title",
        "Edited in Seller Central",
        "--bullet-point",
        "one",
        "--bullet-point",
        "two",
    )
    assert result.exit_code == 0, result.output
    assert "out-of-band edit: DE HP-100: title changed, bullet_points changed" in result.output
    store = Store(state)
    with store.read() as tx:
        listing = tx.listing(tx.meta("seller_id"), "HP-100", DE)
    store.close()
    assert listing.attributes["item_name"][0]["value"] == "Edited in Seller Central"
    assert [v["value"] for v in listing.attributes["bullet_point"]] == ["one", "two"]
    deleted = invoke(config_dir, "drift", "-m", "DE", "--sku", "HP-100", "--delete")
    assert deleted.exit_code == 0 and "DE HP-100: deleted" in deleted.output
    assert live_price(state, "HP-100") is None
    both = invoke(config_dir, "drift", "-m", "DE", "--sku", "HP-100", "--delete", "--price", "1")
    assert isinstance(both.exception, UserError)


def test_serve_shows_how_to_point_another_client_at_it(config_dir, monkeypatch):
    """serve prints the endpoint, the LWA token URL and the demo seller's LWA credentials,
    and a client given just those gets a token (Ctrl-C is simulated once it has)."""
    exchanged: dict[str, object] = {}

    def serve_then_interrupt(self, port=0):
        settings = self.client_settings(self.url)
        demo = settings["demo_lwa_credentials"]
        answer = httpx.post(
            settings["lwa_token_url"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": demo["refresh_token"],
                "client_id": demo["client_id"],
                "client_secret": demo["client_secret"],
            },
        )
        exchanged.update(url=self.url, status=answer.status_code, body=answer.json())
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, "serve_forever", serve_then_interrupt)
    result = invoke(config_dir, "--timing", "fast", "serve")
    assert result.exit_code == 0, result.output
    assert exchanged["status"] == 200 and exchanged["body"]["access_token"]
    url = exchanged["url"]
    assert f"endpoint {url}, LWA token URL {url}/auth/o2/token" in result.output
    assert "demo LWA credentials of the sandbox's demo seller" in result.output
    assert f"client id:     {SANDBOX_CREDENTIALS.client_id}" in result.output
    assert f"client secret: {SANDBOX_CREDENTIALS.client_secret}" in result.output
    assert f"refresh token: {SANDBOX_CREDENTIALS.refresh_token}" in result.output


def test_status_json_shows_the_client_settings(config_dir, monkeypatch):
    info = json.loads(invoke(config_dir, "status", "--json").output)
    demo = info["client"]["demo_lwa_credentials"]
    assert (demo["client_id"], demo["client_secret"], demo["refresh_token"]) == (
        SANDBOX_CREDENTIALS.client_id,
        SANDBOX_CREDENTIALS.client_secret,
        SANDBOX_CREDENTIALS.refresh_token,
    )
    assert "not secrets" in demo["note"]
    assert info["client"]["endpoint"] is None and info["client"]["lwa_token_url"] is None
    # While a serve runs (as recorded for other processes), both point at it.
    monkeypatch.setattr(
        "engine.cli.sandbox_cmds._running_server",
        lambda box: {"url": "http://127.0.0.1:8123", "timing": "amazon"},
    )
    info = json.loads(invoke(config_dir, "status", "--json").output)
    assert info["client"]["endpoint"] == "http://127.0.0.1:8123"
    assert info["client"]["lwa_token_url"] == "http://127.0.0.1:8123/auth/o2/token"
    text = invoke(config_dir, "status").output
    assert "LWA token:    http://127.0.0.1:8123/auth/o2/token" in text


def test_other_credentials_than_the_demo_ones_are_never_shown(tmp_path):
    other = LwaCredentials("amzn1.application-oa2-client.real", "real-secret", "Atzr|real")
    box = Sandbox(
        Store(tmp_path), VirtualClock(datetime(2026, 11, 22, tzinfo=UTC)), credentials=other
    )
    settings = box.client_settings("http://127.0.0.1:8123")
    assert settings["demo_lwa_credentials"] is None
    printed = "\n".join(client_lines(settings))
    assert "real" not in printed and "http://127.0.0.1:8123/auth/o2/token" in printed
    box.store.close()


def test_a_busy_port_is_a_one_line_error_naming_it(config_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = invoke(config_dir, "--timing", "fast", "serve", "--port", port)
        assert isinstance(result.exception, UserError)
        message = str(result.exception)
        assert f"cannot listen on port {port} of 127.0.0.1: " in message
        assert message.endswith("pick another with --port (--port 0 picks a free one)")
        assert "\n" not in message
        # Through the real entry point: one line on stderr, exit 1, no traceback.
        capsys.readouterr()
        code = main(["--config", str(config_dir), "sandbox", "serve", "--port", port])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"Error: {message}"]
    assert captured.out == ""


def test_simulate_twice_with_one_seed_continues(config_dir):
    counts = []
    for _ in range(2):
        result = invoke(config_dir, "simulate", "--hours", "24", "--seed", "1", "--json")
        assert result.exit_code == 0, result.output
        counts.append(json.loads(result.output)["orders"])
    store = Store(config_dir.parent / ".sellersync")
    with store.read() as tx:
        stored = OrderTables(tx).select("1", ())
    assert counts[0] and counts[1]
    assert len({o.amazon_order_id for o in stored}) == len(stored) == sum(counts)
