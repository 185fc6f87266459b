"""Click options more than one command takes, defined once so that their names, help and
defaults cannot drift apart between commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from engine.core.errors import UserError

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def stacked(*options: Decorator) -> Decorator:
    """One decorator applying `options` in the order given (the first shows first in help)."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


config_option = click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("config"),
    envvar="SELLERSYNC_CONFIG",
    show_default=True,
    help="Directory holding project.yaml and the rest of the desired state.",
)

marketplaces_option = click.option(
    "--marketplace",
    "-m",
    "marketplaces",
    multiple=True,
    metavar="CODE",
    help="Only these marketplaces (repeatable; default: every enabled one).",
)


sku_target_option = click.option(
    "--sku",
    "skus",
    multiple=True,
    metavar="PATTERN",
    help="Only listings whose SKU matches this shell-style pattern (HP-*; repeatable), as "
    "Terraform's -target: for exceptional cases, not routine use.",
)


def marketplace_option(*, required: bool = True, example: str = "US") -> Decorator:
    """-m/--marketplace CODE: the one marketplace a command works in."""
    return click.option(
        "--marketplace", "-m", required=required, metavar="CODE", help=f"e.g. {example}"
    )


no_color_option = click.option(
    "--no-color",
    is_flag=True,
    help="No colour in any output (also when NO_COLOR is set to anything).",
)


def color_allowed(no_color: bool) -> bool:
    """Colour unless --no-color is given or NO_COLOR is set to a non-empty value
    (https://no-color.org)."""
    return not no_color and not os.environ.get("NO_COLOR")


def use_color(ctx: click.Context) -> bool:
    """Whether a command may colour what it prints: allowed (see `color_allowed`, decided
    by the group in engine.cli.main) and standard output is a terminal."""
    obj = ctx.find_root().obj or {}
    return bool(obj.get("color", color_allowed(False))) and sys.stdout.isatty()


def console(ctx: click.Context | None = None, **options: Any) -> Any:
    """A rich Console for a command's output that honours --no-color and NO_COLOR (`ctx`:
    the command's, default the current one)."""
    from rich.console import Console

    ctx = ctx or click.get_current_context(silent=True)
    obj = (ctx.find_root().obj if ctx is not None else None) or {}
    if not obj.get("color", color_allowed(False)):
        options.setdefault("no_color", True)
        options.setdefault("highlight", False)
    return Console(**options)


refresh_option = click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Read live state from the API, or plan from the cached snapshot (no API calls).",
)

full_refresh_option = click.option(
    "--full-refresh",
    is_flag=True,
    help="Fetch every listing's detail instead of only where the report shows a change: "
    "catches edits made outside sellersync to fields the report does not show (run it on a "
    "schedule, e.g. weekly).",
)

now_option = click.option(
    "--now",
    "now_text",
    metavar="TIMESTAMP",
    help="Render as of this time (ISO 8601 with timezone) instead of the current time.",
)


def parse_now(value: str | None) -> datetime:
    """--now for reproducible output; defaults to the current time (UTC)."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise UserError(f"--now {value!r} needs a timezone, e.g. 2026-11-27T00:00:00Z")
    return parsed.astimezone(UTC)


def json_option(help: str) -> Decorator:
    """--json: print `help`'s JSON instead of text (the value lands in `as_json`)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def probability_option(name: str, help: str, dest: str | None = None) -> Decorator:
    """A fault's probability P in [0, 1], unset by default (`sync sandbox faults set`)."""
    names = [name] if dest is None else [name, dest]
    return click.option(*names, type=click.FloatRange(0, 1), default=None, metavar="P", help=help)


connection_fault_options = stacked(
    probability_option("--drop-connections", "Drop the connection of a call with probability P."),
    click.option(
        "--drop-when",
        type=click.Choice(["before", "after", "either"]),
        default="either",
        show_default=True,
        help="Drop before the call is handled, after (a write applied, its answer lost), "
        "or either.",
    ),
    probability_option(
        "--lost-answers", "Handle a call, then answer 500 or 504 instead, with probability P."
    ),
    probability_option(
        "--document-errors",
        "Document uploads and downloads fail (500 or dropped) with probability P.",
    ),
    probability_option(
        "--throttle-share", "Answer 429 QuotaExceeded to a share P of the calls (no storm)."
    ),
)
"""The faults that leave a client unsure whether its write happened (dropped connections,
lost answers, failed document transfers) and partial throttling."""

report_fault_options = stacked(
    click.option(
        "--reports-cancelled",
        is_flag=True,
        help="Reports end CANCELLED, as Amazon cancels reports requested too often.",
    ),
    click.option(
        "--report-variant",
        type=click.Choice(["de_legacy", "jp_cp932"]),
        default=None,
        help="Merchant listings reports with German legacy headers, or Japanese headers in cp932.",
    ),
)
"""The faults that make reports look as Amazon really sends them."""
