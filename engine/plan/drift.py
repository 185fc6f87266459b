"""The drift report: what a scheduled `sync drift` says when live no longer matches config.

It separates the two reasons live can differ, because they call for different people:

- *drifted*: someone changed a listing outside sellersync since the last apply (live differs
  from the value last applied): ask who, and whether the config should follow;
- *pending*: the config asks for something not applied yet (a merged pull request whose
  apply failed or never ran, or a listing sellersync never wrote): run apply.

Pure: built from a Plan and the currency of each listing; rendered as text, Markdown (an
issue body, under GitHub's size limit) and JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.plan.diff import Action, ResourceChange
from engine.plan.markdown import GITHUB_COMMENT_LIMIT
from engine.plan.model import Plan, _iso, _plain
from engine.plan.text import field_text

MAX_ROWS = 200  # per Markdown table; the rest is counted, the JSON has everything
MARKER = "<!-- sellersync-drift -->"  # lets a workflow find and update its own issue


@dataclass(frozen=True, slots=True)
class DriftedValue:
    address: str
    field: str
    last_applied: Any
    live: Any
    currency: str

    def describe(self) -> str:
        applied = field_text(self.last_applied, self.field, self.currency)
        live = field_text(self.live, self.field, self.currency)
        return f"{self.field}: last applied {applied}, live {live}"


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change the config asks for that does not come (only) from drift."""

    address: str
    action: Action
    fields: tuple[str, ...]  # "our_price = 59.99 EUR -> 54.99 EUR" for updates


@dataclass(frozen=True, slots=True)
class DriftReport:
    plan: Plan
    drifted: tuple[DriftedValue, ...]
    pending: tuple[PendingChange, ...]
    restores: int  # listings the plan puts back only because they drifted

    @property
    def differs(self) -> bool:
        """Live differs from the config: applying the plan would change something."""
        return bool(self.plan.changes)

    def headline(self) -> str:
        if not self.differs:
            return "No drift: live listings match the configuration."
        drifted = len({d.address for d in self.drifted})
        return (
            f"Live differs from the configuration: {drifted} listing(s) changed outside "
            f"sellersync, {len(self.pending)} listing(s) with config changes not yet applied."
        )


def drift_report(plan: Plan, currencies: Mapping[str, str]) -> DriftReport:
    """`currencies` maps addresses to the listing's currency (for showing amounts)."""
    drifted = tuple(
        DriftedValue(d.address, d.field, d.last_applied, d.live, currencies.get(d.address, ""))
        for d in plan.drift
    )
    pending = []
    restores = 0
    for change in plan.changes:
        from_config = [f for f in change.fields if f.cause != "drift"]
        if change.action != "update" or from_config:
            pending.append(PendingChange(change.address, change.action, _fields(change)))
        else:
            restores += 1
    return DriftReport(plan, drifted, tuple(pending), restores)


def _fields(change: ResourceChange) -> tuple[str, ...]:
    if change.action != "update":
        return ()
    currency = (change.after or change.before).currency  # type: ignore[union-attr]
    return tuple(
        f"{f.field} = {field_text(f.before, f.field, currency)} -> "
        f"{field_text(f.after, f.field, currency)}"
        for f in change.fields
        if f.cause != "drift"
    )


_ACTION_WORDS = {"create": "to be created", "update": "to be updated", "delete": "to be deleted"}


def render_drift_text(report: DriftReport) -> str:
    plan = report.plan
    lines = [report.headline()]
    if report.drifted:
        lines += ["", f"Changed outside sellersync since the last apply ({len(report.drifted)}):"]
        lines += [f"  {d.address} {d.describe()}" for d in report.drifted]
    if report.pending:
        lines += ["", f"Config changes not yet applied ({len(report.pending)} listing(s)):"]
        for p in report.pending:
            lines.append(f"  {p.address} {_ACTION_WORDS[p.action]}")
            lines += [f"      {f}" for f in p.fields]
    if report.restores:
        lines += ["", f"{report.restores} listing(s) would only be restored to the config."]
    if plan.unmanaged:
        lines += ["", f"Unmanaged live listings, left alone ({len(plan.unmanaged)}):"]
        lines += [f"  {a}" for a in plan.unmanaged]
    lines += ["", f"Checked {_iso(plan.created_at)} against {_backend(plan)}."]
    return "\n".join(lines) + "\n"


def render_drift_markdown(report: DriftReport, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """An issue body: headline, a table per kind of difference, capped at MAX_ROWS rows each
    and at `limit` characters overall (GitHub's issue body limit is the comment limit)."""
    plan = report.plan
    lines = [MARKER, f"### sellersync drift for seller {plan.backend.seller_id}", ""]
    lines += [f"**{report.headline()}**", ""]
    if report.drifted:
        lines += [
            "#### Changed outside sellersync since the last apply",
            "",
            "| listing | field | last applied | live |",
            "|---|---|---|---|",
        ]
        for d in report.drifted[:MAX_ROWS]:
            applied = field_text(d.last_applied, d.field, d.currency)
            live = field_text(d.live, d.field, d.currency)
            lines.append(f"| `{d.address}` | {d.field} | {_cell(applied)} | {_cell(live)} |")
        lines += _more(len(report.drifted))
    if report.pending:
        lines += [
            "#### Config changes not yet applied",
            "",
            "| listing | change |",
            "|---|---|",
        ]
        for p in report.pending[:MAX_ROWS]:
            detail = "<br>".join(_cell(f) for f in p.fields) or _ACTION_WORDS[p.action]
            lines.append(f"| `{p.address}` | {detail} |")
        lines += _more(len(report.pending))
    if plan.unmanaged:
        lines += [f"{len(plan.unmanaged)} unmanaged live listing(s) left alone.", ""]
    lines.append(f"Checked {_iso(plan.created_at)} against {_backend(plan)}.")
    text = "\n".join(lines) + "\n"
    if len(text) > limit:
        notice = "\n**Truncated** to stay under GitHub's size limit; run `sync drift --json`.\n"
        text = text[: limit - len(notice)].rsplit("\n", 1)[0] + notice
    return text


def drift_json(report: DriftReport) -> dict[str, Any]:
    plan = report.plan
    return {
        "differs": report.differs,
        "checked_at": _iso(plan.created_at),
        "seller_id": plan.backend.seller_id,
        "config_digest": plan.config_digest,
        "git_commit": plan.git_commit,
        "drifted": [
            {
                "address": d.address,
                "field": d.field,
                "last_applied": _plain(d.last_applied),
                "live": _plain(d.live),
            }
            for d in report.drifted
        ],
        "pending": [
            {"address": p.address, "action": p.action, "fields": list(p.fields)}
            for p in report.pending
        ],
        "restores": report.restores,
        "unmanaged": list(plan.unmanaged),
    }


def _backend(plan: Plan) -> str:
    where = f" at {plan.backend.endpoint}" if plan.backend.endpoint else ""
    return f"the {plan.backend.kind} backend{where}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _more(total: int) -> list[str]:
    extra = total - MAX_ROWS
    return ([f"... and {extra} more (see `sync drift --json`)."] if extra > 0 else []) + [""]
