"""One HTTP attempt at an SP-API operation, as the call log keeps it.

The live backend records each attempt as it happens; the state store keeps them for the KPIs
(`sync status`), so both layers share this record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CallAttempt:
    """One HTTP attempt at an SP-API operation. `status` is None when no response came
    (timeout, dropped connection); `retries` counts the attempts before this one."""

    operation: str
    marketplace: str
    status: int | None
    latency_ms: float
    request_id: str | None
    retries: int
    at: datetime
