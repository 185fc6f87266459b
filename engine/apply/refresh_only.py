"""Recording a reviewed refresh-only file (engine.plan.refresh_only): what is live becomes
the values last applied. Nothing is written to Amazon.

The file is a claim about live, like a plan file: under the apply lock (an apply recording
its own values meanwhile would race it), every listing is read again and the whole file is
refused (exit 4) when one of them changed or went since the file was made, so what is
recorded is exactly what was reviewed. Listings are read many to a call, per marketplace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from engine.apply.stale import EXIT_STALE, SHOWN_REASONS, backend_mismatch
from engine.core.errors import UserError
from engine.live.backend import Backend
from engine.plan.model import fingerprint
from engine.plan.refresh_only import RefreshOnlyPlan
from engine.state import last_applied, lock
from engine.state.db import StateDB


class RefreshOnlyStale(UserError):
    """Live is no longer what the refresh-only file was made from; nothing was recorded."""

    exit_code = EXIT_STALE

    def __init__(self, reasons: Sequence[str]):
        shown = "; ".join(reasons[:SHOWN_REASONS])
        if len(reasons) > SHOWN_REASONS:
            shown += f"; and {len(reasons) - SHOWN_REASONS} more"
        super().__init__(
            f"the refresh-only file is stale, nothing was recorded: {shown}. Make a new one "
            "with `sync drift --refresh-only --out FILE` and review it"
        )


def record_live(
    backend: Backend,
    db: StateDB,
    plan: RefreshOnlyPlan,
    *,
    now: Callable[[], datetime],
    holder: str,
) -> int:
    """Record every listing of `plan` as last applied at `now()`; returns how many."""
    seller_id = backend.identity.seller_id
    other = backend_mismatch(plan.backend, backend.identity)
    if other is not None:
        raise RefreshOnlyStale([f"the file was {other}"])
    with lock.acquire(db, seller_id, holder, "refresh-only", now()):
        changed = _changed_since(backend, plan)
        if changed:
            raise RefreshOnlyStale(changed)
        with db.write() as conn:
            for adoption in plan.adoptions:
                last_applied.record(conn, seller_id, adoption.live, now())
    return len(plan.adoptions)


def _changed_since(backend: Backend, plan: RefreshOnlyPlan) -> list[str]:
    """Why each listing of `plan` no longer matches live, read again now."""
    by_market: dict[str, list[str]] = {}
    for adoption in plan.adoptions:
        by_market.setdefault(adoption.live.marketplace, []).append(adoption.live.sku)
    reasons = []
    for marketplace, skus in by_market.items():
        found, unreadable = backend.read_details(marketplace, skus)
        for adoption in plan.adoptions:
            if adoption.live.marketplace != marketplace:
                continue
            live = found.get(adoption.live.sku)
            if adoption.address in unreadable:
                reasons.append(
                    f"{adoption.address} cannot be read ({unreadable[adoption.address]})"
                )
            elif live is None:
                reasons.append(f"{adoption.address} is no longer live")
            elif fingerprint(live.resource) != adoption.fingerprint:
                reasons.append(f"{adoption.address} changed live since the file was made")
    return reasons
