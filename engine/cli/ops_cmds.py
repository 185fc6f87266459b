"""`sync orders pull | list | route`, `sync health`, `sync inventory replenish | deviation`,
`sync status`: thin commands over engine.flows.ops (parse options, call, print a table or
JSON)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from engine.cli.options import json_option
from engine.cli.progress import progress_bar
from engine.cli.tables import print_table
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.marketplaces import MARKETPLACES, did_you_mean
from engine.core.orders import STATUSES, iso
from engine.flows import ops as flow
from engine.ops.kpi import SYNC_SUCCESS_TARGET_PCT, StatusFigures
from engine.ops.prometheus import write as write_prometheus
from engine.ops.routing import COLUMNS
from engine.state.orders import OrderFilter


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _when(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or date-time; without a time zone it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"{option} {value!r}: give an ISO 8601 date or date-time such as 2026-11-20 "
            "or 2026-11-20T08:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _marketplace(value: str | None) -> str | None:
    if value is not None and value not in MARKETPLACES:
        raise UserError(
            f"--marketplace {value!r} is not a marketplace code such as DE or US"
            f"{did_you_mean(value)}"
        )
    return value


@click.group()
def orders() -> None:
    """Orders of every enabled marketplace: pull them, list them, route them to warehouses."""


@orders.command(name="pull")
@json_option("Print the summary as JSON.")
@click.pass_context
def pull_cmd(ctx: click.Context, as_json: bool) -> int:
    """Read orders updated since the last pull into the state store (idempotent)."""
    with progress_bar(ctx, as_json=as_json) as progress:
        result = flow.pull(ctx.obj["config_dir"], progress)
    if as_json:
        _echo_json(result.to_dict())
        return 0
    for m in result.marketplaces:
        click.echo(
            f"{m.marketplace}: {m.read} orders updated {m.updated_after:%Y-%m-%d %H:%M} to "
            f"{m.updated_before:%Y-%m-%d %H:%M} UTC ({m.new} new, {m.updated} updated, "
            f"{m.unchanged} unchanged)"
        )
    return 0


@orders.command(name="list")
@click.option("--marketplace", "-m", help="Only this marketplace (code, e.g. DE).")
@click.option("--status", type=click.Choice(STATUSES), help="Only orders in this status.")
@click.option("--sku", help="Only orders with this SKU.")
@click.option("--promotion", "promotion_id", help="Only orders with this promotion id.")
@click.option("--from", "since", help="Purchased at or after (ISO 8601; UTC if no zone).")
@click.option("--to", "until", help="Purchased before (ISO 8601; UTC if no zone).")
@json_option("Print the orders as JSON.")
@click.pass_context
def list_cmd(
    ctx: click.Context,
    marketplace: str | None,
    status: str | None,
    sku: str | None,
    promotion_id: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> int:
    """Orders in the state store (run `sync orders pull` first), oldest first."""
    where = OrderFilter(
        marketplace=_marketplace(marketplace),
        status=status,
        sku=sku,
        promotion_id=promotion_id,
        purchased_from=_when(since, "--from"),
        purchased_to=_when(until, "--to"),
    )
    found = flow.find_orders(ctx.obj["config_dir"], where)
    if as_json:
        _echo_json([s.order.to_dict() for s in found])
        return 0
    print_table(
        (
            "order",
            "mkt",
            "status",
            "channel",
            "purchased (UTC)",
            "ship to",
            "items",
            "total",
            "promotions",
            "buyer cancel",
        ),
        [
            (
                o.amazon_order_id,
                o.marketplace,
                o.status,
                o.channel,
                f"{o.purchase_date:%Y-%m-%d %H:%M}",
                o.ship_country,
                ", ".join(f"{i.sku}×{i.quantity}" for i in o.items),
                None if o.order_total is None else f"{o.order_total:f} {o.currency}",
                ", ".join(o.promotion_ids),
                "yes" if o.buyer_requested_cancel else "",
            )
            for o in (s.order for s in found)
        ],
    )
    click.echo(f"{len(found)} order(s)")
    return 0


COMMANDS = [orders]


@orders.command(name="route")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output.",
)
@click.pass_context
def route_cmd(ctx: click.Context, fmt: str, output: Path | None) -> int:
    """Route every open merchant-fulfilled order in the store to a warehouse of
    warehouses.yaml, for the warehouse system (one line per order line and warehouse)."""
    lines = flow.route_orders(ctx.obj["config_dir"])
    if fmt == "json":
        text = json.dumps([line.to_dict() for line in lines], indent=2, ensure_ascii=False) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(line.to_dict() for line in lines)
        text = buffer.getvalue()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        backordered = sum(1 for line in lines if line.backorder)
        click.echo(f"wrote {len(lines)} route line(s) to {output} ({backordered} backordered)")
    return 0


EXIT_HEALTH_BREACH = ExitCode.HEALTH_BREACHED


@click.command(name="health")
@click.option(
    "--local-only", is_flag=True, help="Skip Amazon's report; project from pulled orders only."
)
@json_option("Print the figures as JSON.")
@click.pass_context
def health_cmd(ctx: click.Context, local_only: bool, as_json: bool) -> int:
    """Account health per marketplace: Amazon's seller performance report beside a projection
    from pulled orders. Exits 5 when a figure breaches its target (warnings exit 0)."""
    result = flow.health(ctx.obj["config_dir"], read_report=not local_only)
    if as_json:
        _echo_json(result.to_dict())
    else:
        for note in result.notes:
            click.echo(f"note: {note}")
        print_table(
            ("mkt", "metric", "report %", "local %", "gate %", "target %", "warn %", "verdict"),
            result.rows(),
        )
        click.echo(result.summary())
    return EXIT_HEALTH_BREACH if result.breached else 0


COMMANDS.append(health_cmd)


REPLENISH_JSON_VERSION = 1


@click.group()
def inventory() -> None:
    """Stock views: FBA replenishment and MFN quantity deviation."""


@inventory.command(name="replenish")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the recommendations to this CSV file.",
)
@json_option("Print the recommendations as JSON (docs/json.md).")
@click.pass_context
def replenish_cmd(ctx: click.Context, csv_path: Path | None, as_json: bool) -> int:
    """Per FBA SKU and marketplace below its alert level: live fulfillable units, the
    thresholds, and the units to send from the central warehouse."""
    recs = flow.replenish(ctx.obj["config_dir"])
    header = (
        "marketplace",
        "sku",
        "fba_fulfillable",
        "alert_level",
        "max_per_site",
        "recommended_transfer",
        "reason",
    )
    rows = [
        (
            r.marketplace,
            r.sku,
            r.fba_quantity,
            r.alert_level,
            r.max_per_site,
            r.recommended_units,
            r.reason,
        )
        for r in recs
    ]
    if as_json:
        recommendations = [dict(zip(header, row, strict=True)) for row in rows]
        _echo_json({"format_version": REPLENISH_JSON_VERSION, "recommendations": recommendations})
    else:
        print_table(header, rows)
    if not rows and not as_json:
        click.echo(
            "No FBA listing is below its alert level: nothing to send to Amazon's warehouses."
        )
    if csv_path is not None:
        with csv_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        click.echo(f"wrote {len(rows)} recommendation(s) to {csv_path}", err=as_json)
    return 0


@inventory.command(name="deviation")
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Read live listings, or only the cached snapshot.",
)
@json_option("Print as JSON.")
@click.pass_context
def deviation_cmd(ctx: click.Context, refresh: bool, as_json: bool) -> int:
    """Desired versus live merchant-fulfilled quantity, in percent (target <= 0.5 %)."""
    result = flow.deviation(ctx.obj["config_dir"], refresh=refresh)
    rows = [
        (d.address, d.desired, "not live" if d.live is None else d.live) for d in result.listings
    ]
    if as_json:
        _echo_json(
            {
                "percent": f"{result.percent:f}",
                "desired_total": result.desired_total,
                "off_by": result.off_by,
                "listings": [
                    {"address": d.address, "desired": d.desired, "live": d.live}
                    for d in result.listings
                ],
            }
        )
        return 0
    print_table(("listing", "desired", "live"), rows)
    click.echo(
        f"deviation {result.percent}% ({result.off_by} of {result.desired_total} desired units)"
    )
    return 0


COMMANDS.append(inventory)


EXIT_STATUS_BREACH = ExitCode.KPI_MISSED


@click.command(name="status")
@json_option("Print the KPIs as JSON.")
@click.option(
    "--prometheus",
    "prom_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write them for node_exporter's textfile collector (a *.prom file).",
)
@click.option(
    "--now",
    "now_text",
    help="Evaluate as of this time (ISO 8601; default: now on the backend's clock, which is "
    "the sandbox's virtual time for the embedded sandbox).",
)
@click.option(
    "--strict", is_flag=True, help="Exit 6 when a KPI misses its target (for CI alerting)."
)
@click.pass_context
def status_cmd(
    ctx: click.Context, as_json: bool, prom_path: Path | None, now_text: str | None, strict: bool
) -> int:
    """Sync success rate, API latency per operation, inventory deviation, and when plan,
    apply, watch and pull last succeeded. Reads only the state store and snapshot cache."""
    if prom_path is not None and prom_path.suffix != ".prom":
        raise UserError(f"--prometheus {prom_path}: node_exporter only reads files ending in .prom")
    # Without --now, the flow takes the backend's clock (the sandbox's virtual time).
    found = flow.status(ctx.obj["config_dir"], _when(now_text, "--now"))
    status = found.figures
    if prom_path is not None:
        write_prometheus(prom_path, status, found.seller_id)
    if as_json:
        _echo_json({**status.to_dict(), **_blockers_json(found)})
    else:
        _print_status(status, _clock_label(found))
        for line in _blocker_lines(found):
            click.echo(line)
    return EXIT_STATUS_BREACH if strict and status.breaches else 0


def _clock_label(found: flow.Status) -> str:
    """What follows a time the store recorded: the backend's clock, virtual for a sandbox."""
    return " UTC (sandbox clock)" if found.sandbox_clock else " UTC"


