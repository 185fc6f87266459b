"""Plan as a pull-request comment: a summary table, then one collapsible section per
marketplace, always under GitHub's 65,536-character comment limit.

Guardrail verdicts sit at the top, right under the summary: a reviewer sees blocks before
any diff. They get at most half the comment; the changes fill the rest.

When the full plan does not fit, sections are cut at a change boundary and the comment
says how many changes were left out and where the full plan is (the uploaded plan.json).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from engine.core.changes import Changeset, ResourceChange
from engine.guardrails.verdict import Verdict
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
MARKER = "<!-- sellersync-plan -->"  # lets CI find and update its own comment


def render_markdown(
    changes: Changeset,
    *,
    title: str = "sellersync plan",
    artifact_hint: str = "the plan.json artifact of this run",
    limit: int = GITHUB_COMMENT_LIMIT,
    verdicts: Sequence[Verdict] = (),
    held: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> str:
    """`held`: one line per listing a tripped breaker holds (engine.watch.breaker.Held);
    `notes`: what the plan was computed without (engine.flows.plan.PlanRun.notes)."""
    head = [MARKER, f"### {title}", "", f"**{summary_line(changes, verdicts)}**", ""]
    notice = promotion_notice(verdicts)
    if notice is not None:
        head += [f"> **{notice}**", ""]
    if verdicts:
        head += _guardrails(verdicts, limit // 2, artifact_hint)
    if held:
        head += [f"**{len(held)} listing(s) held by a tripped breaker:**", ""]
        head += [f"- `{line}`" for line in held] + [""]
    head += [line for note in notes for line in (f"> **Note:** {note}", "")]
    by_market: dict[str, list[ResourceChange]] = defaultdict(list)
    for change in changes.changes:
        by_market[change.marketplace].append(change)
    if by_market:
        head += ["| marketplace | add | change | delete |", "|---|---:|---:|---:|"]
        for code, items in by_market.items():
            counts = {
                a: sum(1 for c in items if c.action == a) for a in ("create", "update", "delete")
            }
            head.append(
                f"| {code} | {counts['create']} | {counts['update']} | {counts['delete']} |"
            )
        head.append("")
    if changes.unmanaged:
        head.append(f"{len(changes.unmanaged)} unmanaged live listing(s) left alone.")
        head.append("")
    if changes.drift:
        head.append(
            f"{len(changes.drift)} field(s) drifted since the last apply "
            "(changed outside sellersync)."
        )
        head.append("")

    body: list[str] = []
    used = len("\n".join(head)) + 1
    budget = limit - 600  # room for the truncation notice and closing tags
    shown = 0
    total = len(changes.changes)
    truncated = False
    for code, items in by_market.items():
        opening = [f"<details><summary>{code}: {len(items)} change(s)</summary>", "", "```diff"]
        closing = ["```", "</details>", ""]
        section: list[str] = []
        cost = sum(len(line) + 1 for line in opening + closing)
        if used + cost > budget:
            truncated = True
            break
        for change in items:
            block = _change_block(change)
            block_cost = sum(len(line) + 1 for line in block)
            if used + cost + block_cost > budget:
                truncated = True
                break
            section += block
            cost += block_cost
            shown += 1
        if section:
            body += opening + section + closing
            used += cost
        if truncated:
            break
    if truncated:
        body.append(
            f"**Truncated:** {total - shown} of {total} change(s) not shown to stay under "
            f"GitHub's comment limit. The full plan is in {artifact_hint}."
        )
    text = "\n".join(head + body).rstrip() + "\n"
    assert len(text) <= limit, "markdown plan over the limit"
    return text


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
    used = sum(len(line) + 1 for line in opening + closing) + 200  # room for the notice
    kept: list[str] = []
    for shown, block in enumerate(blocks):
        cost = sum(len(line) + 1 for line in block)
        if used + cost > budget:
            kept.append(f"  ... {len(blocks) - shown} more guardrail entries in {artifact_hint}")
            break
        kept += block
        used += cost
    return opening + kept + closing
