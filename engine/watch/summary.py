"""The watch report as text (the terminal) and Markdown (a CI comment or chat post)."""

from __future__ import annotations

from engine.core.orders import iso
from engine.watch.run import WatchReport

_HEADLINE = {"quiet": "quiet", "tripped": "BREAKER TRIPPED", "error": "errors"}


def text(report: WatchReport) -> str:
    status = report.to_dict()["status"]
    lines = [f"watch {iso(report.at)} seller {report.seller_id}: {_HEADLINE[status]}"]
    for read in report.reads:
        what = f"error: {read.error}" if read.error else f"{read.orders} order(s)"
        lines.append(
            f"  {read.marketplace}: orders updated {iso(read.since)} to {iso(read.until)}: {what}"
        )
    for found in report.detections:
        lines.append(f"  detected {found.rule} on {found.address}: {found.message}")
    for done in report.enforcement:
        b = done.breaker
        lines.append(f"  breaker {b.incident_id}: {done.outcome} ({done.detail})")
    for breaker in report.released:
        lines.append(f"  released {breaker.incident_id}: acknowledged in incidents.yaml")
    if report.notify_error:
        lines.append(f"  webhook failed: {report.notify_error}")
    return "\n".join(lines)


def markdown(report: WatchReport) -> str:
    status = report.to_dict()["status"]
    lines = [f"### sellersync watch: {_HEADLINE[status]}", ""]
    lines.append(f"Seller `{report.seller_id}`, {iso(report.at)}.")
    read = sum(r.orders for r in report.reads)
    lines.append(f"{read} order(s) read in {len(report.reads)} marketplace(s).")
    if report.detections:
        lines += ["", "| listing | rule | units | orders | why |", "|---|---|---|---|---|"]
        lines += [
            f"| `{d.address}` | {d.rule} | {d.units} | {len(d.order_ids)} | {_cell(d.message)} |"
            for d in report.detections
        ]
    if report.enforcement:
        lines += ["", "| breaker | listing | tripped | outcome |", "|---|---|---|---|"]
        for done in report.enforcement:
            b = done.breaker
            lines.append(
                f"| {b.incident_id} | `{b.marketplace}` `{b.sku}` | {iso(b.tripped_at)} | "
                f"{done.outcome}: {_cell(done.detail)} |"
            )
        lines += [
            "",
            "A tripped breaker holds its listing until `config/incidents.yaml` acknowledges the "
            "incident; `sync incident ID` shows the affected orders and the cancellation plan.",
        ]
    if report.released:
        released = ", ".join(b.incident_id for b in report.released)
        lines += ["", f"Released (acknowledged): {released}."]
    if report.errors:
        lines += ["", "Errors:", *[f"- {_cell(e)}" for e in report.errors]]
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