def _blocker_lines(found: flow.Status) -> list[str]:
    """The apply lock when held, and the unfinished run a re-run resumes."""
    utc = _clock_label(found)
    held = found.lock
    lines = [
        "apply lock: free"
        if held is None
        else f"apply lock: HELD by {held.holder} ({held.operation}) since "
        f"{held.acquired_at:%Y-%m-%d %H:%M:%S}{utc}, lock id {held.id}; if that process is "
        f"gone, `sync force-unlock {held.id}` releases it"
    ]
    point = found.unfinished
    if point is None:
        lines.append("unfinished run: none")
        return lines
    run = point.run
    lines.append(
        f"unfinished {run.kind} run {run.id} (started {run.started_at:%Y-%m-%d %H:%M:%S}{utc}, "
        f"plan sha256 {run.plan_digest}): {len(point.to_send)} change(s) not sent yet, "
        f"{len(point.outcome_unknown)} sent with the outcome unknown, {len(point.to_verify)} "
        "to verify; applying the same plan file again resumes it (`sync apply --abandon "
        f"{run.id}` gives it up when the file is lost)"
    )
    return lines


def _blockers_json(found: flow.Status) -> dict[str, Any]:
    held, point = found.lock, found.unfinished
    return {
        "clock": "sandbox" if found.sandbox_clock else "wall",
        "apply_lock": None if held is None else held.to_dict(),
        "unfinished_run": None
        if point is None
        else {
            "id": point.run.id,
            "kind": point.run.kind,
            "plan_digest": point.run.plan_digest,
            "started_at": iso(point.run.started_at),
            "to_send": len(point.to_send),
            "outcome_unknown": len(point.outcome_unknown),
            "to_verify": len(point.to_verify),
        },
    }


