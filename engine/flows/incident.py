"""`sync incident`: the tripped breakers, or one incident's report (affected orders, the
projected 7-day cancellation rate, the cancellation feed, buyer messages, the evidence
timeline, a plan of action) and, once confirmed, the buyers messaged and the orders
cancelled. The backend is opened through the one session, so its calls count in the KPIs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config import load_config
from engine.config.model import Incident
from engine.core.errors import UserError
from engine.core.orders import iso
from engine.desired.render import render
from engine.flows.session import backend_session, open_store
from engine.state import breakers as breaker_store
from engine.state import journal
from engine.state.breakers import Breaker
from engine.watch import incident as incidents
from engine.watch.breaker import acknowledgement
from engine.watch.incident import ConfigCommit
from engine.watch.run import ORDERS_LAG
from engine.watch.submit import submit as send

GIT_TIMEOUT_S = 10


def config_commit(root: Path) -> ConfigCommit | None:
    """The last git commit touching the config directory, or None outside git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%H%x00%cI%x00%s", "--", "."],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not out:
        return None
    sha, when, subject = out.split("\0", 2)
    return ConfigCommit(sha, datetime.fromisoformat(when), subject)


def tripped(config_dir: Path) -> list[tuple[Breaker, Incident | None]]:
    """The account's tripped breakers, each with the incidents.yaml entry acknowledging it
    (None while none does). An acknowledged breaker stays in the store until the next
    `sync watch` pass releases it, but it no longer holds its listing."""
    config = load_config(config_dir)
    with open_store(config) as db, db.read() as conn:
        found = breaker_store.tripped(conn, config.project.seller_id)
    return [(b, acknowledgement(b, config.incidents)) for b in found]


def incident(
    config_dir: Path, incident_id: str, *, submit: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    """The report of incident `incident_id` (a dry run). With `submit`, it is asked (with
    the question to put to a person) whether to message the buyers and cancel the orders,
    and does so when it says yes; the report's `submitted` says what became of each."""
    config = load_config(config_dir)
    seller = config.project.seller_id
    with open_store(config) as db:
        with db.read() as conn:
            breakers = breaker_store.tripped(conn, seller)
            runs = journal.runs(conn, seller)
        breaker = next((b for b in breakers if b.incident_id == incident_id), None)
        if breaker is None:
            known = ", ".join(b.incident_id for b in breakers) or "none"
            raise UserError(f"no tripped breaker has incident {incident_id!r} (tripped: {known})")
        with backend_session(config, db) as backend:
            now = backend.now()
            orders = backend.read_orders(
                breaker.marketplace,
                updated_after=now - incidents.CANCELLATION_WINDOW,
                updated_before=now - ORDERS_LAG,
            )
            affected = incidents.affected_orders(
                orders, config, render(config, now).resources, breaker
            )
            texts = incidents.messages(affected, config.project.seller_name)
            data: dict[str, Any] = {
                "incident": breaker.incident_id,
                "marketplace": breaker.marketplace,
                "sku": breaker.sku,
                "tripped_at": iso(breaker.tripped_at),
                "reason": breaker.reason,
                "orders": [a.to_dict() for a in affected],
                "cancellation_rate": incidents.cancellation_rate(orders, affected, now).to_dict(),
                "feed": incidents.cancellation_feed(seller, affected).decode("utf-8"),
                "messages": [m.to_dict() for m in texts],
                "timeline": [
                    e.to_dict()
                    for e in incidents.timeline(breaker, affected, runs, config_commit(config.root))
                ],
                "plan_of_action": incidents.plan_of_action(breaker, affected),
                "submitted": None,
            }
            if submit is not None:
                question = (
                    f"Message {len(texts)} buyer(s) and cancel "
                    f"{sum(a.cancellable for a in affected)} order(s) of {breaker.incident_id}?"
                )
                if submit(question):
                    run_id, outcomes = send(backend, db, seller, breaker, affected, texts, now)
                    data["submitted"] = {
                        "journal_run": run_id,
                        "orders": [o.to_dict() for o in outcomes],
                    }
    return data
