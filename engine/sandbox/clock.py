"""The sandbox's virtual clock: UTC time that can run faster than real time, or stand still.

Everything time-dependent in the sandbox (rate-limit refill, when an asynchronous write
becomes visible, sale schedules) reads this clock, never the system time. A speed factor lets
a simulated night pass in seconds; a frozen clock that moves only by `advance()` makes tests
deterministic.

The clock is anchored on wall-clock seconds (`time.time()` by default) so that its state can
be saved in the store and resumed by another process: `sync apply` in one process and
`sync plan` in the next agree on what virtual time it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What sandbox code needs from a clock: the current virtual time, timezone-aware UTC."""

    def now(self) -> datetime: ...


def _require_utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ClockState:
    """A clock's anchor, enough to resume it elsewhere: virtual time `virtual` was reached at
    wall-clock second `wall`; from there it runs at `speed` × real time unless frozen."""

    virtual: datetime
    wall: float
    speed: float
    frozen: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "virtual": self.virtual.isoformat(),
            "wall": self.wall,
            "speed": self.speed,
            "frozen": self.frozen,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ClockState:
        virtual = datetime.fromisoformat(str(data["virtual"]))
        return cls(
            virtual=_require_utc(virtual, "virtual"),
            wall=float(str(data["wall"])),
            speed=float(str(data["speed"])),
            frozen=bool(data["frozen"]),
        )


class VirtualClock:
    """A thread-safe virtual clock.

    `speed` is virtual seconds per real second (1 = real time, 60 = an hour a minute).
    `frozen` stops it; `advance()` moves it forward in either mode.
    """

    def __init__(
        self,
        start: datetime,
        *,
        speed: float = 1.0,
        frozen: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self._wall = wall
        self._lock = threading.Lock()
        self._anchor_virtual = _require_utc(start, "start")
        self._anchor_wall = wall()
        self._speed = float(speed)
        self._frozen = frozen

    @classmethod
    def frozen_at(cls, start: datetime) -> VirtualClock:
        """A clock that only moves when a test calls `advance()`."""
        return cls(start, frozen=True)

    @classmethod
    def resume(cls, state: ClockState, *, wall: Callable[[], float] = time.time) -> VirtualClock:
        """Continue a clock saved by another process (see `state()`)."""
        clock = cls(state.virtual, speed=state.speed, frozen=state.frozen, wall=wall)
        with clock._lock:
            clock._anchor_wall = state.wall
        return clock

    def _now_locked(self) -> datetime:
        if self._frozen:
            return self._anchor_virtual
        elapsed = max(0.0, self._wall() - self._anchor_wall)
        return self._anchor_virtual + timedelta(seconds=elapsed * self._speed)

    def _reanchor_locked(self) -> None:
        self._anchor_virtual = self._now_locked()
        self._anchor_wall = self._wall()

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def frozen(self) -> bool:
        return self._frozen

    def advance(self, delta: timedelta) -> datetime:
        """Step virtual time forward (never back: time in the sandbox is monotonic)."""
        if delta < timedelta(0):
            raise ValueError(f"cannot move the clock backwards ({delta})")
        with self._lock:
            self._reanchor_locked()
            self._anchor_virtual += delta
            return self._anchor_virtual

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        with self._lock:
            self._reanchor_locked()
            self._speed = float(speed)

    def freeze(self) -> None:
        with self._lock:
            self._reanchor_locked()
            self._frozen = True

    def unfreeze(self) -> None:
        with self._lock:
            self._anchor_wall = self._wall()
            self._frozen = False

    def state(self) -> ClockState:
        with self._lock:
            self._reanchor_locked()
            return ClockState(
                virtual=self._anchor_virtual,
                wall=self._anchor_wall,
                speed=self._speed,
                frozen=self._frozen,
            )


class ClockTimer:
    """A backend Timer (engine.live.throttle) that keeps the sandbox's time.

    The sandbox refills its rate limits on its virtual clock, so a client pacing itself in
    real seconds uses only 1/speed of the quota of a sped-up sandbox (and waits forever on a
    frozen one). This timer's monotonic time is virtual seconds; sleeping takes the real
    time those virtual seconds take at the clock's speed, or advances a frozen clock.

    `advance` (e.g. `Sandbox.advance`, which also processes what falls due) makes every wait
    move virtual time on instead: the embedded sandbox a CLI command opens for itself then
    answers a report at the speed of the machine while the backend sees Amazon's waits.
    """

    def __init__(
        self,
        clock: VirtualClock,
        *,
        sleep: Callable[[float], None] = time.sleep,
        advance: Callable[[timedelta], object] | None = None,
    ):
        self._clock = clock
        self._sleep = sleep
        self._advance = advance
        self._epoch = clock.now()

    def monotonic(self) -> float:
        return (self._clock.now() - self._epoch).total_seconds()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._advance is not None:
            self._advance(timedelta(seconds=seconds))
        elif self._clock.frozen:
            self._clock.advance(timedelta(seconds=seconds))
        else:
            self._sleep(seconds / self._clock.speed)
