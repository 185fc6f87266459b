"""Plan as pull-request comments: a summary per marketplace on top, then one collapsible
section per marketplace, split into numbered parts under GitHub's 65,536-character limit.

Guardrail verdicts sit at the top, right under the summary line: a reviewer sees blocks
before any diff. They get at most half of the first part; the changes fill the rest.

A plan too large for one comment is split the way Atlantis splits one: "Plan part 2 of 3",
each part valid Markdown on its own (a code fence or a details block is closed at the end
of a part and opened again in the next), and a change is never split across parts. Only a
plan beyond `max_parts` parts is cut, and then the last part says how many changes are not
shown and where the full plan is.

Pure: the plan and the limit in, the parts out. The workflow posts each part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.core.changes import ResourceChange
from engine.guardrails.verdict import Verdict
from engine.plan.model import Plan
from engine.plan.text import (
    SYMBOLS,
    _field,
    guardrail_summary,
    promotion_notice,
    summary_line,
    verdict_blocks,
)

WARNINGS_PER_RULE = 5

GITHUB_COMMENT_LIMIT = 65_536
WORKFLOW_HEADING_ROOM = 2_000
"""What plan.yml adds in front of each part (its per-account marker, the account, the
blocked notice, the artifact link): `sync plan --markdown` renders each part this much under
GitHub's limit."""
MAX_PARTS = 12
"""More comments than this would bury the pull request's conversation (and the run's
summary page takes 1 MiB): past it, the last part points to the plan artifact."""
MARKER = "<!-- sellersync-plan -->"  # lets CI find and update its own comments
TITLE = "sellersync plan"
SANDBOX_TITLE = "Sandbox plan (no Amazon credentials)"
PART_LABEL = "**Plan part {part} of {parts}**"
_FOOTER_ROOM = 600  # the "continued in" or truncation line, and closing tags


@dataclass(frozen=True, slots=True)
class MarketplaceSummary:
    """One marketplace's counts, and how far its price changes go: the percentage change of
    `our_price` of each updated listing whose price changes."""

    marketplace: str
    add: int
    change: int
    delete: int
    price_changes: tuple[Decimal, ...]  # percent, sorted

    def spread(self) -> tuple[Decimal, Decimal, Decimal] | None:
        """(min, median, max) percent, or None without a price change."""
        values = self.price_changes
        if not values:
            return None
        middle = len(values) // 2
        median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
        return values[0], median, values[-1]


def price_change_percent(change: ResourceChange) -> Decimal | None:
    """How much an update moves `our_price`, in percent of the live price (Decimal, exact
    until shown), or None when it does not change it or the live price is zero."""
    if change.action != "update":
        return None
    for field in change.fields:
        if field.field != "our_price":
            continue
        before, after = field.before, field.after
        if isinstance(before, Decimal) and isinstance(after, Decimal) and before:
            return (after - before) / before * 100
    return None


def marketplace_summaries(changes: Sequence[ResourceChange]) -> list[MarketplaceSummary]:
    """Per marketplace, in the order the plan first mentions it."""
    by_market: dict[str, list[ResourceChange]] = defaultdict(list)
    for change in changes:
        by_market[change.marketplace].append(change)
    summaries = []
    for code, items in by_market.items():
        percents = (price_change_percent(c) for c in items)
        summaries.append(
            MarketplaceSummary(
                marketplace=code,
                add=sum(1 for c in items if c.action == "create"),
                change=sum(1 for c in items if c.action == "update"),
                delete=sum(1 for c in items if c.action == "delete"),
                price_changes=tuple(sorted(p for p in percents if p is not None)),
            )
        )
    return summaries


def _percent(value: Decimal) -> str:
    shown = value.quantize(Decimal("0.1"))
    return f"{'+' if shown > 0 else ''}{shown:f}%"


