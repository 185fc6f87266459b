"""`sync apply [FILE]`: make a saved, reviewed plan live (engine.apply does the work).

This module reads the plan file (or plans on the spot when none is given), has it checked
against a plan made now (engine.apply.reverify: the file is a claim, not an authority), asks
for confirmation, wires the executor to the backend (its clock and timer), the state store and
(on a terminal) a progress bar, and prints the summary.
When every change is applied or accepted (or there was nothing to apply), the guardrail
settings, fx rates and weakening approvals the apply ran under are recorded as the baseline
the next plan is judged from (engine.guardrails.baseline).
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

import hashlib
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import InvalidOperation
from pathlib import Path
from typing import TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from engine.apply.abandon import AbandonReport, abandon
from engine.apply.executor import EXIT_FAILED, ApplyReport, Executor, NoProgress
from engine.apply.recheck import VISIBILITY_DEADLINE, RecheckReport
from engine.apply.refresh_only import record_live
from engine.apply.reverify import check_plan_file
from engine.apply.testhook import kill_switch
from engine.cli.plan_cmds import plan_text
from engine.cli.session import live_session
from engine.config import load_config
from engine.core.errors import UserError
from engine.guardrails.report import ensure_applicable
from engine.plan.build import build_plan
from engine.plan.model import Plan, PlanFormatError
from engine.plan.refresh_only import RefreshOnlyFormatError, RefreshOnlyPlan, render_refresh_only
from engine.plan.text import render_text
from engine.plan.validate import MAX_PLAN_BYTES, too_big
from engine.state import guardrail_baseline

T = TypeVar("T")


class PlanFileError(UserError):
    """The FILE given to `sync apply` is not a readable plan."""


def read_plan(path: Path) -> tuple[Plan, str]:
    """The plan in `path` and the sha256 of its bytes (the journal's plan digest)."""
    return _read_file(
        path, "plan file", lambda data: (Plan.loads(data.decode("utf-8")), _sha256(data))
    )


def read_refresh_only(path: Path) -> RefreshOnlyPlan:
    """The refresh-only file at `path` (`sync drift --refresh-only --out FILE`)."""
    return _read_file(
        path, "refresh-only file", lambda data: RefreshOnlyPlan.loads(data.decode("utf-8"))
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_file(path: Path, kind: str, parse: Callable[[bytes], T]) -> T:
    """`parse` applied to the bytes of `path`; a one-line PlanFileError naming the file when
    it cannot be read or is not a `kind`."""
    try:
        size = path.stat().st_size
        if size > MAX_PLAN_BYTES:  # refused unread: decoding it could exhaust memory
            raise PlanFileError(f"{path} is not a {kind}: it has {too_big(size)}")
        return parse(path.read_bytes())
    except OSError as err:
        raise PlanFileError(f"cannot read the {kind} {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise PlanFileError(f"{path} is not a {kind}: it is not UTF-8 text") from None
    except (PlanFormatError, RefreshOnlyFormatError) as err:
        raise PlanFileError(f"{path}: {err}") from None
    except KeyError as err:
        raise PlanFileError(f"{path} is not a complete {kind}: it has no {err}") from None
    except (TypeError, ValueError, InvalidOperation) as err:
        raise PlanFileError(f"{path} is not a valid {kind}: {err}") from None


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
def _progress() -> Iterator[_Bar | NoProgress]:
    """A progress bar on a terminal; nothing when output goes to a file or a CI log."""
    if not sys.stdout.isatty():
        yield NoProgress()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=True) as progress:
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


def plan_in_memory(plan: Plan) -> tuple[Plan, str]:
    """The plan as `sync apply FILE` would read it back from the file `sync plan --out`
    writes, and that file's digest: the journal, its resume rule and the staleness checks
    then treat a plan made on the spot exactly like a saved one."""
    text = plan.dumps()
    return Plan.loads(text), hashlib.sha256(text.encode("utf-8")).hexdigest()


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
@click.pass_context
def apply_cmd(
    ctx: click.Context,
    plan_file: Path | None,
    auto_approve: bool,
    recheck: bool,
    abandon_run_id: str | None,
    refresh_only: bool,
) -> int:
    """Apply the saved plan FILE exactly, or nothing if it is stale. Without FILE: plan
    now, show the plan, and apply exactly that one."""
    if recheck or abandon_run_id is not None:
        if refresh_only:
            raise UserError("--refresh-only records a file; it does not go with a journal chore")
        return _journal_chore(ctx, plan_file, recheck, abandon_run_id)
    if not auto_approve and not stdin_is_interactive():
        raise UserError(
            "cannot ask for confirmation: standard input is not a terminal; review the plan "
            "and pass --auto-approve to apply it without asking"
        )
    if refresh_only:
        return _record_refresh_only(ctx, plan_file, auto_approve)
    config = load_config(ctx.obj["config_dir"])
    saved = None if plan_file is None else read_plan(plan_file)
    outcome: list[int] = []  # the exit code, once there is one: the heartbeat's verdict
    with live_session(config, "apply", succeeded=lambda: outcome == [0]) as (backend, db):
        if saved is None:
            run = build_plan(config, backend, db, now=backend.now())
            plan, plan_digest = plan_in_memory(run.plan)
            shown = plan_text(run)
            ensure_applicable(plan, now=backend.now())
            resume_only = False
        else:
            claimed, plan_digest = saved
            checked = check_plan_file(str(plan_file), claimed, plan_digest, config, backend, db)
            plan, resume_only = checked.plan, checked.run is None
            if checked.run is None:
                shown = f"Resuming the unfinished apply of {plan_file}.\n" + render_text(
                    plan.changeset, verdicts=plan.guardrails
                )
            else:
                shown = plan_text(checked.run)
        click.echo(shown)
        if not auto_approve and not click.confirm("Apply these changes?", default=False):
            click.echo("Apply cancelled; nothing was written.", err=True)
            return 1
        with _progress() as progress:
            executor = Executor(
                backend,
                db,
                now=backend.now,
                timer=backend.timer,
                holder=_holder(),
                progress=progress,
                after_write=kill_switch(os.environ),
                incidents=config.incidents,
                notice=click.echo,
            )
            report = executor.apply(plan, plan_digest, config.digest, resume_only=resume_only)
            outcome.append(report.exit_code)
        if report.exit_code == 0:
            # The guardrails this apply ran under judge the next plan (weakenings, fx moves).
            applied_in = plan.marketplaces or tuple(config.marketplaces)
            guardrail_baseline.record_applied(db, config, applied_in, backend.now())
    for line in summary_lines(report):
        click.echo(line)
    return report.exit_code


def _record_refresh_only(ctx: click.Context, path: Path | None, auto_approve: bool) -> int:
    """`sync apply --refresh-only FILE`: show the file, ask, then record (or refuse, exit 4)."""
    if path is None:
        raise UserError(
            "--refresh-only needs the FILE `sync drift --refresh-only --out FILE` saved"
        )
    saved = read_refresh_only(path)
    config = load_config(ctx.obj["config_dir"])
    with live_session(config) as (backend, db):
        click.echo(render_refresh_only(saved), nl=False)
        if not saved.adoptions:
            return 0
        if not auto_approve and not click.confirm("Record these values?", default=False):
            click.echo("Cancelled; nothing was recorded.", err=True)
            return 1
        count = record_live(backend, db, saved, now=backend.now, holder=_holder())
    click.echo(
        f"Recorded what is live as last applied for {count} listing(s); nothing was written "
        "to Amazon. `sync drift` now measures drift from these values."
    )
    return 0


def _holder() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _journal_chore(
    ctx: click.Context, plan_file: Path | None, recheck: bool, abandon_run_id: str | None
) -> int:
    """`--recheck` or `--abandon RUN_ID`: reads live and writes the journal, never Amazon."""
    if recheck and abandon_run_id is not None:
        raise UserError("--recheck and --abandon are separate jobs; give one of them")
    if plan_file is not None:
        option = "--recheck" if recheck else "--abandon"
        raise UserError(f"{option} takes no plan file; drop {plan_file} or the option")
    config = load_config(ctx.obj["config_dir"])
    with live_session(config, "recheck" if recheck else None) as (backend, db):
        if abandon_run_id is not None:
            report = abandon(
                backend, db, abandon_run_id, now=backend.now, timer=backend.timer, holder=_holder()
            )
            lines = abandon_lines(report)
            code = 0
        else:
            executor = Executor(
                backend,
                db,
                now=backend.now,
                timer=backend.timer,
                holder=_holder(),
                notice=click.echo,
            )
            rechecked = executor.recheck()
            lines = recheck_lines(rechecked) or [
                "Nothing to re-check: no change of an earlier apply is waiting to show live."
            ]
            code = EXIT_FAILED if rechecked.failed else 0
    for line in lines:
        click.echo(line)
    return code


COMMANDS = [apply_cmd]
