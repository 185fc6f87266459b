"""Plan as text, in the shape of Terraform's plan output.

    # listing.DE["HP-100"] will be updated in-place
    ~ resource listing.DE["HP-100"] {
        ~ our_price = 59.99 -> 54.99 EUR
      }

    Plan: 1 to add, 2 to change, 0 to delete.

Deletes come first: they are the changes a reviewer must not miss.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.plan.diff import Changeset, FieldChange, ResourceChange

SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
HEADLINES = {
    "create": "will be created",
    "update": "will be updated in-place",
    "delete": "will be DELETED",
}
CAUSE_NOTES = {"drift": "  # changed outside sellersync; restoring", "both": "  # also drifted"}


def render_text(changes: Changeset, *, color: bool = False) -> str:
    lines: list[str] = []
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
    lines.append(summary_line(changes))
    text = "\n".join(lines)
    return _colorize(text) if color else text


def summary_line(changes: Changeset) -> str:
    if not changes.changes:
        return "No changes. Live listings match the configuration."
    return (
        f"Plan: {changes.count('create')} to add, {changes.count('update')} to change, "
        f"{changes.count('delete')} to delete."
    )


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
        return f"+ {name} = {_value(field.after, field.field, currency)}"
    if change.action == "delete":
        return f"- {name} = {_value(field.before, field.field, currency)}"
    before = _value(field.before, field.field, currency)
    after = _value(field.after, field.field, currency)
    return f"~ {name} = {before} -> {after}{note}"


def _value(value: Any, field: str, currency: str) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Decimal):
        return f"{value:f} {currency}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_quote(v) for v in value) + "]"
    if hasattr(value, "to_dict"):
        d = value.to_dict()
        return f"{d['price']} {currency} from {d['start']} until {d['end']}"
    if isinstance(value, str):
        return _quote(value)
    return str(value)


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
