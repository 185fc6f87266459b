"""The log of SP-API calls: one row per call the backend made, for rate and health reports.

The backend records each call with plain fields (no HTTP objects), so the log reads the same
whether the call went to Amazon or to the sandbox.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.state.tables import api_calls

if TYPE_CHECKING:
    from engine.core.api_call import CallAttempt
    from engine.state.db import StateDB

NO_RESPONSE = 0  # status of an attempt that got no HTTP answer (timeout, dropped connection)


@dataclass(frozen=True, slots=True)
class ApiCall:
    seller_id: str
    operation: str  # SP-API operation name, e.g. patchListingsItem
    marketplace: str | None  # None for account-wide operations
    status: int  # final HTTP status
    latency_ms: int  # including retries
    request_id: str | None  # x-amzn-RequestId of the final response
    retries: int
    at: datetime


_COLUMNS = tuple(f.name for f in dataclasses.fields(ApiCall))


def record(conn: sa.Connection, call: ApiCall) -> None:
    conn.execute(api_calls.insert().values(**dataclasses.asdict(call)))


def since(conn: sa.Connection, seller_id: str, start: datetime) -> list[ApiCall]:
    """The account's calls at or after `start`, oldest first."""
    rows = conn.execute(
        sa.select(*(api_calls.c[name] for name in _COLUMNS))
        .where(api_calls.c.seller_id == seller_id, api_calls.c.at >= start)
        .order_by(api_calls.c.at, api_calls.c.id)
    )
    return [ApiCall(*row) for row in rows]


class StoreRecorder:
    """The backend's CallRecorder for CLI commands: every attempt the backend makes becomes
    one row of the account's call log, committed at once, so a command that dies half-way
    still leaves the calls it made on record."""

    def __init__(self, db: StateDB, seller_id: str) -> None:
        self._db = db
        self._seller_id = seller_id

    def record(self, call: CallAttempt) -> None:
        row = ApiCall(
            seller_id=self._seller_id,
            operation=call.operation,
            marketplace=call.marketplace,
            status=NO_RESPONSE if call.status is None else call.status,
            latency_ms=round(call.latency_ms),
            request_id=call.request_id,
            retries=call.retries,
            at=call.at,
        )
        with self._db.write() as conn:
            record(conn, row)
