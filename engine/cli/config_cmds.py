"""`sync validate`, `sync render`, `sync explain`: the config commands.

Each command loads the config, calls the engine and formats the result; nothing here
computes anything. The clock is read here (the CLI is the edge), never in rendering.
None of them opens a backend, except `validate --live`: `validate` and `render` read only the
config's files (a pre-commit hook runs them offline), `explain` also reads the state store.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from engine.cli.options import console as rich_console
from engine.cli.options import json_option, now_option, parse_now
from engine.config import Config, load_config
from engine.config.errors import ConfigErrors, format_path
from engine.config.model import Origin
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.marketplaces import did_you_mean
from engine.core.resource import Resource
from engine.desired.render import DesiredState, Trace, render
from engine.flows.explain import explain_listing
from engine.guardrails.evaluate import OFFLINE_RULES
from engine.guardrails.report import GuardrailReport
from engine.plan.text import blocked_line, promotion_notice

RENDER_FORMAT_VERSION = 1


def _config(ctx: click.Context) -> Config:
    return load_config(ctx.obj["config_dir"])


@click.command()
@click.option(
    "--no-guardrails",
    is_flag=True,
    help="Check the files only, without the guardrails that need no live state.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json", "sarif"]),
    default="text",
    show_default=True,
    help="github: workflow annotations on the files' lines; json; sarif (SARIF 2.1.0, for "
    "code scanning).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Also check every listing against its product type's definition from Amazon (or the "
    "sandbox), cached in the state folder: required attributes, allowed values, lengths.",
)
@now_option
@click.pass_context
def validate(
    ctx: click.Context, no_guardrails: bool, fmt: str, live: bool, now_text: str | None
) -> int:
    """Check every config file, then the guardrails that need no live state (sales and
    promotions against the price floor, discount depth and duration limits). Exit 0 when
    valid, 1 with every file error, 3 when such a guardrail blocks: every plan would.
    With --live, a listing Amazon would refuse is an error at its product's file and line."""
    from engine.flows.validate import validate_config

    now = parse_now(now_text)
    if fmt != "text":
        return _validate_for_machines(ctx.obj["config_dir"], fmt, now, not no_guardrails, live)
    result = validate_config(
        ctx.obj["config_dir"], now=now, guardrails=not no_guardrails, live=live
    )
    if result.all_errors():
        raise ConfigErrors(result.all_errors())
    config, state = result.config, result.state
    assert config is not None and state is not None
    click.echo(
        f"{ctx.obj['config_dir']}: valid. {len(config.products)} products, "
        f"{len(config.marketplaces)} marketplaces, {len(state.resources)} listings, "
        f"{len(config.sales)} sale(s), {len(config.promotions)} promotion(s)"
        + (f", {len(state.needs_review)} held for review" if state.needs_review else "")
    )
    for item in state.needs_review:
        click.echo(f"  needs review: {item.address}: {item.reason}")
    if result.report is None:
        return ExitCode.OK
    for line in offline_guardrail_lines(result.report):
        click.echo(line)
    return ExitCode.BLOCKED if result.report.blocked else ExitCode.OK


def _validate_for_machines(
    config_dir: Path, fmt: str, now: datetime, guardrails: bool, live: bool
) -> int:
    """`validate --format github|json|sarif`: every finding in that format on stdout, a user
    error included (a missing config directory is a finding too), with the text format's
    exit codes."""
    from engine import __version__
    from engine.flows.validate import validate_config
    from engine.plan import findings

    try:
        result = validate_config(config_dir, now=now, guardrails=guardrails, live=live)
    except UserError as err:
        found, code = [findings.error_finding(" ".join(err.lines()))], err.exit_code
    else:
        errors = result.all_errors()
        found = findings.config_findings(errors)
        code = ExitCode.USER_ERROR if errors else ExitCode.OK
        if result.report is not None:
            found += findings.verdict_findings(result.report.verdicts)
            if result.report.blocked:
                code = ExitCode.BLOCKED
    if fmt == "github":
        for line in findings.github_annotations(found):
            click.echo(line)
        summary = "valid" if code == ExitCode.OK else f"{len(found)} finding(s)"
        click.echo(f"{config_dir}: {summary}.")
    elif fmt == "json":
        click.echo(json.dumps(findings.findings_json(found, valid=code == ExitCode.OK), indent=2))
    else:
        click.echo(json.dumps(findings.sarif(found, version=__version__), indent=2))
    return code


