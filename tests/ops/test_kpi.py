"""`sync status` KPIs from a journal and API-call fixture in a real state store, and the
Prometheus text file they become (parsed back with prometheus_client's own parser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.ops import kpi, prometheus
from engine.state import api_calls, heartbeats, journal
from engine.state.api_calls import ApiCall
from engine.state.journal import Change

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SELLER = "A1TESTSELLER"
HOUR = timedelta(hours=1)
PATHS = {  # the journal's forward-only way to each final state
    "failed": ("sent", "failed"),
    "accepted": ("sent", "accepted"),
    "not_visible": ("sent", "accepted", "not_visible"),
    "verified": ("sent", "accepted", "verified"),
    "unknown": ("sent", "unknown"),  # left by an abandoned run
}


def journal_fixture(db, outcomes, at, kind="apply"):
    """One run (an apply's by default) whose changes end in `outcomes` (final states),
    finished at `at`."""
    changes = [Change(f'listing.DE["HP-{i:03d}"]', "update", {}) for i in range(len(outcomes))]
    with db.write() as conn:
        run = journal.start_run(conn, SELLER, "sha256:plan", changes, at - HOUR, kind=kind)
        for seq, outcome in enumerate(outcomes):
            for state in PATHS[outcome]:
                journal.transition(conn, run.id, seq, state, at)
        journal.finish_run(conn, run.id, at)


def call(operation, status, ms, at=NOW - HOUR):
    return ApiCall(SELLER, operation, "DE", status, ms, "req", 0, at)


@pytest.fixture
def store(db):
    # 200 changes went through and 1 failed this week; an older failure is out of the window.
    journal_fixture(db, ["failed"], NOW - timedelta(days=9))
    journal_fixture(db, ["verified"], NOW - 5 * HOUR)  # the last apply run that succeeded
    journal_fixture(db, ["accepted"] * 150 + ["not_visible"] * 49 + ["failed"], NOW - 2 * HOUR)
    latencies = [100, 200, 300, 400, 500, 600, 700, 800, 900, 2000]  # p50 500, p95 2000
    with db.write() as conn:
        for ms in latencies:
            api_calls.record(conn, call("getOrders", 200, ms))
        api_calls.record(conn, call("getOrderItems", 429, 50))
        api_calls.record(conn, call("getOrderItems", 200, 40))
        api_calls.record(conn, call("getOrderItems", 0, 30_000))  # no response (timeout)
        api_calls.record(conn, call("getOrderItems", 404, 20))  # an answer, not a failure
        api_calls.record(conn, call("getOrders", 500, 9, at=NOW - timedelta(days=8)))  # too old
        heartbeats.beat(conn, SELLER, "pull", NOW - 3 * HOUR, True)
        heartbeats.beat(conn, SELLER, "pull", NOW - HOUR, False)
    return db


def test_kpis_from_the_journal_and_the_call_log(store):
    status = kpi.gather(store, SELLER, NOW, Decimal("0.40"))
    assert (status.sync_success_rate_pct, status.changes_finished) == (Decimal("99.50"), 201)
    assert status.not_visible == 49 and status.to_dict()["changes_not_visible"] == 49
    # 14 calls in the window; the 429 and the timeout failed: 12 / 14.
    assert (status.api_success_rate_pct, status.api_calls) == (Decimal("85.71"), 14)
    assert [(x.operation, x.calls, x.p50_ms, x.p95_ms) for x in status.latency] == [
        ("getOrderItems", 4, 40, 30_000),  # nearest rank: 2nd and 4th of 20, 40, 50, 30000
        ("getOrders", 10, 500, 2000),
    ]
    assert status.last_success["pull"] == NOW - 3 * HOUR and status.last_run_ok["pull"] is False
    assert status.last_success["apply"] == NOW - 5 * HOUR  # the later run had a failure
    assert status.last_success["watch"] is None
    assert status.breaches == [
        "getOrderItems p95 latency 30000 ms is above 800 ms",
        "getOrders p95 latency 2000 ms is above 800 ms",
    ]  # 99.50 % meets the target; deviation 0.40 % too


def test_a_breaker_write_counts_as_a_change_but_is_not_the_last_apply(db):
    """The breaker writes while an apply is unfinished; `sync status` must not take its run
    for the account's last successful apply."""
    journal_fixture(db, ["verified"], NOW - 5 * HOUR)
    journal_fixture(db, ["accepted"], NOW - HOUR, kind="emergency")
    status = kpi.gather(db, SELLER, NOW, None)
    assert status.last_success["apply"] == NOW - 5 * HOUR
    assert (status.sync_success_rate_pct, status.changes_finished) == (Decimal("100.00"), 2)


def test_an_unknown_outcome_counts_as_finished_and_not_through(db):
    journal_fixture(db, ["verified"] * 199 + ["unknown"], NOW - HOUR)
    status = kpi.gather(db, SELLER, NOW, None)
    assert (status.sync_success_rate_pct, status.changes_finished) == (Decimal("99.50"), 200)


def test_a_missed_target_is_a_breach_and_unknowns_are_not(db):
    journal_fixture(db, ["verified"] * 99 + ["failed"], NOW - HOUR)
    status = kpi.gather(db, SELLER, NOW, Decimal("0.51"))
    assert status.sync_success_rate_pct == Decimal("99.00")
    assert status.breaches == [
        "sync success rate 99.00% is below 99.5%",
        "inventory deviation 0.51% is above 0.5%",
    ]
    empty = kpi.gather(db, "A2OTHER", NOW, None)
    assert empty.sync_success_rate_pct is None and empty.api_success_rate_pct is None
    assert empty.breaches == []


def test_percentile_is_nearest_rank():
    assert kpi.percentile([5], 0.95) == 5
    assert kpi.percentile(list(range(1, 101)), 0.95) == 95
    assert kpi.percentile([3, 1, 2, 4], 0.5) == 2


def test_the_prometheus_file_parses_and_is_replaced_whole(store, tmp_path):
    status = kpi.gather(store, SELLER, NOW, Decimal("0.40"))
    textfiles = tmp_path / "textfile-collector"
    textfiles.mkdir()
    path = textfiles / "sellersync.prom"
    path.write_text("stale\n")
    prometheus.write(path, status, SELLER)
    assert [p.name for p in textfiles.iterdir()] == ["sellersync.prom"]  # no temp file left
    samples = {
        (s.name, s.labels.get("operation") or s.labels.get("activity")): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }
    assert samples[("sellersync_sync_success_ratio", None)] == pytest.approx(0.995)
    assert samples[("sellersync_api_success_ratio", None)] == pytest.approx(0.8571)
    assert samples[("sellersync_inventory_deviation_ratio", None)] == pytest.approx(0.004)
    assert samples[("sellersync_api_latency_p95_seconds", "getOrders")] == 2.0
    assert samples[("sellersync_changes_not_visible", None)] == 49
    assert samples[("sellersync_last_success_timestamp_seconds", "pull")] == (
        (NOW - 3 * HOUR).timestamp()
    )
    assert ("sellersync_last_success_timestamp_seconds", "watch") not in samples  # unknown