def _print_status(status: StatusFigures, utc: str = " UTC") -> None:
    def pct(value: Decimal | None) -> str:
        return "unknown" if value is None else f"{value}%"

    if utc != " UTC":
        click.echo(
            "Times marked (sandbox clock) are the sandbox's virtual time, which can run "
            "ahead of or behind the wall clock."
        )
    click.echo(f"KPIs from {status.window_start:%Y-%m-%d %H:%M} to {status.now:%Y-%m-%d %H:%M} UTC")
    click.echo(
        f"sync success rate: {pct(status.sync_success_rate_pct)} of {status.changes_finished} "
        f"finished change(s) (target >= {SYNC_SUCCESS_TARGET_PCT}%)"
    )
    click.echo(
        f"API success rate: {pct(status.api_success_rate_pct)} of {status.api_calls} call(s)"
    )
    click.echo(f"inventory deviation: {pct(status.inventory_deviation_pct)} (target <= 0.5%)")
    click.echo(
        f"changes not yet visible live: {status.not_visible}"
        + (" (`sync apply --recheck` looks again)" if status.not_visible else "")
    )
    if status.latency:
        print_table(
            ("operation", "calls", "p50 ms", "p95 ms"),
            [(x.operation, x.calls, x.p50_ms, x.p95_ms) for x in status.latency],
        )
    for activity, at in status.last_success.items():
        last_ok = status.last_run_ok.get(activity)
        note = " (last run failed)" if last_ok is False else ""
        when = "never" if at is None else f"{at:%Y-%m-%d %H:%M}{utc}"
        click.echo(f"last successful {activity}: {when}{note}")
    for breach in status.breaches:
        click.echo(f"missed: {breach}")


COMMANDS.append(status_cmd)
