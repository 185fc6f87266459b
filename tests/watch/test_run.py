"""Watch passes over the demo seller in the sandbox: quiet on a normal day, tripping within
one 15-minute interval on a runaway promotion, no flapping, and the webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from engine.config import load_config
from engine.core.marketplaces import MARKETPLACES
from engine.sandbox.promotions import Promotion
from engine.sandbox.scenario import add_promotion
from engine.state import breakers as breaker_store
from engine.state import watched_orders
from engine.watch.breaker import hold_tripped
from engine.watch.notify import post_summary
from engine.watch.run import EXIT_ERROR, EXIT_QUIET, EXIT_TRIPPED
from tests.watch.conftest import NOW, STEP


def runaway_promotion(demo, percent: str = "99") -> Promotion:
    """A promo code on every US headphone, made in the Seller Central stand-in."""
    now = demo.box.clock.now()
    return add_promotion(
        demo.box.account,
        Promotion(
            promotion_id="SC-HEADPHONES99",
            kind="promo-code",
            code="HEADPHONES99",
            discount_pct=Decimal(percent),
            sku_pattern="HP-*",
            marketplace_id=MARKETPLACES["US"].marketplace_id,
            starts_at=now,
            ends_at=now + timedelta(hours=10),
            created_at=now,
        ),
    )


def test_a_normal_day_of_orders_trips_nothing(demo):
    orders = 0
    for _ in range(24):
        orders += len(demo.buyers(timedelta(hours=1)))
        report = demo.watch()
        assert report.detections == [] and report.exit_code == EXIT_QUIET, report.to_dict()
    assert orders > 20  # a day with real sales, not an empty one
    with demo.db.read() as conn:
        assert watched_orders.checkpoint(conn, demo.config.project.seller_id, "US") == (
            NOW + timedelta(hours=24) - timedelta(minutes=2)
        )


def test_a_runaway_promotion_trips_within_one_interval_and_stays_tripped(demo):
    demo.watch()  # a quiet first pass sets the checkpoints
    runaway_promotion(demo)
    demo.buyers(STEP)
    report = demo.watch()
    assert report.exit_code == EXIT_TRIPPED
    tripped = {b.sku for b in report.tripped}
    assert {"HP-100", "HP-IE-10"} <= tripped and all(s.startswith("HP-") for s in tripped)
    assert {e.outcome for e in report.enforcement} <= {"written", "in_place"}
    # Further passes see more of the same orders (overlap, status updates): no new incident.
    demo.buyers(STEP)
    again = demo.watch()
    assert again.tripped == [] and again.exit_code == EXIT_QUIET
    assert {e.breaker.incident_id for e in again.enforcement} == {
        b.incident_id for b in report.tripped
    }
    # The plan keeps them at their breaker state.
    with demo.db.read() as conn:
        breakers = breaker_store.tripped(conn, demo.config.project.seller_id)
    desired, held = hold_tripped(demo.desired, breakers, demo.config.incidents)
    assert {h.breaker.sku for h in held} == tripped
    assert desired['listing.US["HP-100"]'].quantity == 0


def test_an_acknowledged_incident_is_released_and_does_not_trip_again(demo):
    runaway_promotion(demo)
    demo.buyers(STEP)
    [first, *_] = demo.watch().tripped
    acknowledged_at = demo.box.clock.now() + timedelta(minutes=1)
    (demo.config_dir / "incidents.yaml").write_text(
        "incidents:\n"
        f"  - id: {first.incident_id}\n"
        f"    marketplace: {first.marketplace}\n"
        f"    sku: {first.sku}\n"
        "    acknowledged_by: maria.keller\n"
        f'    acknowledged_at: "{acknowledged_at:%Y-%m-%dT%H:%M:%SZ}"\n'
        "    resolution: promo code ended in Seller Central; orders cancelled\n",
        encoding="utf-8",
    )
    demo.config = load_config(demo.config_dir)
    demo.box.advance(timedelta(minutes=1))
    report = demo.watch()
    assert [b.incident_id for b in report.released] == [first.incident_id]
    assert first.sku not in {b.sku for b in report.tripped}  # the old orders do not count


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 204})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/T0KEN-SECRET", handler
    server.shutdown()
    server.server_close()


def test_the_webhook_receives_the_json_summary(demo, hook):
    url, handler = hook
    runaway_promotion(demo)
    demo.buyers(STEP)
    summary = demo.watch().to_dict()
    assert post_summary(url, summary) is None
    [received] = handler.received
    assert received["status"] == "tripped" and received["exit_code"] == EXIT_TRIPPED
    assert received["breakers"][0]["incident"].startswith("INC-")


def test_a_failing_webhook_is_reported_without_its_token(demo, hook):
    url, handler = hook
    handler.status = 500
    report = demo.watch()
    report.notify_error = post_summary(url, report.to_dict())
    assert report.notify_error == "POST to http://127.0.0.1 answered HTTP 500"
    assert report.exit_code == EXIT_ERROR
    assert "T0KEN" not in json.dumps(report.to_dict())


def test_a_pass_reads_orders_with_one_searchorders_listing_per_region(demo):
    demo.buyers(timedelta(hours=6))
    recorder = demo.backend.invoker.recorder
    before = recorder.count()["searchOrders"]
    report = demo.watch()
    # Nine marketplaces in three regions (NA: US CA MX, EU: UK DE FR IT ES, FE: JP).
    assert recorder.count()["searchOrders"] - before == 3
    assert [r.marketplace for r in report.reads] == [
        "US",
        "CA",
        "MX",
        "UK",
        "DE",
        "FR",
        "IT",
        "ES",
        "JP",
    ]
    assert all(r.error is None for r in report.reads)
    by_marketplace = {r.marketplace: r.orders for r in report.reads}
    read = demo.backend.read_orders(
        "DE",
        updated_after=report.reads[4].since,
        updated_before=report.reads[4].until,
        with_items=False,
    )
    assert by_marketplace["DE"] == len(read) > 0
    with demo.db.read() as conn:
        seller = demo.config.project.seller_id
        assert {watched_orders.checkpoint(conn, seller, code) for code in by_marketplace} == {
            report.reads[0].until
        }
