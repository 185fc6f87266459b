"""`sync health`: the report and the local projection per enabled marketplace, judged.

A report that cannot be read (the endpoint refuses, the document is malformed) is a note,
not a failure: the local projection still stands and unknown figures say "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
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


@dataclass(slots=True)
class HealthResult:
    config: Config
    marketplaces: list[MarketplaceHealth] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        return any("breach" in m.verdicts.values() for m in self.marketplaces)

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
