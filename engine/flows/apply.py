"""`sync apply [FILE]`, `sync apply --refresh-only FILE` and the journal chores (`--recheck`,
`--abandon RUN_ID`): the I/O around engine.apply.

Apply reads the plan file (or plans on the spot when none is given), checks the file against
a plan made now (the file is a claim, not an authority: engine.apply.reverify compares),
lets the caller review it (the CLI shows it and asks), runs the executor and, when every
change is applied or accepted (or there was nothing to apply), records the guardrail
settings, fx rates and weakening approvals the apply ran under as the baseline the next plan
is judged from (engine.guardrails.baseline).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import InvalidOperation
from pathlib import Path
from typing import TypeVar

from engine.apply.abandon import AbandonReport, abandon
from engine.apply.executor import ApplyReport, Executor, Progress
from engine.apply.freeze import refuse_during_freeze
from engine.apply.recheck import RecheckReport
from engine.apply.refresh_only import record_live
from engine.apply.reverify import PlanMismatch, differences
from engine.apply.stale import PlanStale, config_mismatch, identity_mismatch
from engine.config import load_config
from engine.config.model import Config
from engine.core.errors import UserError
from engine.flows.plan import PlanRun, build_plan
from engine.flows.session import live_session
from engine.guardrails import baseline_store
from engine.guardrails.report import ensure_applicable
from engine.live.backend import Backend
from engine.plan.model import Plan, PlanFormatError
from engine.plan.refresh_only import RefreshOnlyFormatError, RefreshOnlyPlan
from engine.plan.saved import SavedPlan
from engine.plan.validate import MAX_PLAN_BYTES, too_big
from engine.state import journal
from engine.state.db import StateDB

T = TypeVar("T")


class PlanFileError(UserError):
    """The FILE given to `sync apply` is not a readable plan."""


@dataclass(frozen=True, slots=True)
class CheckedPlan:
    """What `sync apply FILE` may apply: the plan made now (with how it was made), or, when
    the file's run is unfinished, the file's plan to resume (`run` None), whose changes the
    executor takes from the journal, where they were written once this check passed."""

    plan: Plan
    run: PlanRun | None


@dataclass(frozen=True, slots=True)
class ToApply:
    """The plan an apply is about to run, for the caller to review: `run` is how it was made
    now (None when resuming the unfinished run of the file `path`)."""

    plan: Plan
    digest: str
    run: PlanRun | None
    path: Path | None

    @property
    def resume_only(self) -> bool:
        return self.run is None


@dataclass(frozen=True, slots=True)
class ApplyHooks:
    """What the caller lends an apply: `review` sees the plan and says whether to go on,
    `progress` makes the executor's progress display, `notice` prints a line as it comes."""

    review: Callable[[ToApply], bool]
    progress: Callable[[], AbstractContextManager[Progress]]
    notice: Callable[[str], None]


def read_plan(path: Path) -> tuple[Plan, str]:
    """The plan in `path` and the sha256 of its bytes (the journal's plan digest)."""
    return _read_file(
        path, "plan file", lambda data: (Plan.loads(data.decode("utf-8")), _sha256(data))
    )


def read_saved_plan(path: Path) -> SavedPlan:
    """The plan file at `path` with what explains it (`sync show FILE`), checked as
    `read_plan` checks it."""
    return _read_file(path, "plan file", lambda data: SavedPlan.loads(data.decode("utf-8")))


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


def plan_in_memory(plan: Plan) -> tuple[Plan, str]:
    """The plan as `sync apply FILE` would read it back from the file `sync plan --out`
    writes, and that file's digest: the journal, its resume rule and the staleness checks
    then treat a plan made on the spot exactly like a saved one."""
    text = plan.dumps()
    return Plan.loads(text), hashlib.sha256(text.encode("utf-8")).hexdigest()


def holder() -> str:
    """Who holds the apply lock: this host and process."""
    return f"{socket.gethostname()} pid {os.getpid()}"


