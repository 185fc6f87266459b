"""`sync plan` and `sync drift` as CI runs them, against the seeded sandbox (frozen clock)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from engine.cli import main as cli_main
from engine.cli.main import main
from engine.config import load_config
from engine.flows.plan import build_plan
from engine.flows.session import live_session
from engine.live import documents
from engine.plan.markdown import MARKER
from engine.plan.model import Plan
from engine.sandbox import faults
from engine.sandbox.runtime import Sandbox
from engine.state import api_calls, last_applied, snapshot_index
from tests.conftest import NOW
from tests.minimal_config import edited, write_config
from tests.sandbox.conftest import (  # noqa: F401  (fixtures)
    _clean_spapi_env,
    clock,
    open_sandbox,
    resources,
    sandbox,
)

AT = ["--now", "2026-11-22T12:00:00Z"]
US_SPK = 'listing.US["SPK-1"]'
PLAN_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"


def sync(config, *args):
    return main(["--config", str(config.root), *args])


def fix_de_price(config):
    """Undo the seeded price typo on DE HP-100 out of band: DE then matches the config."""
    box = Sandbox.open(config.state_dir)
    try:
        faults.out_of_band_price(box.account, "DE", "HP-100", "57.99")
    finally:
        box.store.close()


def test_plan_prints_the_changes_and_exits_0_without_detailed_exitcode(seeded_config, capsys):
    assert sync(seeded_config(), "plan", *AT) == 0
    out = capsys.readouterr().out
    assert '# listing.DE["HP-100"] will be updated in-place' in out
    assert "~ our_price = 5799.00 EUR -> 57.99 EUR" in out
    assert '# listing.JP["SPK-1"] will be created' in out
    assert 'left alone (unmanaged):\n  listing.US["LEGACY-HP-100"]' in out
    # The seed's 4 extra units over-commit HP-100's 28 sellable units: they are pulled back.
    assert '# listing.US["HP-100"] will be updated in-place' in out
    assert "~ quantity = 14 -> 10" in out
    # The DE price typo's -99 % correction is blocked: said again after the changes.
    assert out.rstrip().endswith(
        "Plan: 1 to add, 3 to change, 0 to delete.\n\n"
        "Blocked: 1 guardrail finding(s) need a config change or an approval in approvals.yaml "
        "(hard-mandatory rules take no approval); `sync apply` will refuse this plan."
    )


DE_TYPO_APPROVAL = """\
approvals:
  - rule: price_change_size
    scope: {marketplaces: [DE], skus: [HP-100]}
    approves: {value: "57.99"}
    reason: Correcting the price typed 100x too high
    approver: test.reviewer
    expires: "2027-01-31T00:00:00Z"
