"""`sync watch` and `sync incident`: the order watchdog and what to do after it trips.

Thin: load config, open the backend and the state store, call engine.watch, print. Exit
codes of `sync watch`: 0 quiet, 2 a breaker tripped in this pass, 1 an error (a marketplace
that could not be read, a breaker write that failed, a failed webhook). A breaker write never
waits for an apply (engine.watch.breaker).
`sync incident` exits 0, or 1 when an order could not be cancelled.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from engine.core.errors import UserError

_INTERVAL = re.compile(r"^(?P<n>\d+)(?P<unit>[smh]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_interval(value: str) -> timedelta:
    """15m, 1h, 90s or plain seconds; at least a minute (getOrders allows one call a minute)."""
    match = _INTERVAL.match(value.strip())
    if match is None:
        raise UserError(f"--interval {value!r}: give a duration such as 15m, 1h or 900s")
    seconds = int(match["n"]) * _UNITS[match["unit"]]
    if seconds < 60:
        raise UserError(f"--interval {value!r}: the shortest interval is 1m")
    return timedelta(seconds=seconds)


def _pass(config_dir: Path, as_json: bool, markdown_file: Path | None) -> int:
    from engine.cli.session import live_session
    from engine.config import load_config
    from engine.desired.render import render
    from engine.watch import summary
    from engine.watch.notify import post_summary
    from engine.watch.run import watch_once

    config = load_config(config_dir)
    with live_session(config, "watch") as (backend, db):
        now = backend.now()
        desired = render(config, now).resources
        report = watch_once(config, backend, db, desired, now)
    url, problem = config.project.watch.webhook(os.environ)
    if url is not None:
        report.notify_error = post_summary(url, report.to_dict())
    elif problem is not None:
        report.notify_error = problem
    if markdown_file is not None:
        markdown_file.write_text(summary.markdown(report), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(summary.text(report))
    if report.notify_error:
        click.echo(f"Error: webhook: {report.notify_error}", err=True)
    return report.exit_code


def _follow(
    config_dir: Path, queue_url: str, endpoint: str | None, port: int, dlq: str | None
) -> int:
    """`--follow`: serve the notification queue until SIGTERM (engine.watch.follow)."""
    import signal
    import threading

    from engine.cli.session import live_session
    from engine.config import load_config
    from engine.live.sqs import client, region_of_queue_url
    from engine.watch.follow import Follower, FollowSettings, SellerAccount
    from engine.watch.metrics import HealthServer

    config = load_config(config_dir)
    settings = FollowSettings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with live_session(config, "watch") as (backend, db):
        account = SellerAccount(config, backend, db)
        follower = Follower(
            {account.seller_id: account},
            client(endpoint, region_of_queue_url(queue_url)),
            queue_url,
            settings=settings,
            dead_letter_url=dlq,
        )
        stale = 3 * settings.wait_seconds + settings.fallback_after.total_seconds()
        server = HealthServer(follower.metrics, stale_after=stale, port=port)
        click.echo(f"following {queue_url}; health and metrics on {server.start()}", err=True)
        try:
            follower.run(stop)
        finally:
            server.stop()
    click.echo("stopped", err=True)
    return 0


@click.command()
@click.option("--once", is_flag=True, help="One pass, then exit with its code.")
@click.option(
    "--follow",
    "queue_url",
    metavar="QUEUE_URL",
    help="Long-running: consume SP-API notifications from this SQS queue (docs/watch.md).",
)
@click.option("--sqs-endpoint", help="With --follow: a local SQS API (the sandbox's moto).")
@click.option("--dead-letter-url", help="With --follow: where poison messages go.")
@click.option(
    "--metrics-port", default=9108, show_default=True, help="/healthz and /metrics on 127.0.0.1."
)
@click.option("--interval", default="15m", show_default=True, help="Time between passes.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--markdown",
    "markdown_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the summary as Markdown to FILE (e.g. for a CI comment).",
)
@click.pass_context
def watch(
    ctx: click.Context,
    once: bool,
    queue_url: str | None,
    sqs_endpoint: str | None,
    dead_letter_url: str | None,
    metrics_port: int,
    interval: str,
    as_json: bool,
    markdown_file: Path | None,
) -> int:
    """Read new orders in every marketplace, detect sales under the floor, undeclared deep
    promotions and runaway velocity, and trip the breaker of each listing affected.
    Exit 0 quiet, 2 tripped, 1 error (with --once; without it, passes repeat forever)."""
    if queue_url is not None:
        return _follow(
            ctx.obj["config_dir"], queue_url, sqs_endpoint, metrics_port, dead_letter_url
        )
    pause = parse_interval(interval)
    while True:
        code = _pass(ctx.obj["config_dir"], as_json, markdown_file)
        if once:
            return code
        time.sleep(pause.total_seconds())


def config_commit(root: Path) -> Any:
    """The last git commit touching the config directory, or None outside git."""
    from engine.watch.incident import ConfigCommit

    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%H%x00%cI%x00%s", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not out:
        return None
    sha, when, subject = out.split("\0", 2)
    return ConfigCommit(sha, datetime.fromisoformat(when), subject)


def _incident_list(breakers: list[Any], as_json: bool) -> int:
    from engine.core.orders import iso

    rows = [
        {
            "incident": b.incident_id,
            "marketplace": b.marketplace,
            "sku": b.sku,
            "tripped_at": iso(b.tripped_at),
            "reason": b.reason,
        }
        for b in breakers
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        click.echo("no tripped breakers")
    for row in rows:
        click.echo(
            f"{row['incident']}  {row['marketplace']} {row['sku']}  tripped {row['tripped_at']}"
        )
    return 0


def _echo_incident(data: dict[str, Any]) -> None:
    rate = data["cancellation_rate"]
    click.echo(f"incident {data['incident']}: {data['marketplace']} {data['sku']}")
    click.echo(f"  tripped {data['tripped_at']}: {data['reason']}")
    click.echo(f"  affected orders: {len(data['orders'])}")
    for row in data["orders"]:
        click.echo(
            f"    {row['order']} {row['purchased_at']} {row['channel']} {row['units']} unit(s) "
            f"at {row['realized_unit_price']} {row['currency']}"
            f" -> {row['cancel_reason'] or 'Amazon cancels (FBA)'}"
        )
    click.echo(
        f"  7-day cancellation rate: {rate['current_pct']}% now, {rate['projected_pct']}% "
        f"if cancelled ({rate['to_cancel']} more of {rate['mfn_orders']} MFN orders); "
        f"target below {rate['target_pct']}%"
    )
    click.echo("  evidence timeline:")
    for event in data["timeline"]:
        click.echo(f"    {event['at']}  {event['what']}")
    for name, text in data["plan_of_action"].items():
        click.echo(f"  {name.replace('_', ' ')}: {text}")
    click.echo(f"  messages ({len(data['messages'])}):")
    for message in data["messages"]:
        click.echo(f"    {message['order']} [{message['language']}] {message['text']}")
    click.echo("  cancellation feed (POST_ORDER_ACKNOWLEDGEMENT_DATA):")
    click.echo("    " + data["feed"].replace("\n", "\n    "))


@click.command()
@click.argument("incident_id", metavar="[ID]", required=False)
@click.option("--submit", is_flag=True, help="Message the buyers and cancel the orders.")
@click.option("--yes", is_flag=True, help="With --submit: do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def incident(
    ctx: click.Context, incident_id: str | None, submit: bool, yes: bool, as_json: bool
) -> int:
    """List tripped breakers, or show incident ID: affected orders, the projected 7-day
    cancellation rate, the cancellation feed, buyer messages and the evidence timeline.
    A dry run unless --submit."""
    from engine.config import load_config
    from engine.core.orders import iso
    from engine.desired.render import render
    from engine.live.connect import open_backend
    from engine.state import journal
    from engine.state import watch as watch_state
    from engine.state.db import open_state
    from engine.watch import incident as incidents
    from engine.watch.run import ORDERS_LAG
    from engine.watch.submit import submit as send

    config = load_config(ctx.obj["config_dir"])
    seller = config.project.seller_id
    db = open_state(config.project.state, config.state_dir)
    try:
        with db.read() as conn:
            breakers = watch_state.tripped(conn, seller)
            runs = journal.runs(conn, seller)
        if incident_id is None:
            return _incident_list(breakers, as_json)
        breaker = next((b for b in breakers if b.incident_id == incident_id), None)
        if breaker is None:
            known = ", ".join(b.incident_id for b in breakers) or "none"
            raise UserError(f"no tripped breaker has incident {incident_id!r} (tripped: {known})")
        with open_backend(config) as backend:
            now = backend.now()
            orders = backend.read_orders(
                breaker.marketplace,
                updated_after=now - incidents.CANCELLATION_WINDOW,
                updated_before=now - ORDERS_LAG,
            )
            affected = incidents.affected_orders(
                orders, config, render(config, now).resources, breaker
            )
            texts = incidents.messages(affected, config.project.seller_name)
            data = {
                "incident": breaker.incident_id,
                "marketplace": breaker.marketplace,
                "sku": breaker.sku,
                "tripped_at": iso(breaker.tripped_at),
                "reason": breaker.reason,
                "orders": [a.to_dict() for a in affected],
                "cancellation_rate": incidents.cancellation_rate(orders, affected, now).to_dict(),
                "feed": incidents.cancellation_feed(seller, affected).decode("utf-8"),
                "messages": [m.to_dict() for m in texts],
                "timeline": [
                    e.to_dict()
                    for e in incidents.timeline(breaker, affected, runs, config_commit(config.root))
                ],
                "plan_of_action": incidents.plan_of_action(breaker, affected),
                "submitted": None,
            }
            if submit:
                question = (
                    f"Message {len(texts)} buyer(s) and cancel "
                    f"{sum(a.cancellable for a in affected)} order(s) of {breaker.incident_id}?"
                )
                if not yes and not click.confirm(question, err=True):
                    raise click.exceptions.Abort()
                run_id, outcomes = send(backend, db, seller, breaker, affected, texts, now)
                data["submitted"] = {
                    "journal_run": run_id,
                    "orders": [o.to_dict() for o in outcomes],
                }
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _echo_incident(data)
        for row in (data["submitted"] or {}).get("orders", []):
            state = "cancelled" if row["cancelled"] else f"NOT cancelled: {row['cancel_error']}"
            click.echo(f"  submitted {row['order']}: {state}; message {row['message']}")
    submitted = data["submitted"] or {"orders": []}
    return 1 if any(not o["cancelled"] for o in submitted["orders"]) else 0


COMMANDS = [watch, incident]
