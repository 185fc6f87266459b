"""Where every SP-API call is recorded (KPIs, the journal and the benchmarks read it).

The backend takes any `CallRecorder`; `MemoryRecorder` is the default. A store-backed one
only needs a `record` method.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Protocol

from engine.core.api_call import CallAttempt


class CallRecorder(Protocol):
    def record(self, call: CallAttempt) -> None: ...


class MemoryRecorder:
    """Keeps calls in a list; thread-safe (apply may write from several threads)."""

    def __init__(self) -> None:
        self._calls: list[CallAttempt] = []
        self._lock = threading.Lock()

    def record(self, call: CallAttempt) -> None:
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[CallAttempt]:
        with self._lock:
            return list(self._calls)

    def count(self) -> Counter[str]:
        """Calls per operation."""
        return Counter(call.operation for call in self.calls)

    def statuses(self) -> Counter[int | None]:
        return Counter(call.status for call in self.calls)
