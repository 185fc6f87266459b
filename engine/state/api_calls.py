"""The log of SP-API calls: one row per call the backend made, for rate and health reports.

The backend records each call with plain fields (no HTTP objects), so the log reads the same
whether the call went to Amazon or to the sandbox.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.state.tables import api_calls


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
