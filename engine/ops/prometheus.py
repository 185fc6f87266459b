"""The KPIs in Prometheus text format, for node_exporter's textfile collector.

node_exporter reads every `*.prom` file in its directory at each scrape, so a half-written
file would be scraped as garbage: prometheus_client's `write_to_textfile` writes a temporary
file beside the target and renames it over (atomic on one filesystem). Ratios are 0-1 and
durations seconds, as Prometheus conventions ask; an unknown figure is left out rather than
written as 0 or NaN.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from engine.ops.kpi import StatusFigures


def registry(status: StatusFigures, seller_id: str) -> CollectorRegistry:
    reg = CollectorRegistry()

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, ("seller_id", *labels), registry=reg)

    def ratio(value: Decimal | None, name: str, doc: str) -> None:
        if value is not None:
            gauge(name, doc).labels(seller_id).set(float(value / 100))

    ratio(
        status.sync_success_rate_pct,
        "sellersync_sync_success_ratio",
        "Share of finished changes that went through (target >= 0.995).",
    )
    ratio(
        status.api_success_rate_pct,
        "sellersync_api_success_ratio",
        "Share of SP-API attempts not throttled or failed.",
    )
    ratio(
        status.inventory_deviation_pct,
        "sellersync_inventory_deviation_ratio",
        "Sum of |live - desired| MFN units over desired units (target <= 0.005).",
    )
    calls = gauge("sellersync_api_calls", "SP-API attempts in the window.")
    calls.labels(seller_id).set(status.api_calls)
    waiting = gauge(
        "sellersync_changes_not_visible", "Changes accepted by Amazon, not yet seen live."
    )
    waiting.labels(seller_id).set(status.not_visible)
    if status.latency:
        p50 = gauge("sellersync_api_latency_p50_seconds", "Median latency.", ("operation",))
        p95 = gauge(
            "sellersync_api_latency_p95_seconds", "95th percentile latency.", ("operation",)
        )
        for lat in status.latency:
            p50.labels(seller_id, lat.operation).set(lat.p50_ms / 1000)
            p95.labels(seller_id, lat.operation).set(lat.p95_ms / 1000)
    last = gauge(
        "sellersync_last_success_timestamp_seconds",
        "When each activity last succeeded (Unix time).",
        ("activity",),
    )
    for activity, at in status.last_success.items():
        if at is not None:
            last.labels(seller_id, activity).set(at.timestamp())
    return reg


def write(path: Path, status: StatusFigures, seller_id: str) -> None:
    """Write the file atomically (temporary file, then rename)."""
    write_to_textfile(str(path), registry(status, seller_id))
