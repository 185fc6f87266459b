"""Plan as text, in the shape of Terraform's plan output.

    # listing.DE["HP-100"] will be updated in-place
    ~ resource listing.DE["HP-100"] {
        ~ our_price = 59.99 -> 54.99 EUR
      }

    Plan: 1 to add, 2 to change, 0 to delete.

Deletes come first: they are the changes a reviewer must not miss. Guardrail verdicts come
before everything: blocks, then approved findings with their approval, then warnings
(a few per rule; the plan file has all), then the rules that passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.core.changes import Changeset, FieldChange, ResourceChange
from engine.core.sale import SalePrice
from engine.guardrails.baseline import WEAKENING_RULE
from engine.guardrails.verdict import Verdict, minute, ordered

SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
HEADLINES = {
    "create": "will be created",
    "update": "will be updated in-place",
    "delete": "will be DELETED",
}
CAUSE_NOTES = {"drift": "  # changed outside sellersync; restoring", "both": "  # also drifted"}


WARNINGS_PER_RULE = 10


def render_text(
    changes: Changeset, *, color: bool = False, verdicts: Sequence[Verdict] = ()
) -> str:
    lines: list[str] = []
    if verdicts:
        lines += [guardrail_summary(verdicts), ""]
        lines += [line for block in verdict_blocks(verdicts, WARNINGS_PER_RULE) for line in block]
        lines.append("")
    if changes.changes:
        lines += [
            "sellersync will perform the following actions:",
            "",
            "  + create",
            "  ~ update in-place",
            "  - delete",
            "",
        ]
    for change in changes.changes:
        lines += _resource(change)
        lines.append("")
    if changes.unmanaged:
        lines.append(
            f"{len(changes.unmanaged)} live listing(s) are not in the config and are left "
            "alone (unmanaged):"
        )
        lines += [f"  {address}" for address in changes.unmanaged[:50]]
        if len(changes.unmanaged) > 50:
            lines.append(f"  ... and {len(changes.unmanaged) - 50} more")
        lines.append("")
    lines.append(summary_line(changes, verdicts))
    notice = promotion_notice(verdicts)
    if notice is not None:
        lines.append(notice)
    text = "\n".join(lines)
    return _colorize(text) if color else text


def summary_line(changes: Changeset, verdicts: Sequence[Verdict] = ()) -> str:
    """`verdicts`: when a block is about a declared promotion, "no changes" must not read as
    "nothing to do" (see promotion_notice)."""
    if not changes.changes:
        if blocked_promotions(verdicts):
            return "No listing changes. Live listings match the configuration."
        return "No changes. Live listings match the configuration."
    return (
        f"Plan: {changes.count('create')} to add, {changes.count('update')} to change, "
        f"{changes.count('delete')} to delete."
    )


OUTCOME_WORDS = {"block": "blocked", "approved": "approved", "warn": "warnings", "pass": "passed"}


def guardrail_summary(verdicts: Sequence[Verdict]) -> str:
    counts = {o: sum(1 for v in verdicts if v.outcome == o) for o in OUTCOME_WORDS}
    text = "Guardrails: " + ", ".join(f"{n} {OUTCOME_WORDS[o]}" for o, n in counts.items()) + "."
    if counts["block"]:
        return text + " sync apply will refuse this plan until every block is fixed or approved."
    return text


def blocked_promotions(verdicts: Sequence[Verdict]) -> list[str]:
    """Ids of the declared promotions a block is about, in order of first mention."""
    found = (p for v in verdicts if v.outcome == "block" for p in v.promotions)
    return list(dict.fromkeys(found))


def promotion_notice(verdicts: Sequence[Verdict]) -> str | None:
    """What a seller must do about a blocked declared promotion, said plainly: the plan
    changes no listing for it and apply has nothing to refuse, so the only place left to
    stop it is Seller Central."""
    ids = blocked_promotions(verdicts)
    if not ids:
        return None
    names = ", ".join(ids)
    return (
        f"Do not create {'promotion' if len(ids) == 1 else 'promotions'} {names} in Seller "
        "Central as declared: the guardrails block it (above). sellersync cannot create or "
        "stop a Seller Central promotion (SP-API has no call for it), so nothing `sync apply` "
        "refuses would keep it from selling below the floor or beyond the limits once created. "
        "Change or remove the declaration in promotions.yaml until the plan passes."
    )


def blocked_line(verdicts: Sequence[Verdict], *, refused: str = "this plan") -> str | None:
    """The last line when a guardrail blocks, None when nothing does: a plan's verdicts come
    first and a long plan pushes them off screen, so the end says it again. `refused`: what
    `sync apply` will refuse (`sync validate` blocks every plan of the config)."""
    blocks = sum(1 for v in verdicts if v.outcome == "block")
    if not blocks:
        return None
    return (
        f"Blocked: {blocks} guardrail finding(s) need a config change or an approval in "
        "approvals.yaml (hard-mandatory rules take no approval); `sync apply` will refuse "
        f"{refused}."
    )


def verdict_blocks(verdicts: Sequence[Verdict], warnings_per_rule: int) -> list[list[str]]:
    """Verdicts as text, one block of lines each: what and where, the message, and the
    approval used. Warnings beyond `warnings_per_rule` per rule are counted, not shown;
    passing rules share one line at the end."""
    blocks: list[list[str]] = []
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for verdict in ordered(v for v in verdicts if v.outcome != "pass"):
        if verdict.outcome == "warn":
            if shown.get(verdict.rule, 0) >= warnings_per_rule:
                hidden[verdict.rule] = hidden.get(verdict.rule, 0) + 1
                continue
            shown[verdict.rule] = shown.get(verdict.rule, 0) + 1
        block = [
            f"  {verdict.outcome.upper():<8} {verdict.rule} ({verdict.level}) {verdict.scope}",
            f"           {verdict.message}",
        ]
        if verdict.approval is not None:
            block.append(f"           {verdict.approval.describe()}")
        hint = approval_hint(verdict)
        if hint is not None:
            block.append(f"           {hint}")
        blocks.append(block)
    blocks += [
        [f"  ... and {count} more {rule} warning(s); the plan file lists them all"]
        for rule, count in hidden.items()
    ]
    passed = [v.rule for v in verdicts if v.outcome == "pass"]
    if passed:
        blocks.append([f"  PASS     {', '.join(passed)}"])
    return blocks


def approval_hint(verdict: Verdict) -> str | None:
    """How to approve a block that an approval can cover: what `approves` pins it (an
    approval covers the change it was reviewed for and nothing else)."""
    if verdict.outcome != "block" or verdict.fingerprint is None:
        return None
    # Quoted: a fingerprint of digits only would otherwise read as a YAML number.
    pins = f'approves: {{fingerprint: "{verdict.fingerprint}"}}'
    if verdict.value is not None:
        pins += f' or {{value: "{verdict.value}"}}'
    if verdict.rule == WEAKENING_RULE:
        return f"approvable only by an approval applied in an earlier change, with {pins}"
    if verdict.level == "soft-mandatory":
        return f"to approve exactly this: {pins}"
    return None


def _resource(change: ResourceChange) -> list[str]:
    symbol = SYMBOLS[change.action]
    resource = change.after or change.before
    assert resource is not None
    out = [
        f"  # {change.address} {HEADLINES[change.action]}",
        f"  {symbol} resource {change.address} {{",
    ]
    width = max((len(f.field) for f in change.fields), default=0)
    for field in change.fields:
        out.append(f"      {_field(change, field, width, resource.currency)}")
    out.append("    }")
    return out


def _field(change: ResourceChange, field: FieldChange, width: int, currency: str) -> str:
    name = field.field.ljust(width)
    note = CAUSE_NOTES.get(field.cause, "")
    if change.action == "create":
        return f"+ {name} = {field_text(field.after, field.field, currency)}"
    if change.action == "delete":
        return f"- {name} = {field_text(field.before, field.field, currency)}"
    before = field_text(field.before, field.field, currency)
    after = field_text(field.after, field.field, currency)
    return f"~ {name} = {before} -> {after}{note}"


def field_text(value: Any, field: str, currency: str) -> str:
    """A field's value as plan output shows it (money with its currency, texts quoted):
    drift reports and the apply re-check say values the same way."""
    if value is None:
        return "(none)"
    if isinstance(value, Decimal):
        return f"{value:f} {currency}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_quote(v) for v in value) + "]"
    if isinstance(value, SalePrice):
        return f"{value.price:f} {currency} from {_when(value.start)} until {_when(value.end)}"
    if hasattr(value, "to_dict"):
        d = value.to_dict()
        return f"{d['price']} {currency} from {d['start']} until {d['end']}"
    if isinstance(value, str):
        return _quote(value)
    return str(value)


def _when(value: datetime) -> str:
    """To the minute, or to the second when the window has seconds (never microseconds):
    two windows that differ must not print alike in a drift report or the apply check."""
    if value.second or value.microsecond:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return minute(value)


def _quote(text: str) -> str:
    text = text if len(text) <= 80 else text[:77] + "..."
    return '"' + text.replace('"', '\\"') + '"'


def _colorize(text: str) -> str:
    colors = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m"}
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        color = colors.get(stripped[:1]) if stripped[:2] in ("+ ", "~ ", "- ") else None
        out.append(f"{color}{line}\x1b[0m" if color else line)
    return "\n".join(out)
