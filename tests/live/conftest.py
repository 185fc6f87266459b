"""Backend fixtures: the sandbox fixtures of tests/sandbox, and an SpApiBackend pointed at
the running sandbox with a fake timer whose sleep moves the sandbox's virtual clock (so
backoff and pacing take no real time, and a throttle storm ends while we 'wait')."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine.core.api_call import CallAttempt
from engine.live.clients import Connection
from engine.live.invoke import Invoker
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.live.throttle import TokenBuckets
from engine.sandbox.clock import VirtualClock
from engine.sandbox.runtime import Sandbox
from tests.sandbox.conftest import (  # noqa: F401  (fixtures)
    SELLER,
    _clean_spapi_env,
    clock,
    open_sandbox,
    raw,
    resources,
    sandbox,
)


class FakeTimer:
    """Monotonic time that moves only when slept; sleeping also advances `clock`."""

    def __init__(self, virtual_clock: VirtualClock | None = None) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._clock = virtual_clock

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self._clock is not None:
            self._clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def timer(clock: VirtualClock) -> FakeTimer:  # noqa: F811  (the imported fixture)
    return FakeTimer(clock)


@pytest.fixture
def make_backend(
    sandbox: Sandbox,  # noqa: F811  (the imported fixture)
    timer: FakeTimer,
    tmp_path: Path,
) -> Iterator[Callable[..., SpApiBackend]]:
    made: list[SpApiBackend] = []

    def build(**options: object) -> SpApiBackend:
        box: Sandbox = options.pop("box", sandbox)  # type: ignore[assignment]
        credentials = options.pop("credentials", box.credentials.as_spapi_credentials())
        recorder = MemoryRecorder()
        invoker = Invoker(
            TokenBuckets(timer),
            recorder,
            timer,
            sandbox.clock.now,
            rng=random.Random(7),
            attempts=int(options.pop("attempts", 6)),  # type: ignore[call-overload]
        )
        timeout = float(options.pop("timeout", 30.0))  # type: ignore[arg-type]
        backend = SpApiBackend(
            Connection(credentials, endpoint=box.url, timeout=timeout),  # type: ignore[arg-type]
            SELLER,
            state_dir=tmp_path / "live-state",
            now=sandbox.clock.now,
            kind="sandbox",
            timer=timer,
            recorder=recorder,
            invoker=invoker,
            **options,  # type: ignore[arg-type]
        )
        made.append(backend)
        return backend

    yield build
    for backend in made:
        backend.close()


@pytest.fixture
def backend(make_backend: Callable[..., SpApiBackend]) -> SpApiBackend:
    return make_backend()


def calls_of(backend: SpApiBackend) -> list[CallAttempt]:
    recorder = backend.recorder
    assert isinstance(recorder, MemoryRecorder)
    return recorder.calls