def offline_guardrail_lines(report: GuardrailReport) -> list[str]:
    """The offline verdicts: a count, every finding on a line of its own (blocks first),
    and when something blocks, a last line that says so."""
    counts = report.outcomes()
    names = ", ".join(rule.id for rule in OFFLINE_RULES)
    lines = [
        f"Guardrails that need no live state ({names}): {counts['block']} blocked, "
        f"{counts['approved']} approved, {counts['warn']} warning(s)."
    ]
    lines += [
        f"  {v.outcome.upper():<8} {v.describe()}" for v in report.verdicts if v.outcome != "pass"
    ]
    blocked = blocked_line(report.verdicts, refused="every plan of this config")
    if blocked is not None:
        lines.append(blocked)
    notice = promotion_notice(report.verdicts)
    if notice is not None:
        lines.append(notice)
    return lines


@click.command(name="render")
@click.option(
    "--marketplace",
    "-m",
    "marketplaces",
    multiple=True,
    metavar="CODE",
    help="Only these marketplaces (repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@now_option
@click.pass_context
def render_cmd(
    ctx: click.Context, marketplaces: tuple[str, ...], fmt: str, now_text: str | None
) -> int:
    """Print the desired state: one listing per marketplace and SKU."""
    config = _config(ctx)
    unknown = [m for m in marketplaces if m not in config.marketplaces]
    if unknown:
        raise UserError(
            f"marketplace {', '.join(unknown)} is not enabled"
            f"{''.join(did_you_mean(code) for code in unknown)}; enabled: "
            f"{', '.join(config.marketplaces)}"
        )
    state = render(config, parse_now(now_text))
    if marketplaces:
        state = state.for_marketplaces(marketplaces)
    if fmt == "json":
        click.echo(json.dumps(render_json(config, state), indent=2, ensure_ascii=False))
    else:
        print_render_table(state)
    return 0


def render_json(config: Config, state: DesiredState) -> dict[str, Any]:
    return {
        "format_version": RENDER_FORMAT_VERSION,
        "rendered_at": state.rendered_at.isoformat().replace("+00:00", "Z"),
        "seller_id": config.project.seller_id,
        "config_digest": config.digest,
        "resources": [{"address": a, **r.to_dict()} for a, r in state.resources.items()],
        "needs_review": [
            {"address": n.address, "marketplace": n.marketplace, "sku": n.sku, "reason": n.reason}
            for n in state.needs_review
        ],
        "replenishment": [
            {
                "marketplace": r.marketplace,
                "sku": r.sku,
                "fba_quantity": r.fba_quantity,
                "recommended_units": r.recommended_units,
                "reason": r.reason,
            }
            for r in state.replenishment
        ],
    }


def _money(value: Any) -> str:
    return "-" if value is None else f"{value:f}"


def print_render_table(state: DesiredState) -> None:
    console = rich_console(width=None if _is_tty() else 160)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("listing", "price", "list", "sale", "min..max", "qty", "title"):
        table.add_column(
            column,
            justify="right" if column in ("price", "list", "qty") else "left",
            no_wrap=True,
            overflow="ellipsis",
            max_width=50 if column == "title" else None,
        )
    for resource in state.resources.values():
        table.add_row(*_row(resource))
    console.print(table)
    if state.needs_review:
        console.print("\n[bold]Held for review[/bold] (not rendered):")
        for item in state.needs_review:
            console.print(f"  {item.address}: {item.reason}", markup=False)
    shipments = [r for r in state.replenishment if r.recommended_units > 0]
    stranded = len(state.replenishment) - len(shipments)
    if shipments:
        console.print("\n[bold]FBA replenishment[/bold] (ship into Amazon's warehouse):")
        for rec in shipments:
            console.print(
                f"  {rec.marketplace} {rec.sku}: send {rec.recommended_units} "
                f"unit(s); {rec.reason}",
                markup=False,
            )
    if stranded:
        console.print(
            f"\n{stranded} FBA listing(s) below their alert level with no central stock to "
            "send (render --format json lists them).",
            markup=False,
        )
    mfn = sum(1 for r in state.resources.values() if r.quantity is not None)
    console.print(
        f"\n{len(state.resources)} listing(s) ({mfn} MFN, {len(state.resources) - mfn} FBA), "
        f"{len(state.needs_review)} held for review.",
        markup=False,
    )


def _row(r: Resource) -> tuple[str, ...]:
    sale = "-"
    if r.sale is not None:
        sale = f"{r.sale.price:f} {r.sale.start:%m-%d}..{r.sale.end:%m-%d}"
    bounds = "-"
    if r.minimum_seller_allowed_price is not None or r.maximum_seller_allowed_price is not None:
        bounds = (
            f"{_money(r.minimum_seller_allowed_price)}..{_money(r.maximum_seller_allowed_price)}"
        )
    return (
        r.address,
        f"{r.our_price:f} {r.currency}",
        _money(r.list_price),
        sale,
        bounds,
        "FBA" if r.quantity is None else str(r.quantity),
        r.title,
    )


def _is_tty() -> bool:
    return sys.stdout.isatty()


@click.command(name="explain")
@click.argument("address")
@now_option
@json_option("Print every field, its value and where it came from as JSON (docs/json.md).")
@click.pass_context
def explain_cmd(ctx: click.Context, address: str, now_text: str | None, as_json: bool) -> int:
    """Show every field of one listing with its value and the file:line it came from.

    ADDRESS looks like 'listing.DE["HP-100"]'. An MFN quantity is allocated as for an
    account holding nothing live, less the units reserved for unshipped orders in the
    state store (`sync orders pull`), at most the listing's exposure cap (sized from the
    orders in the state store) and not at all while the watchdog holds its refills.
    """
    config = _config(ctx)
    code, trace = explain_listing(config, address, parse_now(now_text))
    if as_json:
        click.echo(json.dumps(trace_json(address, config, code, trace), ensure_ascii=False))
    else:
        click.echo(format_trace(address, config, code, trace, ctx.obj["config_dir"]))
    return 0


EXPLAIN_JSON_VERSION = 1


def trace_json(address: str, config: Config, code: str, trace: Trace) -> dict[str, Any]:
    """`sync explain --json`: each field's value (amounts as strings) with the config lines
    it came from, then the settings in effect."""
    info = config.marketplaces[code].info
    return {
        "format_version": EXPLAIN_JSON_VERSION,
        "address": address,
        "marketplace": code,
        "domain": info.domain,
        "currency": info.currency,
        "language": info.language,
        "fields": {
            f.name: {
                "value": _json_value(f.value),
                "from": [_origin_json(origin) for origin in f.origins],
                "note": f.note,
            }
            for f in trace.fields
        },
        "settings": {
            key: {"value": _json_value(value), "from": origin and _origin_json(origin)}
            for key, (value, origin) in trace.settings.items()
        },
    }


def _origin_json(origin: Origin) -> dict[str, Any]:
    pos = origin.source.position(origin.path)
    return {
        "file": origin.source.name,
        "line": None if pos is None else pos.line,
        "path": format_path(origin.path),
    }


def _json_value(value: Any) -> Any:
    """A traced value as JSON: Decimal as its exact string, like every amount in our JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "to_dict"):
        return _json_value(value.to_dict())
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def format_trace(address: str, config: Config, code: str, trace: Trace, root: Path) -> str:
    info = config.marketplaces[code].info
    lines = [f"{address}  ({info.domain}, {info.currency}, language {info.language})"]
    width = max(len(f.name) for f in trace.fields)
    for f in trace.fields:
        lines.append(f"  {f.name.ljust(width)}  {_show(f.value)}")
        for origin in f.origins:
            lines.append(f"  {'':{width}}    from {origin.describe()}")
        if f.note:
            lines.append(f"  {'':{width}}    {f.note}")
    lines.append("  settings in effect:")
    swidth = max(len(k) for k in trace.settings)
    for key, (value, origin) in trace.settings.items():
        where = origin.describe() if origin else "built-in default"
        lines.append(f"    {key.ljust(swidth)}  {_show(value)}  ({where})")
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return f"{value}"


COMMANDS = [validate, render_cmd, explain_cmd]
