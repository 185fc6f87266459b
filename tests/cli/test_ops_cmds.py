"""The ops commands end to end on the minimal config and its embedded sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from engine.cli.main import cli, main
from engine.config import load_config
from engine.core.orders import iso
from engine.live.orders import parse_order
from engine.state import journal
from engine.state import orders as order_store
from engine.state.db import open_state
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