def summary_table(summaries: Sequence[MarketplaceSummary]) -> list[str]:
    lines = [
        "| marketplace | add | change | delete | price changes | min | median | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        spread = s.spread()
        low, median, high = (_percent(v) for v in spread) if spread else ("-", "-", "-")
        lines.append(
            f"| {s.marketplace} | {s.add} | {s.change} | {s.delete} | "
            f"{len(s.price_changes)} | {low} | {median} | {high} |"
        )
    return [*lines, ""]


def render_markdown_parts(
    plan: Plan,
    *,
    notes: Sequence[str] = (),
    artifact_hint: str = "the plan.json artifact of this run",
    limit: int = GITHUB_COMMENT_LIMIT,
    max_parts: int = MAX_PARTS,
) -> list[str]:
    """The comment parts of `plan`, each at most `limit` characters. `notes`: what the plan
    was computed without (engine.flows.plan.PlanRun.notes). A plan made against the sandbox
    is titled SANDBOX_TITLE, so that nobody reads it as the account's."""
    title = SANDBOX_TITLE if plan.backend.kind == "sandbox" else TITLE
    changes = plan.changeset
    verdicts = plan.guardrails
    held = [h.message for h in plan.held]
    head = [f"**{summary_line(changes, verdicts)}**", ""]
    notice = promotion_notice(verdicts)
    if notice is not None:
        head += [f"> **{notice}**", ""]
    if verdicts:
        head += _guardrails(verdicts, limit // 2, artifact_hint)
    if held:
        head += [f"**{len(held)} listing(s) held by a tripped breaker:**", ""]
        head += [f"- `{line}`" for line in held] + [""]
    head += [line for note in notes for line in (f"> **Note:** {note}", "")]
    if changes.changes:
        head += summary_table(marketplace_summaries(changes.changes))
    if changes.unmanaged:
        head += [f"{len(changes.unmanaged)} unmanaged live listing(s) left alone.", ""]
    if changes.drift:
        head += [
            f"{len(changes.drift)} field(s) drifted since the last apply "
            "(changed outside sellersync).",
            "",
        ]
    bodies, shown = _pack(changes.changes, head, title, limit, max_parts)
    total = len(changes.changes)
    if shown < total:
        bodies[-1].append(
            f"**Truncated:** {total - shown} of {total} change(s) not shown to stay within "
            f"{max_parts} comments of GitHub's size limit. The full plan is in {artifact_hint}."
        )
    parts = []
    for number, body in enumerate(bodies, start=1):
        label = [PART_LABEL.format(part=number, parts=len(bodies)), ""] if len(bodies) > 1 else []
        if number < len(bodies):
            body = [*body, f"Continued in part {number + 1} of {len(bodies)}."]
        text = "\n".join([MARKER, f"### {title}", "", *label, *body]).rstrip() + "\n"
        assert len(text) <= limit, "markdown plan part over the limit"
        parts.append(text)
    return parts


def _pack(
    changes: Sequence[ResourceChange], head: list[str], title: str, limit: int, max_parts: int
) -> tuple[list[list[str]], int]:
    """The body lines of each part (the first opens with `head`) and how many changes they
    hold. A marketplace's section continues in the next part with its fence and details block
    opened again; a change goes whole into one part."""
    frame = [MARKER, f"### {title}", "", PART_LABEL.format(part=999, parts=999), ""]
    budget = limit - _cost(frame) - _FOOTER_ROOM
    by_market: dict[str, list[ResourceChange]] = defaultdict(list)
    for change in changes:
        by_market[change.marketplace].append(change)
    closing = ["```", "</details>", ""]
    bodies: list[list[str]] = [list(head)]
    used = _cost(head)
    shown = 0
    for code, items in by_market.items():
        section: list[str] = []
        first = 0  # index in `items` of the first change of the open section
        frame_cost = _cost(_opening(code, items, first)) + _cost(closing)
        for index, change in enumerate(items):
            block = _change_block(change)
            extra = _cost(block) + (0 if section else frame_cost)
            if used + extra > budget and used > 0:
                if section:
                    bodies[-1] += _opening(code, items, first, index) + section + closing
                    section = []
                if len(bodies) == max_parts:
                    return bodies, shown
                bodies.append([])
                used, first = 0, index
                frame_cost = _cost(_opening(code, items, first)) + _cost(closing)
                extra = _cost(block) + frame_cost
            section += block
            used += extra
            shown += 1
        if section:
            bodies[-1] += _opening(code, items, first, len(items)) + section + closing
    return bodies, shown


def _opening(
    code: str, items: Sequence[ResourceChange], first: int, end: int | None = None
) -> list[str]:
    """A marketplace section's opening lines: the whole marketplace, or the changes
    first+1..end of it when the section is split across parts (`end` unknown while packing:
    sized for the widest)."""
    total = len(items)
    if first == 0 and end == total:
        summary = f"{code}: {total} change(s)"
    else:
        last = total if end is None else end
        summary = f"{code}: changes {first + 1}-{last} of {total}"
    return [f"<details><summary>{summary}</summary>", "", "```diff"]


def _cost(lines: Sequence[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _change_block(change: ResourceChange) -> list[str]:
    resource = change.after or change.before
    assert resource is not None
    width = max((len(f.field) for f in change.fields), default=0)
    lines = [f"{SYMBOLS[change.action]} {change.address}"]
    for field in change.fields:
        rendered = _field(change, field, width, resource.currency)
        # In a ```diff block, a leading "-"/"+" colours the line; "~" reads as context.
        lines.append(
            f"{rendered[0]}   {rendered[2:]}" if rendered[0] in "+-" else f"    {rendered}"
        )
    return lines


def _guardrails(verdicts: Sequence[Verdict], budget: int, artifact_hint: str) -> list[str]:
    """The verdicts as a fenced block (the same lines as the text plan), cut to `budget`
    characters at a verdict boundary: blocks come first, so they are the last to go."""
    opening = [f"**{guardrail_summary(verdicts)}**", "", "```"]
    closing = ["```", ""]
    blocks = verdict_blocks(verdicts, WARNINGS_PER_RULE)
    used = _cost(opening + closing) + 200  # room for the notice
    kept: list[str] = []
    for shown, block in enumerate(blocks):
        cost = _cost(block)
        if used + cost > budget:
            kept.append(f"  ... {len(blocks) - shown} more guardrail entries in {artifact_hint}")
            break
        kept += block
        used += cost
    return opening + kept + closing