"""


def test_detailed_exitcode_is_3_when_blocked_2_with_changes_and_0_without(
    seeded_config, capsys, tmp_path
):
    config = seeded_config()
    out = tmp_path / "plan.json"
    assert sync(config, "plan", "--detailed-exitcode", "--out", str(out), *AT) == 3
    assert out.exists()  # a blocked plan is still saved, for the reviewer
    assert "Blocked: 1 guardrail finding(s)" in capsys.readouterr().out
    write_config(config.root, {"approvals.yaml": DE_TYPO_APPROVAL})
    assert sync(config, "plan", "--detailed-exitcode", *AT) == 2  # the block is approved
    assert "Blocked:" not in capsys.readouterr().out
    fix_de_price(config)
    assert sync(config, "plan", "--detailed-exitcode", "-m", "DE", *AT) == 0
    assert "No changes. Live listings match the configuration." in capsys.readouterr().out


def test_json_out_and_markdown(seeded_config, capsys, tmp_path):
    config = seeded_config()
    out, comment = tmp_path / "plans" / "plan.json", tmp_path / "comment.md"
    args = ["plan", "--json", "--out", str(out), "--markdown", str(comment), *AT]
    assert sync(config, *args) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out, parse_float=Decimal)
    jsonschema.validate(printed, json.loads(PLAN_SCHEMA.read_text(encoding="utf-8")))
    assert printed["summary"] == {"add": 1, "change": 3, "delete": 0, "unchanged": 2}
    assert printed["backend"]["kind"] == "sandbox"
    assert printed["config_digest"] == config.digest
    assert out.read_text(encoding="utf-8") == captured.out
    assert Plan.loads(out.read_text(encoding="utf-8")).summary()["change"] == 3
    assert [p.name for p in out.parent.iterdir()] == ["plan.json"]  # no temp file left
    assert f"sync apply {out}" in captured.err
    text = comment.read_text(encoding="utf-8")
    assert text.startswith(MARKER) and "| DE | 0 | 1 | 0 |" in text


UNRESERVED = "units in unshipped orders are unknown"


def test_a_plan_before_any_order_pull_says_once_that_nothing_is_reserved(
    seeded_config, capsys, tmp_path
):
    config = seeded_config()
    comment = tmp_path / "comment.md"
    assert sync(config, "plan", "--markdown", str(comment), *AT) == 0
    out = capsys.readouterr().out
    assert out.count(UNRESERVED) == 1
    assert out.startswith("Note: Orders were never pulled (`sync orders pull`): ")
    assert out.index(UNRESERVED) < out.index("sellersync will perform the following actions:")
    assert "> **Note:** Orders were never pulled" in comment.read_text(encoding="utf-8")
    assert sync(config, "plan", "--json", *AT) == 0
    captured = capsys.readouterr()
    assert UNRESERVED in captured.err  # said to a person, and kept in the JSON for machines
    assert [note for note in json.loads(captured.out)["notes"] if UNRESERVED in note]
    assert sync(config, "orders", "pull") == 0
    assert sync(config, "plan", "--markdown", str(comment), *AT) == 0
    assert UNRESERVED not in capsys.readouterr().out
    assert "Note:" not in comment.read_text(encoding="utf-8")


def test_drift_and_review_are_shown_apart_from_the_plan(seeded_config, capsys, tmp_path):
    config = seeded_config()
    with live_session(config) as (backend, db):
        desired = build_plan(config, backend, db, now=NOW).desired.resources
        with db.write() as conn:  # as if apply had written US SPK-1 as the config says
            last_applied.record(conn, config.project.seller_id, desired[US_SPK], NOW)
    # JP has no Japanese texts for SPK-1 any more: held for review instead of created.
    write_config(
        tmp_path / "config",
        edited(
            "products/audio.yaml",
            "      ja: {title: Sonora SPK-1 スピーカー}\n",
            "    missing_translation: needs_review\n",
        ),
    )
    assert sync(config, "plan", *AT) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Note: 1 field(s) changed outside sellersync since the last apply (drift):\n"
        f"  {US_SPK} our_price: last applied 98.99 USD, live 103.94 USD\n\n"
        "1 listing(s) need review and are not planned:\n"
        "  listing.JP[\"SPK-1\"]: no 'ja' translation (missing_translation: needs_review); "
        "not rendered\n"
    )
    assert "~ our_price = 103.94 USD -> 98.99 USD  # changed outside sellersync; restoring" in out
    assert "Plan: 0 to add, 3 to change, 0 to delete." in out


def detail_searches(config) -> int:
    with live_session(config) as (_, db), db.read() as conn:
        calls = api_calls.since(conn, config.project.seller_id, datetime.min.replace(tzinfo=UTC))
    return sum(c.operation == "searchListingsItems" for c in calls)


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_full_refresh_reads_every_listings_detail_again(seeded_config, command):
    config = seeded_config()
    fix_de_price(config)  # nothing to change in DE, and no sale: warm needs no detail
    sync(config, command, "-m", "DE", *AT)
    cold = detail_searches(config)
    sync(config, command, "-m", "DE", *AT)
    warm = detail_searches(config) - cold
    sync(config, command, "-m", "DE", "--full-refresh", *AT)
    # Cold, US and JP are read too (their stock counts in DE's allocation) and cached; the
    # full refresh reads DE's detail again, and the others still come from that cache.
    assert (cold, warm, detail_searches(config) - cold - warm) == (3, 0, 1)


def test_errors_exit_1_with_one_line(seeded_config, capsys):
    config = seeded_config()
    assert sync(config, "plan", "-m", "FR", *AT) == 1
    assert "Error: marketplace FR is not enabled in project.yaml; enabled: US, DE, JP" in (
        capsys.readouterr().err
    )
    assert sync(config, "plan", "-m", "GB", *AT) == 1
    assert (
        "Error: marketplace GB is not enabled in project.yaml (did you mean UK? UK is the "
        "marketplace code; GB is the ISO country code warehouses.yaml uses); enabled: "
    ) in capsys.readouterr().err
    assert sync(config, "plan", "--no-refresh", *AT) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: no cached snapshot of US") and "Traceback" not in err


def test_drift_exits_2_with_an_issue_body_and_0_when_live_matches(seeded_config, capsys, tmp_path):
    config = seeded_config()
    body = tmp_path / "drift.md"
    assert sync(config, "drift", "--markdown", str(body), *AT) == 2
    out = capsys.readouterr().out
    assert out.startswith("Live differs from the configuration: 0 listing(s) changed outside")
    # Nothing was ever applied: the seeded price typo is not a config change waiting to go out.
    assert (
        'Config changes not yet applied (1 listing(s)):\n  listing.JP["SPK-1"] to be created' in out
    )
    assert (
        'listing.DE["HP-100"] live -> config\n      our_price = 5799.00 EUR -> 57.99 EUR'
    ) in out
    assert 'Unmanaged live listings, left alone (1):\n  listing.US["LEGACY-HP-100"]' in out
    issue = body.read_text(encoding="utf-8")
    assert "#### Config changes not yet applied" in issue
    assert "#### Not yet adopted: never applied by sellersync" in issue
    fix_de_price(config)
    assert sync(config, "drift", "--json", "-m", "DE", *AT) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["differs"] is False and report["pending"] == []


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_commands_refuse_a_broken_config_before_touching_live(tmp_path, capsys, command):
    (tmp_path / "config").mkdir()
    assert main(["--config", str(tmp_path / "config"), command, *AT]) == 1
    assert "project.yaml: required file is missing" in capsys.readouterr().err
    assert not (tmp_path / ".sellersync").exists()


def test_a_refresh_indexes_each_snapshot_in_the_state_store(seeded_config):
    config = seeded_config()
    assert sync(config, "plan", *AT) == 0
    with live_session(config) as (_, db), db.read() as conn:
        indexed = {
            code: snapshot_index.latest(conn, config.project.seller_id, code)
            for code in config.marketplaces
        }
    for code, entry in indexed.items():
        path = Path(entry.path)
        assert path == config.state_dir / "snapshots" / f"listings-{code}.json"
        assert entry.digest == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry.fetched_at.tzinfo is not None


# ---- Amazon refusing a call: a user error on one line, never a crash log ------------------


@pytest.fixture
def crash_logs(monkeypatch, tmp_path):
    """Where main() would save a traceback; a test asserts it stays empty."""
    folder = tmp_path / "crash-logs"
    folder.mkdir()
    monkeypatch.setattr(cli_main, "crash_log_dir", lambda: folder)
    return folder


def refused(config, capsys, crash_logs) -> str:
    """`sync plan` exits 1 with exactly one line on stderr and saves no traceback."""
    assert sync(config, "plan", *AT) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert list(crash_logs.iterdir()) == []
    assert "Traceback" not in captured.err + captured.out
    return line


def test_a_marketplace_the_seller_does_not_sell_in_is_a_user_error(
    seeded_config, capsys, crash_logs
):
    without_jp = edited("project.yaml", "marketplaces: [US, DE, JP]", "marketplaces: [US, DE]")
    config = seeded_config({**without_jp, "marketplaces/JP.yaml": None})
    write_config(config.root)  # JP enabled again: the account does not participate there
    line = refused(config, capsys, crash_logs)
    assert line.startswith(
        "Error: Amazon refused the SP-API call for JP: HTTP 400 InvalidInput: The selling "
        "partner does not participate in marketplace 'A1VC38T7YXB528'. (request id "
    )
    assert line.endswith(
        "; check that JP is enabled for this seller in Seller Central, or remove it from "
        "marketplaces in project.yaml"
    )


def test_a_seller_id_the_app_was_not_authorised_for_is_a_user_error(
    seeded_config, capsys, crash_logs
):
    config = seeded_config()
    write_config(config.root, edited("project.yaml", "A1TESTSELLER", "A1OTHERSELLR"))
    line = refused(config, capsys, crash_logs)
    assert line.startswith(
        "Error: Amazon refused the SP-API call for US: HTTP 403 Unauthorized: Access to "
        "requested resource is denied. The sellerId in the path does not belong to the "
        "selling partner that authorized this access token. (request id "
    )
    assert line.endswith(
        "; check seller.id in project.yaml: it must be the seller who authorised the app"
    )


def test_a_refresh_token_login_with_amazon_rejects_is_a_user_error(
    sandbox,  # noqa: F811  (the imported fixture)
    config_dir,
    capsys,
    crash_logs,
    monkeypatch,
):
    """Against Amazon's endpoints (backend spapi), as CI runs with secrets: the sandbox's
    token endpoint answers an unknown refresh token with 400 invalid_grant, as LWA does."""
    backend = f"backend:\n  kind: spapi\n  endpoint: {sandbox.url}\n"
    enabled = "marketplaces: [US, DE, JP]\n"
    project = edited("project.yaml", enabled, enabled + backend)
    config = load_config(write_config(config_dir, project))
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", "Atzr|revoked-by-the-seller")
    monkeypatch.setenv("LWA_APP_ID", sandbox.credentials.client_id)
    monkeypatch.setenv("LWA_CLIENT_SECRET", sandbox.credentials.client_secret)
    line = refused(config, capsys, crash_logs)
    assert line == (
        "Error: Login with Amazon rejected the SP-API credentials (HTTP 400 invalid_grant: The "
        "request has an invalid grant parameter: refresh_token.); the refresh token was "
        "rejected: re-authorise the app for this seller in Seller Central and update "
        "SP_API_REFRESH_TOKEN (or refresh_token in backend.credentials_file)"
    )
    assert "revoked-by-the-seller" not in line and sandbox.credentials.client_secret not in line


def test_login_with_amazon_down_is_a_user_error_that_says_to_try_again(
    seeded_config, capsys, crash_logs
):
    """Issue 19, item 6: the token endpoint failing is not a credentials problem."""
    config = seeded_config()
    box = Sandbox.open(config.state_dir)
    try:
        faults.set_token_endpoint_errors(box.store, 1, error="temporarily_unavailable")
    finally:
        box.store.close()
    line = refused(config, capsys, crash_logs)
    assert line.startswith(
        "Error: Login with Amazon did not issue an access token (HTTP 503 temporarily_unavailable: "
    )
    assert line.endswith(
        "run the command again in a few minutes (an apply resumes from its journal)"
    )


# ---- Amazon failing a call until the retries run out: one line too -------------------------


def with_faults(config, *switch_on) -> None:
    """Switch faults on in the config's sandbox (they persist in its state directory)."""
    box = Sandbox.open(config.state_dir)
    try:
        for switch in switch_on:
            switch(box.store)
    finally:
        box.store.close()


