"""The watchdog's emergency writes, read back from the apply journal (for the drift report):
the breaker's and the refills of capped listings (engine.watch.refill).

The breaker journals every write it makes as a run of its own (engine.watch.breaker): the
run's plan digest is `EMERGENCY_DIGEST_PREFIX` followed by the incident id, and its single
entry's payload names the incident and each field's value before and after. This module is
the one reader that knows that shape, so when the journal learns to record a run's kind,
`_is_emergency` is the only line that has to follow. A refill's run has the digest
`REFILL_DIGEST_PREFIX` + `<address>@<time>` and its entry sets the quantity.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.plan.drift import EmergencyWrite
from engine.state import journal
from engine.watch.breaker import EMERGENCY_DIGEST_PREFIX
from engine.watch.refill import REFILL_DIGEST_PREFIX

# Amazon took the write: it may not show live yet (not_visible), or was seen (verified).
_ACCEPTED = frozenset({"accepted", "not_visible", "verified"})


def _is_emergency(run: journal.Run) -> bool:
    return run.plan_digest.startswith(EMERGENCY_DIGEST_PREFIX)


def accepted_writes(conn: sa.Connection, seller_id: str) -> list[EmergencyWrite]:
    """Every emergency write of the account Amazon accepted (the breaker's, and refills:
    `kind` tells them apart), oldest first. A refused or never-sent write changed nothing
    live, so it explains nothing."""
    writes = []
    for run in journal.runs(conn, seller_id):
        refill = run.plan_digest.startswith(REFILL_DIGEST_PREFIX)
        if not (refill or _is_emergency(run)):
            continue
        incident = (
            f"refill run {run.id}"
            if refill
            else run.plan_digest.removeprefix(EMERGENCY_DIGEST_PREFIX)
        )
        for entry in journal.entries(conn, run.id):
            if entry.state not in _ACCEPTED:
                continue
            fields = entry.payload.get("fields", {})
            writes.append(
                EmergencyWrite(
                    entry.address,
                    incident if refill else entry.payload.get("incident", incident),
                    run.started_at,
                    {name: change["after"] for name, change in fields.items()},
                    "refill" if refill else "breaker",
                    {name: change.get("before") for name, change in fields.items()},
                    shown=entry.state == "verified",
                )
            )
    return writes
