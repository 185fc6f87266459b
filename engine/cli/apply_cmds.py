"""`sync apply [FILE]`: make a saved, reviewed plan live (engine.flows.apply runs it).

Thin: parse options, call the flow with what only a terminal can do (show the plan and ask
for confirmation, a progress bar), print the summary.
Exit codes: 0 all applied or accepted, 1 a write failed or the file is not a plan, 3 a
guardrail blocks the plan, 4 stale plan, a file that differs from the plan made now, or lock
held.

`--refresh-only FILE` records a reviewed refresh-only file (engine.apply.refresh_only):
what is live becomes the values last applied, nothing is written to Amazon, exit 4 when
live changed since the file was made.

Two journal chores take no plan and write nothing to Amazon: `--recheck` looks again at the
changes earlier applies left not yet visible (exit 1 when one has failed since), and
`--abandon RUN_ID` closes an unfinished run whose plan file is lost.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.apply.executor import EXIT_FAILED, ApplyReport, NoProgress
from engine.apply.recheck import VISIBILITY_DEADLINE, RecheckReport
from engine.cli.options import json_option, sku_target_option
from engine.core.errors import UserError
from engine.core.orders import iso

if TYPE_CHECKING:
    from rich.progress import Progress

    from engine.apply.abandon import AbandonReport
    from engine.flows.apply import ToApply


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty()


class _Bar:
    """The executor's Progress as a rich bar."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: int | None = None

    def start(self, total: int) -> None:
        self._task = self._progress.add_task("Writing", total=total)

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)


@contextmanager
def _progress(err: bool = False) -> Iterator[_Bar | NoProgress]:
    """A progress bar on a terminal (standard error's with `err`, so that --json keeps
    standard output for the JSON); nothing when output goes to a file or a CI log."""
    if not (sys.stderr if err else sys.stdout).isatty():
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=True, console=Console(stderr=err)) as progress:
        yield _Bar(progress)


def summary_lines(report: ApplyReport) -> list[str]:
    rechecked = recheck_lines(report.rechecked)
    if report.run_id is None:
        return [*rechecked, "No changes. Nothing to apply."]
    lines = [f"Resumed apply run {report.run_id}." if report.resumed else ""]
    lines.append(
        f"Apply finished: {len(report.applied)} applied, {len(report.failed)} failed, "
        f"{len(report.not_visible)} not yet visible, {len(report.skipped)} not sent."
    )
    lines += [f"  failed    {address}: {why}" for address, why in report.failed]
    lines += [
        f"  not yet visible  {address}: "
        + (
            "Amazon's answer was lost and live could not be read"
            if address in report.unconfirmed
            else "accepted by Amazon, not visible live yet"
        )
        + "; the next apply (or `sync apply --recheck`) looks again"
        for address in report.not_visible
    ]
    lines += [f"  not sent  {address}: {why}" for address, why in report.skipped]
    if report.lost is not None:
        lost = report.lost
        lines.append(
            f"Lost answers: {lost.lost} write(s) got no answer from Amazon; {lost.found_live} "
            f"found live (not sent again), {lost.resent} sent again after live did not show "
            f"them: at most {lost.resent} duplicate write(s)."
        )
    if report.gave_up is not None:
        lines.append(
            f"Stopped: {report.gave_up}. The run is finished; when Amazon answers again, run "
            "`sync plan` and apply the new plan."
        )
    elif report.stopped is not None:
        lines.append(
            f"Stopped early: {report.stopped}. Run `sync plan` again and apply the new plan."
        )
    return rechecked + [line for line in lines if line]


def recheck_lines(report: RecheckReport) -> list[str]:
    """What the re-check of earlier not-yet-visible changes found (nothing when none)."""
    if not report.checked:
        return []
    lines = [
        f"Re-checked {len(report.checked)} change(s) earlier applies left not yet visible: "
        f"{len(report.verified)} now live, {len(report.failed)} failed, "
        f"{len(report.still_not_visible)} still not visible."
    ]
    lines += [
        f"  now live  {r.entry.address}: verified (run {r.entry.run_id})" for r in report.verified
    ]
    lines += [
        f"  failed    {r.entry.address}: {r.reason} (run {r.entry.run_id})" for r in report.failed
    ]
    lines += [
        f"  still not visible  {r.entry.address}: looked at again until "
        f"{r.entry.updated_at + VISIBILITY_DEADLINE:%Y-%m-%d %H:%M} UTC (run {r.entry.run_id})"
        for r in report.still_not_visible
    ]
    return lines


