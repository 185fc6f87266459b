"""`sync plan`, `sync drift` and `sync import`: compare the config with live, say what
differs, adopt what the config does not describe yet.

Thin: load the config, open the live session, call the engine (`engine.plan.build`,
`engine.adopt`), format.
Exit codes (engine.core.exitcodes): 0 no changes, 2 changes present, 3 blocked by a guardrail
(plan: 2 and 3 only with --detailed-exitcode, so a CI step that just shows the plan passes;
a block wins over changes, and counts even when no listing changes: declaring a promotion
changes none), 1 error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.adopt import import_listings
from engine.cli.config_cmds import now_option, parse_now
from engine.cli.session import live_session
from engine.config import load_config
from engine.core import jsonio
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.fileio import write_atomic
from engine.plan.build import PlanRun, build_plan, load_for_plan, selected_marketplaces
from engine.plan.drift import (
    drift_json,
    drift_report,
    expected_lines,
    render_drift_markdown,
    render_drift_text,
)
from engine.plan.markdown import render_markdown
from engine.plan.refresh_only import RefreshOnlyPlan, adoptions, render_refresh_only
from engine.plan.text import blocked_line, guardrail_summary, render_text
from engine.state import last_applied

EXIT_CHANGES = ExitCode.CHANGES
EXIT_BLOCKED = ExitCode.BLOCKED

marketplace_option = click.option(
    "--marketplace",
    "-m",
    "marketplaces",
    multiple=True,
    metavar="CODE",
    help="Only these marketplaces (repeatable; default: every enabled one).",
)
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


def _plan(
    ctx: click.Context,
    marketplaces: tuple[str, ...],
    refresh: bool,
    now: str | None,
    activity: str,
    full_refresh: bool = False,
    with_applied: bool = False,
) -> tuple[PlanRun, dict[str, last_applied.FieldValues]]:
    """The plan run and, `with_applied`, the values last applied (else empty)."""
    config, cached = load_for_plan(
        ctx.obj["config_dir"], refresh=refresh, marketplaces=marketplaces
    )
    with live_session(config, activity, full_refresh=full_refresh, preloaded=cached) as (
        backend,
        db,
    ):
        run = build_plan(
            config, backend, db, now=parse_now(now), marketplaces=marketplaces, refresh=refresh
        )
        if not with_applied:
            return run, {}
        with db.read() as conn:
            return run, last_applied.load(conn, config.project.seller_id)


@click.command(name="plan")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan file here, for `sync apply FILE`.",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan as a pull-request comment (Markdown) here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan file JSON instead of text.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 3 when a guardrail blocks the plan (changes or not), else 2 when there are "
    "changes, 0 when none.",
)
@marketplace_option
@refresh_option
@full_refresh_option
@now_option
@click.pass_context
def plan_cmd(
    ctx: click.Context,
    out: Path | None,
    markdown_path: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    marketplaces: tuple[str, ...],
    refresh: bool,
    full_refresh: bool,
    now_text: str | None,
) -> int:
    """Show what apply would change to make live listings match the config."""
    run, _ = _plan(ctx, marketplaces, refresh, now_text, "plan", full_refresh)
    plan = run.plan
    if out is not None:
        write_atomic(out, plan.dumps())
    if markdown_path is not None:
        hint = f"the plan file {out.name}" if out is not None else "`sync plan --out FILE`"
        comment = render_markdown(
            plan.changeset,
            artifact_hint=hint,
            verdicts=plan.guardrails,
            held=[h.message for h in plan.held],
            notes=run.notes,
        )
        write_atomic(markdown_path, comment)
    if as_json:
        click.echo(plan.dumps(), nl=False)
        for note in run.notes:
            click.echo(f"Note: {note}", err=True)
        click.echo(guardrail_summary(plan.guardrails), err=True)
    else:
        click.echo(plan_text(run, color=sys.stdout.isatty()))
    if out is not None:
        click.echo(f"Saved the plan to {out}; apply exactly it with `sync apply {out}`.", err=True)
    if not detailed_exitcode:
        return ExitCode.OK
    return plan_exit_code(run)


def plan_exit_code(run: PlanRun) -> ExitCode:
    """What `plan --detailed-exitcode` says: a block first (a plan apply would refuse is not
    a reviewable one, and a declared promotion blocks with no listing change), then changes."""
    if run.guardrails.blocked:
        return EXIT_BLOCKED
    return EXIT_CHANGES if run.plan.changes else ExitCode.OK


def plan_text(run: PlanRun, *, color: bool = False) -> str:
    """Drift, listings held for review, listings held by a breaker and what the plan was
    computed without first (they explain the plan), then the plan with its guardrail
    verdicts."""
    lines: list[str] = []
    report = drift_report(run.plan, _currencies(run), run.drift_facts)
    if report.drifted:
        lines.append(
            f"Note: {len(report.drifted)} field(s) changed outside sellersync since the last "
            "apply (drift):"
        )
        lines += [f"  {d.address} {d.describe()}" for d in report.drifted]
        lines.append("")
    if report.expected:
        lines.append(
            f"Note: {len(report.expected)} difference(s) since the last apply are expected, "
            "not drift:"
        )
        lines += [f"  {line}" for line in expected_lines(report)]
        lines.append("")
    if run.review:
        lines.append(f"{len(run.review)} listing(s) need review and are not planned:")
        lines += [f"  {item.address}: {item.reason}" for item in run.review]
        lines.append("")
    if run.plan.held:
        lines.append(f"{len(run.plan.held)} listing(s) held by a tripped breaker:")
        lines += [f"  {h.message}" for h in run.plan.held]
        lines.append("")
    for note in run.notes:
        lines += [f"Note: {note}", ""]
    lines.append(render_text(run.plan.changeset, color=color, verdicts=run.plan.guardrails))
    blocked = blocked_line(run.plan.guardrails)
    if blocked is not None:
        lines += ["", blocked]
    return "\n".join(lines)


@click.command(name="drift")
@click.option("--json", "as_json", is_flag=True, help="Print the drift report as JSON.")
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report as an issue body (Markdown) here.",
)
@click.option(
    "--refresh-only",
    is_flag=True,
    help="Instead of the report: list the managed listings whose last-applied values would "
    "be set to what is live (adoption), for `sync apply --refresh-only FILE`.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --refresh-only: save the list here.",
)
@marketplace_option
@full_refresh_option
@now_option
@click.pass_context
def drift_cmd(
    ctx: click.Context,
    as_json: bool,
    markdown_path: Path | None,
    refresh_only: bool,
    out: Path | None,
    marketplaces: tuple[str, ...],
    full_refresh: bool,
    now_text: str | None,
) -> int:
    """For schedules: exit 2 when live differs from the config in a way that needs a person
    (drift, config changes not applied, listings never adopted), 0 when it does not."""
    if refresh_only and markdown_path is not None:
        raise UserError("--refresh-only makes a file to review, not an issue; drop --markdown")
    if out is not None and not refresh_only:
        raise UserError("--out saves a refresh-only file; add --refresh-only")
    run, applied = _plan(
        ctx, marketplaces, True, now_text, "drift", full_refresh, with_applied=refresh_only
    )
    if refresh_only:
        return _refresh_only(run, applied, out, as_json)
    report = drift_report(run.plan, _currencies(run), run.drift_facts)
    if markdown_path is not None:
        write_atomic(markdown_path, render_drift_markdown(report))
    if as_json:
        click.echo(jsonio.dumps(drift_json(report)))
    else:
        click.echo(render_drift_text(report), nl=False)
    return EXIT_CHANGES if report.differs else 0


def _refresh_only(
    run: PlanRun, applied: dict[str, last_applied.FieldValues], out: Path | None, as_json: bool
) -> int:
    """`sync drift --refresh-only`: what adoption would record, shown and saved; no writes."""
    plan = RefreshOnlyPlan(
        run.plan.created_at,
        run.plan.backend,
        adoptions(run.desired.resources, run.live.resources(), applied),
    )
    if out is not None:
        write_atomic(out, plan.dumps())
    if as_json:
        click.echo(plan.dumps(), nl=False)
    else:
        click.echo(render_refresh_only(plan, run.desired.resources), nl=False)
    if out is not None:
        click.echo(f"Saved to {out}; record it with `sync apply --refresh-only {out}`.", err=True)
    return 0


def _currencies(run: PlanRun) -> dict[str, str]:
    return {a: listing.resource.currency for a, listing in run.live.listings.items()}


@click.command(name="import")
@click.option("--marketplace", "-m", required=True, metavar="CODE", help="e.g. US")
@click.option(
    "--sku",
    "pattern",
    default="*",
    show_default=True,
    metavar="PATTERN",
    help="A SKU or shell-style pattern (HP-*) of the live listings to adopt.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Config directory to write into (default: the --config directory).",
)
@refresh_option
@now_option
@click.pass_context
def import_cmd(
    ctx: click.Context,
    marketplace: str,
    pattern: str,
    out: Path | None,
    refresh: bool,
    now_text: str | None,
) -> int:
    """Write YAML for live listings the config does not describe yet."""
    config = load_config(ctx.obj["config_dir"])
    selected_marketplaces(config, [marketplace])
    now = parse_now(now_text)
    with live_session(config) as (backend, _):
        live = backend.read_listings([marketplace], refresh=refresh)
    result = import_listings(config, live.resources(), marketplace, pattern, now, out)
    where = config.root if out is None else out
    click.echo(f"Imported {len(result.skus)} listing(s) from {marketplace} into {where}:")
    click.echo("  " + ", ".join(result.skus))
    for path in result.written:
        click.echo(f"  wrote {path}")
    for path in result.extended:
        click.echo(f"  added overrides to {path}")
    for line in result.differences:
        click.echo(f"  still differs from live (the plan will change it): {line}")
    click.echo(
        "Set each imported product's unit cost (written as 0: Amazon does not know it); "
        "price floors built on cost cannot protect a product until it is set."
    )
    return 0


COMMANDS = [plan_cmd, drift_cmd, import_cmd]
