"""The ops commands end to end on the minimal config and its embedded sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from engine.cli.main import cli, main
from engine.config import load_config
from engine.core.orders import iso
from engine.desired.stock import Replenishment
from engine.live.orders import parse_order
from engine.sandbox.runtime import saved_now
from engine.state import journal, lock
from engine.state import orders as order_store
from engine.state.db import open_state
from tests.conftest import NOW
from tests.minimal_config import WAREHOUSES

EUR = "EUR"
ORDER = {
    "orderId": "302-0000001-0000001",
    # Recent in real time: the commands judge windows against the sandbox's clock, which
    # starts at the real time in a fresh state directory.
    "createdTime": iso(datetime.now(UTC) - timedelta(hours=3)),
    "lastUpdatedTime": iso(datetime.now(UTC) - timedelta(hours=2)),
    "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
    "fulfillment": {
        "fulfillmentStatus": "UNSHIPPED",
        "fulfilledBy": "MERCHANT",
        "shipByWindow": {"latestDateTime": "2026-11-24T10:00:00Z"},
    },
    "proceeds": {"grandTotal": {"currencyCode": EUR, "amount": "59.99"}},
    "recipient": {"deliveryAddress": {"countryCode": "AT"}},
    "orderItems": [
        {
            "orderItemId": "00000000000001",
            "quantityOrdered": 2,
            "product": {
                "asin": "B0TEST0001",
                "sellerSku": "HP-100",
                "price": {"unitPrice": {"currencyCode": EUR, "amount": "59.99"}},
            },
        }
    ],
}


def run(config_dir, *args):
    return CliRunner().invoke(cli, ["--config", str(config_dir), *args], standalone_mode=False)


def store_order(config_dir):
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    with db.write() as conn:
        order_store.save(conn, config.project.seller_id, parse_order(ORDER))
    db.close()


def test_pull_against_the_sandbox_then_list_route_health_and_status(config_dir, tmp_path):
    pulled = run(config_dir, "orders", "pull", "--json")
    assert pulled.exit_code == 0, pulled.output
    assert [m["marketplace"] for m in json.loads(pulled.output)["marketplaces"]] == [
        "US",
        "DE",
        "JP",
    ]
    store_order(config_dir)
    listed = json.loads(run(config_dir, "orders", "list", "--json", "--sku", "HP-100").output)
    assert [o["amazon_order_id"] for o in listed] == ["302-0000001-0000001"]
    assert listed[0]["items"][0]["realized_unit_price"] == "59.99"
    assert run(config_dir, "orders", "list", "--marketplace", "US", "--json").output == "[]\n"
    assert run(config_dir, "orders", "list", "-m", "US", "--json").output == "[]\n"  # like -m

    (config_dir / "warehouses.yaml").write_text(WAREHOUSES)
    routed = run(config_dir, "orders", "route")
    assert routed.output.splitlines() == [
        "amazon_order_id,marketplace,ship_country,sku,quantity,warehouse,distance_km,backorder,note",
        "302-0000001-0000001,DE,AT,HP-100,2,eu-leipzig," + routed.output.split(",")[-3] + ",False,",
    ]
    health = run(config_dir, "health", "--local-only", "--json")
    assert health.exit_code == 0, health.output
    assert (
        json.loads(health.output)["marketplaces"]["DE"]["local"]["cancellation_rate_pct"] == "0.00"
    )
    assert json.loads(health.output)["breaches"] == []
    text = run(config_dir, "health", "--local-only").output.splitlines()
    assert text[-1].startswith("All marketplaces within Amazon's targets")

    prom = tmp_path / "out.prom"
    status = run(config_dir, "status", "--json", "--prometheus", str(prom))
    figures = json.loads(status.output)
    assert figures["last_success"]["pull"] is not None and figures["api_calls"] > 0
    assert "sellersync_api_calls" in prom.read_text()


def test_ops_commands_refuse_bad_input_in_one_line(config_dir, capsys):
    assert main(["--config", str(config_dir), "orders", "route"]) == 1
    assert "no warehouses.yaml in" in capsys.readouterr().err
    assert main(["--config", str(config_dir), "orders", "list", "--from", "soon"]) == 1
    assert "--from 'soon': give an ISO 8601 date" in capsys.readouterr().err
    assert main(["--config", str(config_dir), "orders", "list", "--marketplace", "XX"]) == 1
    assert main(["--config", str(config_dir), "orders", "list", "-m", "GB"]) == 1
    assert "(did you mean UK? UK is the marketplace code" in capsys.readouterr().err
    assert main(["--config", str(config_dir), "status", "--prometheus", "out.txt"]) == 1
    assert "only reads files ending in .prom" in capsys.readouterr().err


def test_a_health_breach_exits_5(config_dir):
    store_order(config_dir)
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    fulfillment = ORDER["fulfillment"] | {"fulfillmentStatus": "CANCELLED"}
    cancelled = parse_order(ORDER | {"orderId": "302-0000002-0000002", "fulfillment": fulfillment})
    with db.write() as conn:
        order_store.save(conn, config.project.seller_id, cancelled)
    db.close()
    result = run(config_dir, "health", "--local-only", "--json")
    data = json.loads(result.output)
    assert data["marketplaces"]["DE"]["local"]["cancellation_rate_pct"] == "50.00"
    assert data["breached"] and result.return_value == 5
    assert data["breaches"] == [
        {
            "marketplace": "DE",
            "metric": "cancellation_rate",
            "value_pct": "50.00",
            "target_pct": "2.5",
        }
    ]
    text = run(config_dir, "health", "--local-only")
    assert text.return_value == 5
    assert text.output.splitlines()[-1] == "1 breach: DE cancellation rate 50.00% > 2.5%"


def test_status_counts_the_changes_not_yet_visible(config_dir):
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    changes = [journal.Change(f'listing.DE["HP-{i}"]', "update", {}) for i in range(3)]
    with db.write() as conn:
        applied = journal.start_run(conn, config.project.seller_id, "sha256:plan", changes, now)
        for seq, last in enumerate(("not_visible", "not_visible", "verified")):
            for state in ("sent", "accepted", last):
                journal.transition(conn, applied.id, seq, state, now)
        journal.finish_run(conn, applied.id, now)
    db.close()

    text = run(config_dir, "status", "--now", "2026-11-22T13:00:00Z")
    assert "changes not yet visible live: 2 (`sync apply --recheck` looks again)\n" in text.output
    figures = json.loads(run(config_dir, "status", "--json").output)
    assert figures["changes_not_visible"] == 2


def test_an_empty_replenishment_table_says_why(config_dir, monkeypatch):
    monkeypatch.setattr("engine.flows.ops.replenish", lambda config_dir: [])
    result = run(config_dir, "inventory", "replenish")
    assert result.exit_code == 0, result.output
    assert "No FBA listing is below its alert level" in result.output


def test_status_shows_a_held_lock_and_the_unfinished_run_on_the_sandbox_clock(config_dir):
    config = load_config(config_dir)
    assert config.project.backend.kind == "sandbox"
    seller = config.project.seller_id
    db = open_state(config.project.state, config.state_dir)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    free = run(config_dir, "status", "--now", "2026-11-22T13:00:00Z").output
    assert "apply lock: free\n" in free and "unfinished run: none\n" in free
    changes = [journal.Change(f'listing.DE["HP-{i}"]', "update", {}) for i in range(3)]
    held = lock.acquire(db, seller, "runner-7 pid 42", "apply", now)
    try:
        with db.write() as conn:
            started = journal.start_run(conn, seller, "sha256:plan", changes, now)
            journal.transition(conn, started.id, 0, "sent", now)
        text = run(config_dir, "status", "--now", "2026-11-22T13:00:00Z").output
        data = json.loads(run(config_dir, "status", "--json").output)
    finally:
        held.release()
        db.close()
    assert text.startswith("Times marked (sandbox clock) are the sandbox's virtual time")
    assert (
        f"apply lock: HELD by runner-7 pid 42 (apply) since 2026-11-22 12:00:00 UTC (sandbox "
        f"clock), lock id {held.id}; if that process is gone, `sync force-unlock {held.id}` "
        "releases it\n"
    ) in text
    assert (
        f"unfinished apply run {started.id} (started 2026-11-22 12:00:00 UTC (sandbox clock), "
        "plan sha256 sha256:plan): 2 change(s) not sent yet, 1 sent with the outcome unknown, "
        "0 to verify; applying the same plan file again resumes it"
    ) in text
    assert data["clock"] == "sandbox"
    assert data["apply_lock"] == {
        "id": held.id,
        "seller_id": seller,
        "holder": "runner-7 pid 42",
        "operation": "apply",
        "acquired_at": "2026-11-22T12:00:00Z",
    }
    assert data["unfinished_run"] == {
        "id": started.id,
        "kind": "apply",
        "plan_digest": "sha256:plan",
        "started_at": "2026-11-22T12:00:00Z",
        "to_send": 2,
        "outcome_unknown": 1,
        "to_verify": 0,
    }


def test_replenish_json_has_every_column_and_nothing_else_on_stdout(
    config_dir, monkeypatch, tmp_path
):
    recs = [Replenishment("DE", "SPK-1", 2, 18, "below alert level 5", 5, 40)]
    csv = tmp_path / "r.csv"
    monkeypatch.setattr("engine.flows.ops.replenish", lambda config_dir: recs)
    result = CliRunner().invoke(
        cli,
        ["--config", str(config_dir), "inventory", "replenish", "--json", "--csv", str(csv)],
        standalone_mode=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "format_version": 1,
        "recommendations": [
            {
                "marketplace": "DE",
                "sku": "SPK-1",
                "fba_fulfillable": 2,
                "alert_level": 5,
                "max_per_site": 40,
                "recommended_transfer": 18,
                "reason": "below alert level 5",
            }
        ],
    }
    assert f"wrote 1 recommendation(s) to {csv}" in result.stderr
    monkeypatch.setattr("engine.flows.ops.replenish", lambda config_dir: [])
    empty = run(config_dir, "inventory", "replenish", "--json")
    assert json.loads(empty.output) == {"format_version": 1, "recommendations": []}


def test_status_windows_its_kpis_on_the_sandbox_clock(seeded_config):
    """The embedded sandbox stamped the store's records with its virtual time, here 12 days
    behind the wall clock: without --now, status counts the week before that time."""
    config = seeded_config()
    seller = config.project.seller_id
    db = open_state(config.project.state, config.state_dir)
    with db.write() as conn:
        for finished, state in (
            (NOW - timedelta(hours=1), "verified"),
            (NOW - timedelta(days=10), "failed"),
        ):
            change = journal.Change(f'listing.DE["HP-{state}"]', "update", {})
            started = journal.start_run(conn, seller, f"sha256:{state}", [change], finished)
            for step in ("sent", "accepted", state):
                journal.transition(conn, started.id, 0, step, finished)
            journal.finish_run(conn, started.id, finished)
    db.close()

    figures = json.loads(run(config.root, "status", "--json").output)

    assert figures["now"] == NOW.isoformat() and figures["clock"] == "sandbox"
    assert figures["changes_finished"] == 1  # the one an hour ago; not the one 10 days ago
    assert figures["sync_success_rate_pct"] == "100.00"


def test_the_saved_sandbox_clock_is_read_without_creating_a_sandbox(tmp_path, seeded_config):
    assert saved_now(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    assert saved_now(seeded_config().state_dir) == NOW