# (state before, state after) -> what abandoning did to an entry: a label and why
_ABANDONED = {
    ("pending", "failed"): ("not sent", "never sent"),
    ("sent", "verified"): ("verified", "sent before the run stopped, and live shows it"),
    ("accepted", "verified"): ("verified", "accepted by Amazon, and live shows it"),
    ("accepted", "not_visible"): (
        "not yet visible",
        "accepted by Amazon, not live yet; `sync apply --recheck` follows it up",
    ),
}


def abandon_lines(report: AbandonReport) -> list[str]:
    """Exactly what `--abandon` did: the run, the lock, and every entry."""
    run = report.run
    lines = [
        f"Abandoned apply run {run.id} (plan sha256 {run.plan_digest}, started "
        f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC); nothing was written to Amazon."
    ]
    if report.released_lock is not None:
        lines.append(f"Released the lock it left behind: {report.released_lock.describe()}.")
    for entry in report.entries:
        if entry.was == entry.now:
            label, why = "unchanged", f"already {entry.now.replace('_', ' ')}"
        elif entry.now == "unknown":
            label, why = "unknown", entry.error or ""
        else:
            label, why = _ABANDONED[(entry.was, entry.now)]
        lines.append(f"  {label}  {entry.address}: {why}")
    lines.append("Run `sync plan` to see what the config still asks for.")
    return lines


