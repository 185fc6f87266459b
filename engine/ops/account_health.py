"""`sync health`: the report and the local projection per enabled marketplace, judged.

A report that cannot be read (the endpoint refuses, the document is malformed) is a note,
not a failure: the local projection still stands and unknown figures say "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

from engine.config.model import Config, HealthLevel
from engine.core.jsonio import JSONError
from engine.core.marketplaces import MARKETPLACES
from engine.live.backend import Backend
from engine.live.clients import SpApiError
from engine.live.documents import DocumentError
from engine.ops.health_figures import (
    LEVELS,
    AccountHealthFigures,
    HealthReportError,
    gate_figures,
    local_figures,
    report_figures,
    verdicts,
)
from engine.state import orders as order_store
from engine.state.db import StateDB
from engine.state.orders import OrderFilter

# Orders purchased this long ago can still ship inside the 30-day late-shipment window.
LOCAL_LOOKBACK = timedelta(days=60)


def _cell(value: object) -> object:
    return "-" if value is None else value


@dataclass(frozen=True, slots=True)
class MarketplaceHealth:
    marketplace: str
    report: AccountHealthFigures
    local: AccountHealthFigures
    gate: AccountHealthFigures
    verdicts: dict[str, str]


@dataclass(frozen=True, slots=True)
class Breach:
    """One figure past its target: the gate's value (the worse of report and local)."""

    marketplace: str
    metric: str  # the figure's name without "_pct", e.g. order_defect_rate
    value: Decimal
    target: Decimal
    higher_is_better: bool

    def describe(self) -> str:
        """ "DE order defect rate 1.2% > 1%" ("<" for a rate that must stay above)."""
        sign = "<" if self.higher_is_better else ">"
        name = (
            self.metric.replace("_", " ")
            .replace(" 10d", " (10 days)")
            .replace(" 30d", " (30 days)")
        )
        return f"{self.marketplace} {name} {self.value}% {sign} {self.target}%"

    def to_dict(self) -> dict[str, Any]:
        return {
            "marketplace": self.marketplace,
            "metric": self.metric,
            "value_pct": f"{self.value:f}",
            "target_pct": f"{self.target:f}",
        }


@dataclass(slots=True)
class HealthResult:
    config: Config
    marketplaces: list[MarketplaceHealth] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        return any("breach" in m.verdicts.values() for m in self.marketplaces)

    def breaches(self) -> list[Breach]:
        """Every figure past its target, by marketplace in project order."""
        targets = self.config.project.health
        found = []
        for m in self.marketplaces:
            for name, verdict in m.verdicts.items():
                if verdict != "breach":
                    continue
                level: HealthLevel = getattr(targets, LEVELS[name])
                value = getattr(m.gate, name)
                metric = name.removesuffix("_pct")
                found.append(
                    Breach(m.marketplace, metric, value, level.target, level.higher_is_better)
                )
        return found

    def summary(self) -> str:
        """One line naming every breach, or saying there is none (and what is unknown)."""
        breaches = self.breaches()
        if breaches:
            named = "; ".join(b.describe() for b in breaches)
            return f"{len(breaches)} breach{'es' if len(breaches) > 1 else ''}: {named}"
        unknown = sum(v == "unknown" for m in self.marketplaces for v in m.verdicts.values())
        warned = [
            f"{m.marketplace} {name.removesuffix('_pct').replace('_', ' ')}"
            for m in self.marketplaces
            for name, v in m.verdicts.items()
            if v == "warn"
        ]
        line = "All marketplaces within Amazon's targets"
        if warned:
            line += f"; {len(warned)} warning(s): {', '.join(warned)}"
        if unknown:
            line += f" ({unknown} figure(s) unknown)"
        return line + "."

    def gate(self) -> dict[str, AccountHealthFigures]:
        """What the guardrails' account-health gate reads, by marketplace code."""
        return {m.marketplace: m.gate for m in self.marketplaces}

    def rows(self) -> list[tuple[Any, ...]]:
        targets = self.config.project.health
        rows = []
        for m in self.marketplaces:
            for f in fields(AccountHealthFigures):
                level: HealthLevel = getattr(targets, LEVELS[f.name])
                rows.append(
                    (
                        m.marketplace,
                        f.name.removesuffix("_pct"),
                        *(_cell(getattr(fig, f.name)) for fig in (m.report, m.local, m.gate)),
                        level.target,
                        level.warn,
                        m.verdicts[f.name],
                    )
                )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "breached": self.breached,
            "summary": self.summary(),
            "breaches": [b.to_dict() for b in self.breaches()],
            "notes": list(self.notes),
            "marketplaces": {
                m.marketplace: {
                    "report": m.report.to_dict(),
                    "local": m.local.to_dict(),
                    "gate": m.gate.to_dict(),
                    "verdicts": dict(m.verdicts),
                }
                for m in self.marketplaces
            },
        }


def account_health(
    backend: Backend, db: StateDB, seller_id: str, config: Config, *, read_report: bool = True
) -> HealthResult:
    now = backend.now()
    targets = config.project.health
    result = HealthResult(config)
    for code in config.project.marketplaces:
        report = AccountHealthFigures()
        if read_report:
            try:
                document = backend.read_account_health(code)
                report = report_figures(document, MARKETPLACES[code].marketplace_id)
            except (SpApiError, DocumentError, HealthReportError, JSONError) as err:
                result.notes.append(f"{code}: the seller performance report is unavailable: {err}")
        with db.read() as conn:
            stored = order_store.find(
                conn, seller_id, OrderFilter(marketplace=code, purchased_from=now - LOCAL_LOOKBACK)
            )
        local = local_figures(stored, now)
        gate = gate_figures(report, local, targets)
        result.marketplaces.append(
            MarketplaceHealth(code, report, local, gate, dict(verdicts(gate, targets)))
        )
    return result
