"""The guardrail baseline in the state store: written when an apply succeeds, read by plans.

See engine.guardrails.baseline for what it holds and why. Only a successful apply writes it
(`sync apply` after its run, every change applied or accepted): a plan is judged against the
guardrails a reviewed, applied config ran under, never against a config that was only
planned or that apply refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from engine.config.model import Config
from engine.guardrails.baseline import GuardrailBaseline, advance
from engine.guardrails.rules import BUILTIN_RULES
from engine.guardrails.settings import Settings
from engine.state.db import StateDB
from engine.state.tables import applied_guardrails, upsert


def load(conn: sa.Connection, seller_id: str) -> GuardrailBaseline | None:
    """The baseline of the last successful apply; None before the first one."""
    stored = conn.execute(
        sa.select(applied_guardrails.c.baseline).where(applied_guardrails.c.seller_id == seller_id)
    ).scalar_one_or_none()
    return None if stored is None else GuardrailBaseline.from_json(stored)


def record(conn: sa.Connection, seller_id: str, baseline: GuardrailBaseline) -> None:
    upsert(
        conn,
        applied_guardrails,
        {"seller_id": seller_id},
        baseline=baseline.to_json(),
        applied_at=baseline.applied_at,
    )


def record_applied(
    db: StateDB, config: Config, marketplaces: Sequence[str], now: datetime
) -> GuardrailBaseline:
    """After an apply of `marketplaces` under `config` succeeded: its guardrails become the
    baseline (merged with what other marketplaces' applies recorded), in one transaction."""
    seller_id = config.project.seller_id
    settings = Settings(config, {rule.id: rule.default_level for rule in BUILTIN_RULES})
    with db.write() as conn:
        baseline = advance(load(conn, seller_id), config, settings, marketplaces, now)
        record(conn, seller_id, baseline)
    return baseline