@click.command(name="apply")
@click.argument(
    "plan_file",
    metavar="[FILE]",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option(
    "--recheck",
    is_flag=True,
    help="Take no plan: only look again at changes earlier applies left not yet visible.",
)
@click.option(
    "--abandon",
    "abandon_run_id",
    metavar="RUN_ID",
    help="Take no plan: close the unfinished run RUN_ID whose plan file is lost.",
)
@click.option(
    "--refresh-only",
    is_flag=True,
    help="FILE is a refresh-only file (`sync drift --refresh-only --out FILE`): record what "
    "is live as last applied, after checking live has not changed; writes nothing to Amazon.",
)
@sku_target_option
@json_option(
    "Print what the apply (or --recheck, --abandon, --refresh-only) did as JSON on standard "
    "output; the plan and any question go to standard error (docs/json.md)."
)
@click.pass_context
def apply_cmd(
    ctx: click.Context,
    plan_file: Path | None,
    auto_approve: bool,
    recheck: bool,
    abandon_run_id: str | None,
    refresh_only: bool,
    skus: tuple[str, ...],
    as_json: bool,
) -> int:
    """Apply the saved plan FILE exactly, or nothing if it is stale. Without FILE: plan
    now, show the plan, and apply exactly that one."""
    if skus and (plan_file is not None or recheck or abandon_run_id is not None or refresh_only):
        raise UserError(
            "--sku targets the plan `sync apply` makes without a FILE; a saved plan keeps the "
            "target it was made with (`sync plan --sku ... --out FILE`)"
        )
    if recheck or abandon_run_id is not None:
        if refresh_only:
            raise UserError("--refresh-only records a file; it does not go with a journal chore")
        return _journal_chore(ctx, plan_file, recheck, abandon_run_id, as_json)
    if not auto_approve and not stdin_is_interactive():
        raise UserError(
            "cannot ask for confirmation: standard input is not a terminal; review the plan "
            "and pass --auto-approve to apply it without asking"
        )
    if refresh_only:
        return _record_refresh_only(ctx, plan_file, auto_approve, as_json)
    from engine.flows.apply import ApplyHooks, apply

    def review(chosen: ToApply) -> bool:
        click.echo(_shown(chosen), err=as_json)
        if not auto_approve and not click.confirm(
            "Apply these changes?", default=False, err=as_json
        ):
            click.echo("Apply cancelled; nothing was written.", err=True)
            return False
        return True

    def notice(line: str) -> None:
        click.echo(line, err=as_json)

    hooks = ApplyHooks(review, lambda: _progress(err=as_json), notice)
    report = apply(ctx.obj["config_dir"], plan_file, hooks, target=skus)
    if report is None:
        return 1
    if as_json:
        _echo_json(apply_json(report))
    else:
        for line in summary_lines(report):
            click.echo(line)
    return report.exit_code


APPLY_JSON_VERSION = 1


def _echo_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def apply_json(report: ApplyReport) -> dict[str, Any]:
    """`sync apply --json`: every listing by outcome, as `summary_lines` words them."""
    lost = report.lost
    return {
        "format_version": APPLY_JSON_VERSION,
        "run_id": report.run_id,
        "resumed": report.resumed,
        "exit_code": int(report.exit_code),
        "applied": list(report.applied),
        "failed": [{"address": a, "reason": why} for a, why in report.failed],
        "not_visible": [
            {"address": a, "answer_lost": a in report.unconfirmed} for a in report.not_visible
        ],
        "not_sent": [{"address": a, "reason": why} for a, why in report.skipped],
        "lost_answers": None
        if lost is None
        else {"lost": lost.lost, "found_live": lost.found_live, "resent": lost.resent},
        "stopped": report.stopped,
        "gave_up": report.gave_up,
        "rechecked": recheck_json(report.rechecked),
    }


def recheck_json(report: RecheckReport) -> list[dict[str, Any]]:
    """Each change of an earlier apply looked at again: what became of it."""
    return [
        {
            "address": r.entry.address,
            "run_id": r.entry.run_id,
            "outcome": r.outcome,
            "reason": r.reason,
        }
        for r in report.checked
    ]


def abandon_json(report: AbandonReport) -> dict[str, Any]:
    """`sync apply --abandon RUN_ID --json`: the run closed, the lock released, each entry."""
    run, held = report.run, report.released_lock
    return {
        "format_version": APPLY_JSON_VERSION,
        "abandoned": {
            "run_id": run.id,
            "plan_digest": run.plan_digest,
            "started_at": iso(run.started_at),
        },
        "released_lock": None if held is None else held.to_dict(),
        "entries": [
            {"address": e.address, "was": e.was, "now": e.now, "error": e.error}
            for e in report.entries
        ],
    }


def _shown(chosen: ToApply) -> str:
    """The plan about to be applied, as `sync plan` shows it; a resumed run's changes."""
    from engine.cli.plan_cmds import plan_text
    from engine.plan.text import render_text

    if chosen.run is not None:
        return plan_text(chosen.run)
    plan = chosen.plan
    return f"Resuming the unfinished apply of {chosen.path}.\n" + render_text(
        plan.changeset, verdicts=plan.guardrails
    )


def _record_refresh_only(
    ctx: click.Context, path: Path | None, auto_approve: bool, as_json: bool = False
) -> int:
    """`sync apply --refresh-only FILE`: show the file, ask, then record (or refuse, exit 4)."""
    from engine.flows.apply import read_refresh_only, record_refresh_only
    from engine.plan.refresh_only import RefreshOnlyPlan, render_refresh_only

    if path is None:
        raise UserError(
            "--refresh-only needs the FILE `sync drift --refresh-only --out FILE` saved"
        )
    saved = read_refresh_only(path)

    def review(plan: RefreshOnlyPlan) -> bool:
        click.echo(render_refresh_only(plan), nl=False, err=as_json)
        if not plan.adoptions or auto_approve:
            return True
        if not click.confirm("Record these values?", default=False, err=as_json):
            click.echo("Cancelled; nothing was recorded.", err=True)
            return False
        return True

    count = record_refresh_only(ctx.obj["config_dir"], saved, review)
    if count is None:
        return 1
    if as_json:
        addresses = [a.live.address for a in saved.adoptions]
        _echo_json({"format_version": APPLY_JSON_VERSION, "recorded": addresses})
        return 0
    if not saved.adoptions:
        return 0
    click.echo(
        f"Recorded what is live as last applied for {count} listing(s); nothing was written "
        "to Amazon. `sync drift` now measures drift from these values."
    )
    return 0


def _journal_chore(
    ctx: click.Context,
    plan_file: Path | None,
    recheck: bool,
    abandon_run_id: str | None,
    as_json: bool = False,
) -> int:
    """`--recheck` or `--abandon RUN_ID`: reads live and writes the journal, never Amazon."""
    from engine.flows import apply as flow

    if recheck and abandon_run_id is not None:
        raise UserError("--recheck and --abandon are separate jobs; give one of them")
    if plan_file is not None:
        option = "--recheck" if recheck else "--abandon"
        raise UserError(f"{option} takes no plan file; drop {plan_file} or the option")
    if abandon_run_id is not None:
        abandoned = flow.abandon_run(ctx.obj["config_dir"], abandon_run_id)
        if as_json:
            _echo_json(abandon_json(abandoned))
            return 0
        lines = abandon_lines(abandoned)
        code = 0
    else:
        rechecked = flow.recheck(ctx.obj["config_dir"], lambda line: click.echo(line, err=as_json))
        code = EXIT_FAILED if rechecked.failed else 0
        if as_json:
            data = {"format_version": APPLY_JSON_VERSION, "rechecked": recheck_json(rechecked)}
            _echo_json(data)
            return code
        lines = recheck_lines(rechecked) or [
            "Nothing to re-check: no change of an earlier apply is waiting to show live."
        ]
    for line in lines:
        click.echo(line)
    return code


COMMANDS = [apply_cmd]
