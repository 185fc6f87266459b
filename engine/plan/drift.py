"""The drift report: what a scheduled `sync drift` says when live no longer matches config.

It separates the reasons live can differ, because they call for different people:

- *drifted*: someone changed a listing outside sellersync since the last apply (live differs
  from the value last applied): ask who, and whether the config should follow;
- *pending*: the config asks for something not applied yet (a merged pull request whose
  apply failed or never ran): run apply;
- *not yet adopted*: sellersync never wrote the listing, so nothing tells a Seller Central
  edit from a config change: record what is live as last applied (`sync drift
  --refresh-only`), after which the two are told apart.

A store that sells is never identical to its last apply, so some differences are expected
and only counted, never raised (they do not make `sync drift` exit 2):

- an MFN quantity below the value last applied by no more than the units ordered for that
  SKU and marketplace since then (from the order store; a marketplace whose orders were
  never pulled cannot explain anything, and the report says so);
- a value a journaled, accepted breaker write set on the listing after the last apply
  ("held by breaker INC-...");
- an MFN quantity the watchdog's refill of a capped listing set after the last apply
  (engine.watch.refill, journaled as an emergency run `refill:<address>@<time>`), or below
  it by no more than the units ordered since that refill: the refill, not the last apply,
  is then the value live is measured from (while Amazon has not shown an accepted refill,
  for up to PENDING_WRITE, the quantity the refill replaced is);
- a field project.yaml's `drift.ignore` rules cover.

More sold than recorded, or a quantity that went up, is drift. Pure: built from a Plan, the
currency of each listing and the `DriftFacts` gathered around it (engine.flows.drift_facts);
rendered as text, Markdown (an issue body, under GitHub's size limit) and JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from engine.config.model import DriftIgnore
from engine.core.changes import Action, DriftedField, FieldChange
from engine.core.resource import address_key
from engine.plan.markdown import GITHUB_COMMENT_LIMIT
from engine.plan.model import Plan, _iso, _plain
from engine.plan.text import field_text

DRIFT_JSON_VERSION = 2  # 2: a pending change's `fields` are objects, no longer text lines
MAX_ROWS = 200  # per Markdown table; the rest is counted, the JSON has everything
MARKER = "<!-- sellersync-drift -->"  # lets a workflow find and update its own issue
ADOPT_HINT = (
    "Adopt what is live with `sync drift --refresh-only --out FILE`, review the file, then "
    "`sync apply --refresh-only FILE`: afterwards a Seller Central edit shows as drift."
)

Expected = Literal["orders", "breaker", "refill", "ignored"]
# How long a refill Amazon accepted may take to show before the old quantity live counts as
# drift again: Amazon makes a listing write live within 1 to 15 minutes (the sources are in
# engine/sandbox/timing.py); four times that, for a slow day.
PENDING_WRITE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class EmergencyWrite:
    """One accepted emergency write: the listing, the incident (a breaker's) or the journal
    run (a refill's), when it was journaled and the value it set on each field it changed
    (read back by engine.watch.emergency)."""

    address: str
    incident: str
    written_at: datetime
    values: Mapping[str, Any]
    kind: Literal["breaker", "refill"] = "breaker"
    before: Mapping[str, Any] = field(default_factory=dict)  # each field's value it replaced
    shown: bool = True  # live was seen showing it (its journal entry is verified)


@dataclass(frozen=True, slots=True)
class DriftFacts:
    """What happened around the plan that can explain a difference (gathered with I/O by
    engine.flows.drift_facts; empty facts explain nothing).

    `applied_at`: when each drifted listing's values were last applied; `sold`: MFN units
    ordered per address since then; `orders_pulled_until`: each marketplace's order
    checkpoint (absent: never pulled); `breaker_writes`: accepted emergency writes by
    address; `refills`: accepted refill writes by address; `sold_since_refill`: MFN units
    ordered per address since its latest refill; `never_applied`: addresses sellersync has
    no last-applied values for."""

    applied_at: Mapping[str, datetime] = field(default_factory=dict)
    sold: Mapping[str, int] = field(default_factory=dict)
    orders_pulled_until: Mapping[str, datetime] = field(default_factory=dict)
    breaker_writes: Mapping[str, Sequence[EmergencyWrite]] = field(default_factory=dict)
    refills: Mapping[str, Sequence[EmergencyWrite]] = field(default_factory=dict)
    sold_since_refill: Mapping[str, int] = field(default_factory=dict)
    never_applied: frozenset[str] = frozenset()
    ignore: tuple[DriftIgnore, ...] = ()


@dataclass(frozen=True, slots=True)
class DriftedValue:
    address: str
    field: str
    last_applied: Any
    live: Any
    currency: str
    hint: str = ""  # why orders could not explain it, for a quantity that went down

    def describe(self) -> str:
        applied = field_text(self.last_applied, self.field, self.currency)
        live = field_text(self.live, self.field, self.currency)
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.field}: last applied {applied}, live {live}{hint}"


@dataclass(frozen=True, slots=True)
class ExpectedDifference:
    """A difference the report counts but does not raise, and why it is expected."""

    address: str
    field: str
    live: Any
    kind: Expected
    reason: str  # "3 unit(s) ordered since the last apply", "held by breaker INC-...", a rule's


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change the config asks for that does not come (only) from drift: for an update,
    the fields it changes (live before, config after) in the listing's `currency`."""

    address: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    currency: str = ""

    def field_lines(self) -> tuple[str, ...]:
        """ "our_price = 59.99 EUR -> 54.99 EUR", one per field."""
        return tuple(
            f"{f.field} = {field_text(f.before, f.field, self.currency)} -> "
            f"{field_text(f.after, f.field, self.currency)}"
            for f in self.fields
        )


@dataclass(frozen=True, slots=True)
class DriftReport:
    plan: Plan
    drifted: tuple[DriftedValue, ...]
    pending: tuple[PendingChange, ...]
    restores: int  # listings the plan puts back only because they drifted
    not_adopted: tuple[PendingChange, ...] = ()  # never applied by sellersync, live differs
    expected: tuple[ExpectedDifference, ...] = ()
    restocks: int = 0  # sold-down listings the next apply only tops up
    notes: tuple[str, ...] = ()

    @property
    def differs(self) -> bool:
        """Something needs a person: a change made outside sellersync, a config change not
        applied yet, or a listing never adopted. Expected differences do not count."""
        return bool(self.drifted or self.pending or self.not_adopted or self.restores)

    def expected_of(self, kind: Expected) -> tuple[ExpectedDifference, ...]:
        return tuple(e for e in self.expected if e.kind == kind)

    def headline(self) -> str:
        if not self.differs:
            if self.expected or self.restocks:
                return "No drift: live differs from the configuration only where expected."
            return "No drift: live listings match the configuration."
        drifted = len({d.address for d in self.drifted})
        adopt = (
            f", {len(self.not_adopted)} listing(s) never applied by sellersync (not yet adopted)"
            if self.not_adopted
            else ""
        )
        return (
            f"Live differs from the configuration: {drifted} listing(s) changed outside "
            f"sellersync, {len(self.pending)} listing(s) with config changes not yet "
            f"applied{adopt}."
        )


def drift_report(
    plan: Plan, currencies: Mapping[str, str], facts: DriftFacts | None = None
) -> DriftReport:
    """`currencies` maps addresses to the listing's currency (for showing amounts)."""
    facts = facts or DriftFacts()
    expected: dict[tuple[str, str], ExpectedDifference] = {}
    drifted = []
    for d in plan.drift:
        reason = _expected_drift(d, facts, plan.created_at)
        if reason is not None:
            expected[(d.address, d.field)] = reason
        else:
            hint = _quantity_hint(d, facts)
            currency = currencies.get(d.address, "")
            drifted.append(DriftedValue(d.address, d.field, d.last_applied, d.live, currency, hint))
    pending, not_adopted = [], []
    restores = restocks = 0
    for change in plan.changes:
        if change.action != "update":
            pending.append(PendingChange(change.address, change.action))
            continue
        counted: list[FieldChange] = []
        restore = restock = False
        for f in change.fields:
            key = (change.address, f.field)
            rule = _rule(facts.ignore, change.address, f.field)
            if rule is not None:
                expected.setdefault(key, _ignored(change.address, f.field, f.before, rule))
                continue
            explained = expected.get(key)
            if explained is not None and (f.cause == "drift" or _tops_up(f, explained)):
                restock |= explained.kind in ("orders", "refill")
            elif f.cause == "drift":
                restore = True
            else:
                counted.append(f)
        if counted:
            into = not_adopted if change.address in facts.never_applied else pending
            currency = (change.after or change.before).currency  # type: ignore[union-attr]
            into.append(PendingChange(change.address, "update", tuple(counted), currency))
        elif restore:
            restores += 1
        elif restock:
            restocks += 1
    return DriftReport(
        plan,
        tuple(drifted),
        tuple(pending),
        restores,
        tuple(not_adopted),
        tuple(expected[k] for k in sorted(expected)),
        restocks,
        _notes(drifted, facts),
    )


def _expected_drift(d: DriftedField, facts: DriftFacts, now: datetime) -> ExpectedDifference | None:
    """Why a value that changed since the last apply is expected, or None when it is drift.
    `now`: when live was read (the plan's time), for a refill Amazon has not shown yet."""
    rule = _rule(facts.ignore, d.address, d.field)
    if rule is not None:
        return _ignored(d.address, d.field, d.live, rule)
    applied_at = facts.applied_at.get(d.address)
    for write in reversed(facts.breaker_writes.get(d.address, ())):  # the latest first
        after_apply = applied_at is None or write.written_at >= applied_at
        if after_apply and d.field in write.values and write.values[d.field] == d.live:
            return ExpectedDifference(
                d.address, d.field, d.live, "breaker", f"held by breaker {write.incident}"
            )
    refill = last_refill(d, facts)
    if refill is not None:
        return _refilled(d, refill, facts, now)
    sold = _sold_down(d, facts)
    if sold is not None and d.last_applied - d.live <= sold:
        return ExpectedDifference(
            d.address,
            d.field,
            d.live,
            "orders",
            f"{d.last_applied - d.live} of {sold} unit(s) ordered since the last apply",
        )
    return None


def last_refill(d: DriftedField, facts: DriftFacts) -> EmergencyWrite | None:
    """The latest refill of a drifted quantity after its last apply, if any."""
    if d.field != "quantity":
        return None
    applied_at = facts.applied_at.get(d.address)
    after = [
        w
        for w in facts.refills.get(d.address, ())
        if "quantity" in w.values and (applied_at is None or w.written_at >= applied_at)
    ]
    return max(after, key=lambda w: w.written_at, default=None)


def _refilled(
    d: DriftedField, refill: EmergencyWrite, facts: DriftFacts, now: datetime
) -> ExpectedDifference | None:
    """Live measured from the refill: its value, or below it by units ordered since. A
    refill Amazon accepted but live does not show yet (for at most PENDING_WRITE) is
    measured from the quantity it replaced instead."""
    value = refill.values["quantity"]
    said = f"refilled to {value} by the watchdog at {_iso(refill.written_at)} ({refill.incident})"
    marketplace, _ = address_key(d.address)
    sold = facts.sold_since_refill.get(d.address, 0)
    pulled = marketplace in facts.orders_pulled_until

    def sold_from(start: Any) -> bool:
        return (
            pulled
            and isinstance(d.live, int)
            and isinstance(start, int)
            and (0 < start - d.live <= sold)
        )

    if d.live == value:
        return ExpectedDifference(d.address, d.field, d.live, "refill", said)
    if sold_from(value):
        reason = f"{said}, then {value - d.live} of {sold} unit(s) ordered since"
        return ExpectedDifference(d.address, d.field, d.live, "refill", reason)
    replaced = refill.before.get("quantity")
    pending = not refill.shown and now - refill.written_at <= PENDING_WRITE
    if pending and replaced is not None and (d.live == replaced or sold_from(replaced)):
        reason = (
            f"refill to {value} written by the watchdog at {_iso(refill.written_at)} "
            f"({refill.incident}), not shown by Amazon yet: live still holds {d.live}"
        )
        return ExpectedDifference(d.address, d.field, d.live, "refill", reason)
    return None


def went_down(d: DriftedField) -> bool:
    """A quantity below the value last applied: what orders may explain."""
    return d.field == "quantity" and isinstance(d.live, int) and d.live < d.last_applied


def _sold_down(d: DriftedField, facts: DriftFacts) -> int | None:
    """Units ordered since the last apply, for a quantity that went down in a marketplace
    whose orders were pulled; None when orders cannot explain the difference."""
    if not went_down(d):
        return None
    marketplace, _ = address_key(d.address)
    if marketplace not in facts.orders_pulled_until:
        return None
    return facts.sold.get(d.address, 0)


def _quantity_hint(d: DriftedField, facts: DriftFacts) -> str:
    marketplace, _ = address_key(d.address)
    pulled = facts.orders_pulled_until.get(marketplace)
    refill = last_refill(d, facts)
    if refill is not None:
        sold = facts.sold_since_refill.get(d.address, 0)
        ordered = "orders never pulled" if pulled is None else f"{sold} unit(s) ordered since"
        return (
            f"refilled to {refill.values['quantity']} by the watchdog at "
            f"{_iso(refill.written_at)}; {ordered}"
        )
    if not went_down(d):
        return ""
    if pulled is None:
        return f"orders never pulled for {marketplace}"
    return (
        f"{d.last_applied - d.live} fewer, {facts.sold.get(d.address, 0)} unit(s) ordered "
        f"since the last apply; orders pulled until {_iso(pulled)}"
    )


def _tops_up(f: FieldChange, explained: ExpectedDifference) -> bool:
    """The plan raises a quantity that orders sold down: stock allocation restocking it."""
    return explained.kind in ("orders", "refill") and f.field == "quantity" and f.after > f.before


def _rule(rules: Sequence[DriftIgnore], address: str, name: str) -> DriftIgnore | None:
    if not rules:
        return None
    marketplace, sku = address_key(address)
    return next((r for r in rules if r.covers(name, marketplace, sku)), None)


def _ignored(address: str, name: str, live: Any, rule: DriftIgnore) -> ExpectedDifference:
    return ExpectedDifference(address, name, live, "ignored", rule.reason)


def _notes(drifted: Sequence[DriftedValue], facts: DriftFacts) -> tuple[str, ...]:
    unpulled = sorted(
        {address_key(d.address)[0] for d in drifted if d.hint.startswith("orders never pulled")}
    )
    if not unpulled:
        return ()
    return (
        f"Orders were never pulled for {', '.join(unpulled)} (`sync orders pull`): MFN "
        "quantities sold down there cannot be told from edits, so they are listed as drift.",
    )


_ACTION_WORDS = {"create": "to be created", "update": "to be updated", "delete": "to be deleted"}


def expected_lines(report: DriftReport) -> list[str]:
    """The differences counted but not raised, in a few lines (text and Markdown alike)."""
    lines = []
    orders = report.expected_of("orders")
    if orders:
        lines.append(
            f"{len(orders)} MFN quantity(ies) explained by orders placed since the last apply"
        )
    lines += [f"{e.address} {e.field} {e.reason}" for e in report.expected_of("breaker")]
    refills = report.expected_of("refill")
    if refills:
        lines.append(
            f"{len(refills)} MFN quantity(ies) set by the watchdog's refills of capped listings "
            "since the last apply (exposure caps), not edits"
        )
    by_reason = Counter(e.reason for e in report.expected_of("ignored"))
    lines += [
        f"{count} difference(s) ignored by project.yaml drift.ignore: {reason}"
        for reason, count in by_reason.items()
    ]
    if report.restocks:
        lines.append(f"{report.restocks} sold-down listing(s) the next apply tops up")
    return lines


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
            lines += [f"      {f}" for f in p.field_lines()]
    if report.not_adopted:
        lines += [
            "",
            f"Not yet adopted: never applied by sellersync, live differs from the config "
            f"({len(report.not_adopted)} listing(s)):",
        ]
        for p in report.not_adopted:
            lines.append(f"  {p.address} live -> config")
            lines += [f"      {f}" for f in p.field_lines()]
        lines.append(f"  {ADOPT_HINT}")
    if report.restores:
        lines += ["", f"{report.restores} listing(s) would only be restored to the config."]
    expected = expected_lines(report)
    if expected:
        lines += ["", f"Expected, not drift ({len(report.expected)} difference(s)):"]
        lines += [f"  {line}" for line in expected]
    lines += [line for note in report.notes for line in ("", f"Note: {note}")]
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
            if d.hint:
                live += f" ({d.hint})"
            lines.append(f"| `{d.address}` | {d.field} | {_cell(applied)} | {_cell(live)} |")
        lines += _more(len(report.drifted))
    for title, changes in (
        ("Config changes not yet applied", report.pending),
        ("Not yet adopted: never applied by sellersync", report.not_adopted),
    ):
        if not changes:
            continue
        lines += [f"#### {title}", "", "| listing | change |", "|---|---|"]
        for p in changes[:MAX_ROWS]:
            detail = "<br>".join(_cell(f) for f in p.field_lines()) or _ACTION_WORDS[p.action]
            lines.append(f"| `{p.address}` | {detail} |")
        lines += _more(len(changes))
        if changes is report.not_adopted:
            lines += [ADOPT_HINT, ""]
    expected = expected_lines(report)
    if expected:
        lines += ["#### Expected, not drift", ""]
        lines += [f"- {_cell(line)}" for line in expected[:MAX_ROWS]]
        lines += _more(len(expected))
    lines += [line for note in report.notes for line in (f"> **Note:** {note}", "")]
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

    def expected(kind: Expected) -> list[dict[str, Any]]:
        return [
            {"address": e.address, "field": e.field, "live": _plain(e.live), "reason": e.reason}
            for e in report.expected_of(kind)
        ]

    def changes(items: Sequence[PendingChange]) -> list[dict[str, Any]]:
        return [
            {
                "address": p.address,
                "action": p.action,
                **({"currency": p.currency} if p.currency else {}),
                "fields": {
                    f.field: {"before": _plain(f.before), "after": _plain(f.after)}
                    for f in p.fields
                },
            }
            for p in items
        ]

    return {
        "format_version": DRIFT_JSON_VERSION,
        "differs": report.differs,
        "checked_at": _iso(plan.created_at),
        "seller_id": plan.backend.seller_id,
        "config_digest": plan.config_digest,
        "git_commit": plan.git_commit,
        "drifted": [
            {
                "address": d.address,
                "field": d.field,
                **({"currency": d.currency} if d.currency else {}),
                "last_applied": _plain(d.last_applied),
                "live": _plain(d.live),
                **({"hint": d.hint} if d.hint else {}),
            }
            for d in report.drifted
        ],
        "pending": changes(report.pending),
        "not_adopted": changes(report.not_adopted),
        "restores": report.restores,
        "explained_by_orders": expected("orders"),
        "held_by_breaker": expected("breaker"),
        "refilled_by_watchdog": expected("refill"),
        "ignored": expected("ignored"),
        "restocks": report.restocks,
        "notes": list(report.notes),
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