def test_a_steady_429_ends_the_plan_with_one_line_not_a_crash(seeded_config, capsys, crash_logs):
    config = seeded_config()
    with_faults(
        config, lambda store: faults.set_throttle_storm(store, operations=["searchListingsItems"])
    )
    line = refused(config, capsys, crash_logs)
    assert line.startswith(
        "Error: Amazon kept answering searchListingsItems for US with HTTP 429 QuotaExceeded "
        "(You exceeded your quota for the requested resource.) (6 tries over "
    )
    assert line.endswith(
        "the quota recovers by itself: wait a few minutes, then run the command again"
    )


def test_dropped_report_downloads_are_retried(seeded_config, capsys, crash_logs, monkeypatch):
    """Half the document downloads fail (a 500 or a dropped connection). Tried once each,
    the plan stops with one line; with the retries it is the same as without faults."""
    config = seeded_config()
    assert sync(config, "plan", *AT) == 0
    clean = capsys.readouterr().out
    with_faults(
        config,
        lambda store: faults.set_seed(store, 3),
        lambda store: faults.set_document_errors(store, 0.5, methods=["GET"]),
    )
    with monkeypatch.context() as once:
        once.setattr(documents, "TRANSFER_TRIES", 1)
        line = refused(config, capsys, crash_logs)
    assert line.startswith("Error: downloading the GET_MERCHANT_LISTINGS_ALL_DATA report failed")
    assert sync(config, "plan", *AT) == 0
    assert capsys.readouterr().out == clean
    assert list(crash_logs.iterdir()) == []