def check_plan_file(
    path: str, claimed: Plan, digest: str, config: Config, backend: Backend, db: StateDB
) -> CheckedPlan:
    """Plan again over the file's marketplaces and SKU target, and compare. Refuses,
    writing nothing: a file made for another account or another config (PlanStale, exit 4),
    a plan the guardrails block now (GuardrailsBlocked, exit 3), any difference from the plan
    made now (PlanMismatch, exit 4)."""
    wrong = identity_mismatch(claimed, backend.identity) or config_mismatch(claimed, config.digest)
    if wrong is not None:
        raise PlanStale([wrong])
    with db.read() as conn:
        point = journal.resume_point(conn, backend.identity.seller_id)
    if point is not None and point.run.plan_digest == digest:
        return CheckedPlan(claimed, None)
    run = build_plan(
        config,
        backend,
        db,
        now=backend.now(),
        marketplaces=claimed.marketplaces,
        target=claimed.target,
    )
    ensure_applicable(run.plan.guardrails, now=backend.now())
    found = differences(claimed, run.plan, run.live.resources())
    if found:
        raise PlanMismatch(path, found)
    return CheckedPlan(run.plan, run)


def apply(
    config_dir: Path,
    plan_file: Path | None,
    hooks: ApplyHooks,
    target: Sequence[str] = (),
) -> ApplyReport | None:
    """Apply the saved plan `plan_file` exactly (after checking it against a plan made now),
    or, without one, plan now (limited to the SKU patterns `target`) and apply that plan.
    None when `hooks.review` declined (nothing was written)."""
    config = load_config(config_dir)
    saved = None if plan_file is None else read_plan(plan_file)
    outcome: list[int] = []  # the exit code, once there is one: the heartbeat's verdict
    with live_session(config, "apply", succeeded=lambda: outcome == [0]) as (backend, db):
        refuse_during_freeze(config.project.freezes, backend.now())
        if saved is None:
            run = build_plan(config, backend, db, now=backend.now(), target=target)
            plan, plan_digest = plan_in_memory(run.plan)
            ensure_applicable(plan.guardrails, now=backend.now())
            chosen = ToApply(plan, plan_digest, run, None)
        else:
            claimed, plan_digest = saved
            checked = check_plan_file(str(plan_file), claimed, plan_digest, config, backend, db)
            chosen = ToApply(checked.plan, plan_digest, checked.run, plan_file)
        if not hooks.review(chosen):
            return None
        with hooks.progress() as progress:
            executor = Executor(
                backend,
                db,
                now=backend.now,
                timer=backend.timer,
                holder=holder(),
                progress=progress,
                incidents=config.incidents,
                notice=hooks.notice,
            )
            report = executor.apply(
                chosen.plan, chosen.digest, config.digest, resume_only=chosen.resume_only
            )
            outcome.append(report.exit_code)
        if report.exit_code == 0:
            # The guardrails this apply ran under judge the next plan (weakenings, fx moves).
            applied_in = chosen.plan.marketplaces or tuple(config.marketplaces)
            baseline_store.record_applied(db, config, applied_in, backend.now())
    return report


def record_refresh_only(
    config_dir: Path, saved: RefreshOnlyPlan, review: Callable[[RefreshOnlyPlan], bool]
) -> int | None:
    """`sync apply --refresh-only FILE`: once `review` agrees, record what is live as last
    applied for the file's listings (refusing, exit 4, when live changed since it was made).
    Returns how many were recorded, or None when `review` declined."""
    config = load_config(config_dir)
    with live_session(config) as (backend, db):
        if not review(saved):
            return None
        if not saved.adoptions:
            return 0
        return record_live(backend, db, saved, now=backend.now, holder=holder())


def recheck(config_dir: Path, notice: Callable[[str], None]) -> RecheckReport:
    """`sync apply --recheck`: look again at the changes earlier applies left not yet
    visible; reads live and writes the journal, never Amazon."""
    config = load_config(config_dir)
    with live_session(config, "recheck") as (backend, db):
        executor = Executor(
            backend, db, now=backend.now, timer=backend.timer, holder=holder(), notice=notice
        )
        return executor.recheck()


def abandon_run(config_dir: Path, run_id: str) -> AbandonReport:
    """`sync apply --abandon RUN_ID`: close an unfinished run whose plan file is lost."""
    config = load_config(config_dir)
    with live_session(config) as (backend, db):
        return abandon(backend, db, run_id, now=backend.now, timer=backend.timer, holder=holder())
