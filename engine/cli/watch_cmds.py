"""`sync watch` and `sync incident`: the order watchdog and what to do after it trips.

Thin: load config, open the backend and the state store, call engine.watch, print. Exit
codes of `sync watch`: 0 quiet, 2 a breaker tripped in this pass, 1 an error (a marketplace
that could not be read, a breaker write that failed or was deferred, a failed webhook).
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import click

from engine.errors import UserError

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
    from engine.config import load_config
    from engine.desired.render import render
    from engine.live.connect import open_backend
    from engine.state.db import open_state
    from engine.watch import summary
    from engine.watch.notify import post_summary
    from engine.watch.run import watch_once

    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    try:
        with open_backend(config) as backend:
            now = backend.now()
            desired = render(config, now).resources
            report = watch_once(config, backend, db, desired, now)
    finally:
        db.close()
    url = config.project.watch.webhook_url
    if url is not None:
        report.notify_error = post_summary(url, report.to_dict())
    if markdown_file is not None:
        markdown_file.write_text(summary.markdown(report), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(summary.text(report))
    if report.notify_error:
        click.echo(f"Error: webhook: {report.notify_error}", err=True)
    return report.exit_code


@click.command()
@click.option("--once", is_flag=True, help="One pass, then exit with its code.")
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
    ctx: click.Context, once: bool, interval: str, as_json: bool, markdown_file: Path | None
) -> int:
    """Read new orders in every marketplace, detect sales under the floor, undeclared deep
    promotions and runaway velocity, and trip the breaker of each listing affected.
    Exit 0 quiet, 2 tripped, 1 error (with --once; without it, passes repeat forever)."""
    pause = parse_interval(interval)
    while True:
        code = _pass(ctx.obj["config_dir"], as_json, markdown_file)
        if once:
            return code
        time.sleep(pause.total_seconds())


COMMANDS = [watch]
