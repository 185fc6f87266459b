"""`sync plan`, `sync drift` and `sync import`: compare the config with live, say what
differs, adopt what the config does not describe yet.

Thin: parse options, call the flow (engine.flows.plan, .drift, .import_listings), format.
Exit codes (engine.core.exitcodes): 0 no changes, 2 changes present, 3 blocked by a guardrail
(plan: 2 and 3 only with --detailed-exitcode, so a CI step that just shows the plan passes;
a block wins over changes, and counts even when no listing changes: declaring a promotion
changes none), 1 error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.options import (
    full_refresh_option,
    json_option,
    marketplace_option,
    marketplaces_option,
    now_option,
    parse_now,
    refresh_option,
    sku_target_option,
    use_color,
)
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode
from engine.core.fileio import write_atomic

if TYPE_CHECKING:
    from engine.flows.drift import AdoptionPlan
    from engine.flows.plan import PlanRun
    from engine.plan.saved import SavedPlan

EXIT_CHANGES = ExitCode.CHANGES
EXIT_BLOCKED = ExitCode.BLOCKED


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
@json_option(
    "Print the plan file JSON instead of text (with the listings held for review, the notes "
    "and the drift report; docs/json.md)."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 3 when a guardrail blocks the plan (changes or not), else 2 when there are "
    "changes, 0 when none.",
)
@marketplaces_option
@sku_target_option
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
    skus: tuple[str, ...],
    refresh: bool,
    full_refresh: bool,
    now_text: str | None,
) -> int:
    """Show what apply would change to make live listings match the config."""
    from engine.cli.progress import progress_bar
    from engine.flows.plan import plan_config
    from engine.plan.text import guardrail_summary

    with progress_bar(ctx, as_json=as_json) as progress:
        run, _ = plan_config(
            ctx.obj["config_dir"],
            now=parse_now(now_text),
            activity="plan",
            marketplaces=marketplaces,
            refresh=refresh,
            full_refresh=full_refresh,
            target=skus,
            progress=progress,
        )
    plan = run.plan
    saved = saved_plan(run)
    if out is not None:
        write_atomic(out, saved.dumps())
    if markdown_path is not None:
        hint = f"the plan file {out.name}" if out is not None else "`sync plan --out FILE`"
        write_comment_parts(markdown_path, run, artifact_hint=hint)
    if as_json:
        click.echo(saved.dumps(), nl=False)
        for note in run.notes:
            click.echo(f"Note: {note}", err=True)
        click.echo(guardrail_summary(plan.guardrails), err=True)
    else:
        click.echo(saved.text(color=use_color(ctx)))
    if out is not None:
        click.echo(f"Saved the plan to {out}; apply exactly it with `sync apply {out}`.", err=True)
    if not detailed_exitcode:
        return ExitCode.OK
    return plan_exit_code(run)


def comment_part_path(path: Path, part: int) -> Path:
    """Where part `part` of the comment goes: PATH itself for the first, plan.2.md, plan.3.md
    ... beside it for the others (plan.yml posts them in that order)."""
    return path if part == 1 else path.with_name(f"{path.stem}.{part}{path.suffix}")


def write_comment_parts(path: Path, run: PlanRun, *, artifact_hint: str) -> None:
    """The plan as pull-request comment parts, each with room under GitHub's limit for the
    heading plan.yml adds. Parts an earlier, longer plan left beside PATH are removed, so
    that a workflow never posts a part of another plan."""
    from engine.plan.markdown import (
        GITHUB_COMMENT_LIMIT,
        WORKFLOW_HEADING_ROOM,
        render_markdown_parts,
    )

    parts = render_markdown_parts(
        run.plan,
        notes=run.notes,
        artifact_hint=artifact_hint,
        limit=GITHUB_COMMENT_LIMIT - WORKFLOW_HEADING_ROOM,
    )
    for number, text in enumerate(parts, start=1):
        write_atomic(comment_part_path(path, number), text)
    stale = len(parts) + 1
    while comment_part_path(path, stale).exists():
        comment_part_path(path, stale).unlink()
        stale += 1


def plan_exit_code(run: PlanRun) -> ExitCode:
    """What `plan --detailed-exitcode` says: a block first (a plan apply would refuse is not
    a reviewable one, and a declared promotion blocks with no listing change), then changes."""
    if run.guardrails.blocked:
        return EXIT_BLOCKED
    return EXIT_CHANGES if run.plan.changes else ExitCode.OK


def saved_plan(run: PlanRun) -> SavedPlan:
    """The run as the plan file records it: the plan with its review list, notes and drift
    report (engine.plan.saved)."""
    from engine.plan.saved import SavedPlan

    return SavedPlan.of(run.plan, run.drift_report(), run.review, run.notes)


def plan_text(run: PlanRun, *, color: bool = False) -> str:
    """What `sync plan` prints for `run` (engine.plan.saved.SavedPlan.text)."""
    return saved_plan(run).text(color=color)


@click.command(name="show")
@click.argument("plan_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@json_option("Print the plan file JSON (as `sync plan --json` prints it) instead of text.")
@click.pass_context
def show_cmd(ctx: click.Context, plan_file: Path, as_json: bool) -> int:
    """Print a saved plan FILE without applying it: the text `sync plan` printed, or its JSON.

    The file is checked as `sync apply` checks it (a broken file exits 1); nothing is read
    from Amazon or the state store.
    """
    from engine.flows.apply import read_saved_plan

    saved = read_saved_plan(plan_file)
    if as_json:
        click.echo(saved.dumps(), nl=False)
    else:
        click.echo(saved.text(color=use_color(ctx)))
    return ExitCode.OK


@click.command(name="drift")
@json_option("Print the drift report as JSON.")
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
@marketplaces_option
@sku_target_option
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
    skus: tuple[str, ...],
    full_refresh: bool,
    now_text: str | None,
) -> int:
    """For schedules: exit 2 when live differs from the config in a way that needs a person
    (drift, config changes not applied, listings never adopted), 0 when it does not."""
    from engine.cli.progress import progress_bar
    from engine.core import jsonio
    from engine.flows import drift as flow
    from engine.plan.drift import drift_json, render_drift_markdown, render_drift_text

    if refresh_only and markdown_path is not None:
        raise UserError("--refresh-only makes a file to review, not an issue; drop --markdown")
    if out is not None and not refresh_only:
        raise UserError("--out saves a refresh-only file; add --refresh-only")
    now = parse_now(now_text)
    options = {
        "now": now,
        "marketplaces": marketplaces,
        "full_refresh": full_refresh,
        "target": skus,
    }
    if refresh_only:
        with progress_bar(ctx, as_json=as_json) as progress:
            adoption = flow.refresh_only(ctx.obj["config_dir"], **options, progress=progress)
        return _refresh_only(adoption, out, as_json)
    with progress_bar(ctx, as_json=as_json) as progress:
        report = flow.drift(ctx.obj["config_dir"], **options, progress=progress)
    if markdown_path is not None:
        write_atomic(markdown_path, render_drift_markdown(report))
    if as_json:
        click.echo(jsonio.dumps(drift_json(report)))
    else:
        click.echo(render_drift_text(report), nl=False)
    return EXIT_CHANGES if report.differs else 0


def _refresh_only(adoption: AdoptionPlan, out: Path | None, as_json: bool) -> int:
    """`sync drift --refresh-only`: what adoption would record, shown and saved; no writes."""
    from engine.plan.refresh_only import render_refresh_only

    plan = adoption.plan
    if out is not None:
        write_atomic(out, plan.dumps())
    if as_json:
        click.echo(plan.dumps(), nl=False)
    else:
        click.echo(render_refresh_only(plan, adoption.desired), nl=False)
    if out is not None:
        click.echo(f"Saved to {out}; record it with `sync apply --refresh-only {out}`.", err=True)
    return 0


@click.command(name="import")
@marketplace_option()
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
@json_option("Print what was imported and written as JSON (docs/json.md).")
@click.pass_context
def import_cmd(
    ctx: click.Context,
    marketplace: str,
    pattern: str,
    out: Path | None,
    refresh: bool,
    now_text: str | None,
    as_json: bool,
) -> int:
    """Write YAML for live listings the config does not describe yet."""
    from engine.cli.progress import progress_bar
    from engine.flows.import_listings import import_from_live

    with progress_bar(ctx) as progress:
        result, where = import_from_live(
            ctx.obj["config_dir"],
            marketplace,
            pattern,
            now=parse_now(now_text),
            target=out,
            refresh=refresh,
            progress=progress,
        )
    if as_json:
        data = {
            "format_version": IMPORT_JSON_VERSION,
            "marketplace": marketplace,
            "config_dir": str(where),
            "imported": list(result.skus),
            "written": [str(path) for path in result.written],
            "extended": [str(path) for path in result.extended],
            "schema_dir": None if result.schema_dir is None else str(result.schema_dir),
            "still_differs": [
                {"address": d.address, "fields": list(d.fields)} for d in result.differences
            ],
            "notes": [UNIT_COST_NOTE],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    click.echo(f"Imported {len(result.skus)} listing(s) from {marketplace} into {where}:")
    click.echo("  " + ", ".join(result.skus))
    for path in result.written:
        click.echo(f"  wrote {path}")
    for path in result.extended:
        click.echo(f"  added overrides to {path}")
    if result.schema_dir is not None:
        exported = f" (exported {len(result.schemas)} file(s))" if result.schemas else ""
        click.echo(f"  schema lines point into {result.schema_dir}{exported}")
    for differs in result.differences:
        click.echo(f"  still differs from live (the plan will change it): {differs.describe()}")
    click.echo(UNIT_COST_NOTE)
    return 0


IMPORT_JSON_VERSION = 1
UNIT_COST_NOTE = (
    "Set each imported product's unit cost (written as 0: Amazon does not know it); "
    "price floors built on cost cannot protect a product until it is set."
)


COMMANDS = [plan_cmd, show_cmd, drift_cmd, import_cmd]
